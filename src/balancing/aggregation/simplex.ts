import { activeSetQP, maxDiag, qpResidual } from './linalg.js';
import type { SolverReport } from './types.js';

/** Relative ridge added to each diagonal entry of the Gram matrices so the QPs are strictly convex. */
export const RIDGE = 1e-12;

/**
 * K scaled by its mean diagonal (so the scale-free methods work on O(1)
 * numbers), with every diagonal entry raised by the relative RIDGE (so tasks
 * with gradient norms 10⁵ apart are perturbed alike) and by 1e-30 (so zero
 * rows stay positive definite). Returns null when K is all zeros.
 */
export function normalizedGram(K: ArrayLike<number>, T: number): Float64Array | null {
  let tr = 0;
  for (let i = 0; i < T; i++) tr += K[i * T + i];
  const m = tr / T;
  if (!(m > 0) || maxDiag(K, T) === 0) return null;
  const Q = new Float64Array(T * T);
  for (let i = 0; i < T * T; i++) Q[i] = K[i] / m;
  for (let i = 0; i < T; i++) Q[i * T + i] += RIDGE * Q[i * T + i] + 1e-30;
  return Q;
}

/**
 * The convex weights α (α ≥ 0, Σα = 1) minimising αᵀKα, i.e. the min-norm
 * point of the convex hull of the rows whose Gram matrix is K. Closed form for
 * T = 2, an exact active-set QP otherwise (its iterations and KKT residual on
 * the normalised Gram matrix are returned). Uniform weights when K = 0.
 */
export function minNormSimplex(K: ArrayLike<number>, T: number): { alpha: Float64Array } & SolverReport {
  const alpha = new Float64Array(T);
  if (T === 1) {
    alpha[0] = 1;
    return { alpha, iterations: 0, residual: 0 };
  }
  const Q = normalizedGram(K, T);
  if (Q === null) return { alpha: alpha.fill(1 / T), iterations: 0, residual: 0 };
  const zero = new Float64Array(T);
  if (T === 2) {
    const a = Q[0];
    const b = Q[1];
    const c = Q[3];
    const den = a + c - 2 * b;
    let g = den > 1e-14 * (a + c) ? (c - b) / den : 0.5;
    g = Math.min(1, Math.max(0, g));
    alpha[0] = g;
    alpha[1] = 1 - g;
    return { alpha, iterations: 0, residual: qpResidual(Q, T, zero, zero, true, alpha) };
  }
  const { x, iterations, residual } = activeSetQP(Q, T, zero, zero, true);
  return { alpha: x, iterations, residual };
}
