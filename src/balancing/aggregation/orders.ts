import { Rng } from '../../util/rng.js';

/**
 * The order in which task i visits the other tasks, for every i. With a fixed
 * `order` every task follows it (skipping itself); otherwise each task gets
 * its own shuffle, drawn from an RNG seeded by (tag, seed, step) so that a
 * resumed run draws the same orders.
 */
export function taskOrders(T: number, tag: string, seed: number, step: number, order?: readonly number[]): number[][] {
  const out: number[][] = [];
  if (order !== undefined) {
    for (let i = 0; i < T; i++) out.push(order.filter((j) => j !== i));
    return out;
  }
  const rng = new Rng(`${tag}:${seed}:${step}`);
  for (let i = 0; i < T; i++) {
    const others: number[] = [];
    for (let j = 0; j < T; j++) if (j !== i) others.push(j);
    out.push(rng.shuffle(others));
  }
  return out;
}
