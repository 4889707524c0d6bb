import seedrandom from 'seedrandom';

/**
 * Seeded random numbers. Every random choice multiloss makes (splits, shuffles,
 * initial weights, dropout masks, random loss weights) comes from one of these,
 * so the same seed and data give the same model.
 */
export class Rng {
  private readonly prng: seedrandom.StatefulPRNG<seedrandom.State.Arc4>;
  constructor(seed: number | string, state?: object) {
    this.prng = state ? seedrandom('', { state: state as seedrandom.State.Arc4 }) : seedrandom(String(seed), { state: true });
  }

  /** The generator's exact position, JSON-serialisable (for checkpoints). */
  getState(): object {
    return this.prng.state();
  }

  /** A generator that continues exactly where `getState` was taken. */
  static fromState(state: object): Rng {
    return new Rng('', state);
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.prng.quick();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** A 31-bit integer, used to seed tfjs random ops and initializers. */
  seed(): number {
    return this.prng.int32() >>> 1;
  }
  /** Fisher–Yates shuffle in place (an array or a typed array); returns the same array. */
  shuffle<A extends { length: number; [i: number]: unknown }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}
