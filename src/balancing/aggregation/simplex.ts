import { activeSetQP, maxDiag, QP_TOLERANCE, qpResidual } from './linalg.js';
import type { SolverReport } from './types.js';

/** Relative ridge added to each diagonal entry of the Gram matrices so the QPs are strictly convex. */
export const RIDGE = 1e-12;

/**
 * K scaled by its mean diagonal (so the scale-free methods work on O(1)
 * numbers), with every diagonal entry raised by the relative RIDGE (so tasks
 * with gradient norms 10¹² apart are perturbed alike) and zero diagonal
 * entries set to RIDGE × the smallest positive one (so zero rows keep the QP
 * positive definite without an absolute floor that would outweigh tiny
 * gradients). Returns null when K is all zeros.
 */
export function normalizedGram(K: ArrayLike<number>, T: number): Float64Array | null {
  let tr = 0;
  for (let i = 0; i < T; i++) tr += K[i * T + i];
  const m = tr / T;
  if (!(m > 0) || maxDiag(K, T) === 0) return null;
  const Q = new Float64Array(T * T);
  for (let i = 0; i < T * T; i++) Q[i] = K[i] / m;
  let minPositive = Infinity;
  for (let i = 0; i < T; i++) if (Q[i * T + i] > 0) minPositive = Math.min(minPositive, Q[i * T + i]);
  for (let i = 0; i < T; i++) Q[i * T + i] += Q[i * T + i] > 0 ? RIDGE * Q[i * T + i] : RIDGE * minPositive;
  return Q;
}

/**
 * The convex weights α (α ≥ 0, Σα = 1) minimising αᵀKα, i.e. the min-norm
 * point of the convex hull of the rows whose Gram matrix is K. Closed form for
 * T = 2 (unless nearly equal rows make it inaccurate), an exact active-set QP otherwise (its iterations and KKT residual on
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
  // A zero row puts the origin in the hull: the min-norm point is 0, exactly.
  for (let t = 0; t < T; t++) {
    if (K[t * T + t] === 0) {
      alpha[t] = 1;
      return { alpha, iterations: 0, residual: 0 };
    }
  }
  const zero = new Float64Array(T);
  if (T === 2) {
    const a = Q[0];
    const b = Q[1];
    const c = Q[3];
    const den = a + c - 2 * b;
    if (!(den > 1e-14 * (a + c))) alpha.fill(0.5);
    else if (c <= b) alpha[1] = 1;
    else if (a <= b) alpha[0] = 1;
    else {
      // Both from their own numerators: 1 − γ would lose the small one to cancellation.
      alpha[0] = (c - b) / den;
      alpha[1] = (a - b) / den;
    }
    const residual = qpResidual(Q, T, zero, zero, true, alpha);
    // Nearly equal rows make a + c − 2b a cancellation: then the refined QP instead.
    if (residual <= 0.1 * QP_TOLERANCE) return { alpha, iterations: 0, residual };
  }
  const { x, iterations, residual } = activeSetQP(Q, T, zero, zero, true);
  return { alpha: x, iterations, residual };
}

/**
 * The Euclidean projection of v onto the simplex {x ≥ 0, Σx = 1}: x = max(v − θ, 0) with θ
 * from the sorted entries (Held, Wolfe & Crowder 1974; Duchi et al. 2008).
 */
export function projectSimplex(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  const u = Float64Array.from(v).sort().reverse();
  let sum = 0;
  let theta = 0;
  for (let i = 0; i < n; i++) {
    sum += u[i];
    const t = (sum - 1) / (i + 1);
    if (u[i] - t > 0) theta = t;
  }
  return Float64Array.from(v, (x) => Math.max(x - theta, 0));
}

/**
 * One gradient step λ − γ(Kλ + ρλ) on the simplex weights λ (null: 1/T each) of ½λᵀKλ + ½ρ‖λ‖²,
 * before the caller maps it back to the simplex (MoCo's softmax, MoDo's projection).
 */
export function ridgeWeightStep(previous: ArrayLike<number> | null, K: ArrayLike<number>, T: number, gamma: number, rho: number): Float64Array {
  const lambda = previous === null ? new Array<number>(T).fill(1 / T) : Array.from(previous);
  const z = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    let s = rho * lambda[i];
    for (let j = 0; j < T; j++) s += K[i * T + j] * lambda[j];
    z[i] = lambda[i] - gamma * s;
  }
  return z;
}
