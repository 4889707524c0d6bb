import assert from 'node:assert/strict';
import { Rng } from '../../../src/util/rng.js';
import { computeGram } from '../../../src/balancing/aggregation/index.js';

export type Rows = number[][];

export function randn(rng: Rng, T: number, d: number, scale = 1): Rows {
  return Array.from({ length: T }, () => Array.from({ length: d }, () => scale * rng.normal()));
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** Σ_t w_t rows_t. */
export function comb(rows: Rows, w: ArrayLike<number>): number[] {
  const d = rows[0].length;
  const out = new Array<number>(d).fill(0);
  for (let t = 0; t < rows.length; t++) for (let k = 0; k < d; k++) out[k] += w[t] * rows[t][k];
  return out;
}

export function gramOf(rows: Rows): Float64Array {
  return computeGram(rows);
}

/**
 * Named families of seeded test matrices: random (generic, mostly conflicting
 * pairs in low d), conflicting (pairs with strongly negative cosines),
 * aligned (all within a narrow cone), near-collinear, and with a zero row.
 */
export function scenarios(seed: number, T: number, d: number): Record<string, Rows> {
  const rng = new Rng(seed);
  const base = randn(rng, 1, d)[0];
  const random = randn(rng, T, d).map((r, t) => r.map((v) => v * (0.2 + t)));
  const conflicting = Array.from({ length: T }, (_, t) => {
    const noise = randn(rng, 1, d)[0];
    const sign = t % 2 === 0 ? 1 : -0.8;
    return base.map((v, k) => (sign * v + 0.3 * noise[k]) * (1 + t));
  });
  const aligned = Array.from({ length: T }, (_, t) => {
    const noise = randn(rng, 1, d)[0];
    return base.map((v, k) => (v + 0.05 * noise[k]) * (0.5 + t));
  });
  const nearCollinear = Array.from({ length: T }, (_, t) => {
    const noise = randn(rng, 1, d)[0];
    const s = t % 2 === 0 ? 1 + t : -(1 + t) * 0.5;
    return base.map((v, k) => s * v + 1e-4 * noise[k]);
  });
  const zeroRow = randn(rng, T, d);
  zeroRow[T > 1 ? 1 : 0] = new Array<number>(d).fill(0);
  return { random, conflicting, aligned, nearCollinear, zeroRow };
}

export function assertClose(actual: number, expected: number, tol: number, msg?: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${msg ?? ''} expected ${expected}, got ${actual} (tol ${tol})`);
}

export function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, msg?: string): void {
  assert.equal(actual.length, expected.length, `${msg ?? ''} length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, scale), `${msg ?? ''} index ${i}: expected ${expected[i]}, got ${actual[i]} (rel tol ${tol})`);
  }
}

export function assertFiniteArray(v: ArrayLike<number>, msg?: string): void {
  for (let i = 0; i < v.length; i++) assert.ok(Number.isFinite(v[i]), `${msg ?? ''} entry ${i} is ${v[i]}`);
}
