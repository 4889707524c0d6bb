import assert from 'node:assert/strict';

// Three small batches' gradient matrices (T = 2, d = 2) whose products are easy by hand: G₁G₂ᵀ =
// [[2, −1], [0, −1]] is not symmetric, so using G₂G₁ᵀ (or one batch's own product) shows.
export const G1 = [
  [1, 1],
  [0, 1],
];
export const G2 = [
  [2, 0],
  [0, -1],
];
export const G3 = [
  [1, 2],
  [3, 4],
];

/** Entrywise |got − want| < tol, naming the entry. */
export function closeEach(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, what);
  want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < tol, `${what}[${i}]: ${got[i]} vs ${w}`));
}
