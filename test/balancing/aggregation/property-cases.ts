import fc from 'fast-check';
import { Rng } from '../../../src/util/rng.js';
import { norm } from './helpers.js';

/** Families of gradient matrices the property tests draw from. */
export const KINDS = ['random', 'nearCollinear', 'duplicated', 'zero', 'antiParallel'] as const;
export type Kind = (typeof KINDS)[number];

export interface Case {
  kind: Kind;
  T: number;
  d: number;
  rows: Float64Array[];
  /** Seed for the case's other random choices (permutation, scaled row, options). */
  seed: number;
}

/**
 * A T×d gradient matrix: T uniform from 2 to 20, d from 1 to 10⁴ (log-uniform, with
 * T·d ≤ 2·10⁴ so that large d comes with fewer rows), each row's norm
 * 10^u with u uniform in ±spread/2 (spread up to 12: norms from 1e-6 to 1e6),
 * and the family's structure: random directions; near-collinear (one
 * direction plus 1e-6 relative noise, positive multiples); duplicated rows
 * (exact positive multiples of earlier rows); zero rows; anti-parallel rows
 * (exact negative multiples of earlier rows). Rows come from a seeded RNG, so
 * fast-check's shrinking works on (kind, T, d, spread, seed).
 */
export const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    kind: fc.constantFrom(...KINDS),
    // Uniform (fc.double is uniform over the bit patterns, i.e. mostly near 0, and fast-check's bias
    // towards the bounds would make most cases d = 1): T, and log10 d and log10 of the spread in thousandths.
    T: fc.noBias(fc.integer({ min: 2, max: 20 })),
    logD: fc.noBias(fc.integer({ min: 0, max: 4000 })).map((x) => x / 1000),
    spread: fc.noBias(fc.integer({ min: 0, max: 12_000 })).map((x) => x / 1000),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map(({ kind, T, logD, spread, seed }) => {
    const d = Math.max(1, Math.round(10 ** logD));
    const rows = makeRows(kind, Math.max(2, Math.min(T, Math.floor(20_000 / d))), d, spread, seed);
    return { kind, T: rows.length, d, rows, seed };
  });

function makeRows(kind: Kind, T: number, d: number, spread: number, seed: number): Float64Array[] {
  const rng = new Rng(`cases:${seed}`);
  const gaussian = (): Float64Array => Float64Array.from({ length: d }, () => rng.normal());
  const unit = (v: Float64Array): Float64Array => {
    let n = 0;
    for (const x of v) n += x * x;
    n = Math.sqrt(n);
    return n > 0 ? v.map((x) => x / n) : v;
  };
  const norms = Array.from({ length: T }, () => 10 ** (spread * (rng.next() - 0.5)));
  const base = unit(gaussian());
  const rows: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    let dir: Float64Array;
    if (kind === 'nearCollinear') {
      const noise = gaussian();
      dir = unit(base.map((x, k) => x + 1e-6 * noise[k]));
    } else {
      dir = unit(gaussian());
    }
    rows.push(dir.map((x) => x * norms[t]));
  }
  // Structure on a random subset of the rows (at least one, not necessarily all).
  const touched = 1 + rng.int(T - 1);
  for (let k = 0; k < touched; k++) {
    const t = 1 + rng.int(T - 1);
    const src = rng.int(t);
    if (kind === 'duplicated') rows[t] = rows[src].map((x) => x * (rng.next() < 0.5 ? 1 : norms[t] / norms[src]));
    else if (kind === 'antiParallel') rows[t] = rows[src].map((x) => -x * (rng.next() < 0.5 ? 1 : norms[t] / norms[src]));
    else if (kind === 'zero') rows[t] = new Float64Array(d);
  }
  if (kind === 'zero' && rng.next() < 0.05) rows[0] = new Float64Array(d);
  return rows;
}

// ------------------------------------------------------------ small helpers

/** Σ_t |w_t|·‖g_t‖: the size of the terms a direction Σ_t w_t g_t is made of (the scale of its rounding). */
export function termSize(rows: readonly ArrayLike<number>[], w: ArrayLike<number>): number {
  let s = 0;
  for (let t = 0; t < rows.length; t++) s += Math.abs(w[t]) * norm(rows[t]);
  return s;
}

/** max_k |a_k − b_k| ≤ tol·scale, with a message naming the worst entry. */
export function closeTo(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, scale: number, what: string): void {
  let worst = 0;
  let at = -1;
  for (let k = 0; k < a.length; k++) {
    const e = Math.abs(a[k] - b[k]);
    if (!(e <= worst)) {
      worst = e;
      at = k;
    }
  }
  if (!(worst <= tol * scale)) throw new Error(`${what}: entry ${at} differs by ${worst} > ${tol} × ${scale} (${a[at]} vs ${b[at]})`);
}

/** A permutation of 0..T-1 from `seed`. */
export function permutation(T: number, seed: number): number[] {
  return new Rng(`perm:${seed}`).shuffle(Array.from({ length: T }, (_, t) => t));
}

export function rng(seed: number, tag: string): Rng {
  return new Rng(`${tag}:${seed}`);
}
