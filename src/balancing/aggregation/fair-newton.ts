/**
 * The α-fair allocation system shared by Nash-MTL (α = 1) and FairGrad: find
 * b > 0 with (Cb)_t = μ_t·b_t^(−1/α) for a positive semi-definite C (a cosine
 * matrix) and weights μ_t > 0. It is the stationarity condition of the
 * strictly convex
 *   f(b) = ½bᵀCb + Σ_t μ_t·φ(b_t),  φ'(b) = −b^(−1/α)
 * (φ = −log for α = 1), minimised by Newton's method with a backtracking line
 * search. The residual is max_t |b_t^(1/α)(Cb)_t/μ_t − 1| with its rounding
 * floor 64·m·ε·max_t b_t^(1/α)(|C|b)_t/μ_t: what evaluating it in double
 * precision can resolve.
 */
import { cholesky, cholSolve, matVec } from './linalg.js';
import { minNormSimplex } from './simplex.js';

/**
 * When the min-norm point of the hull of the unit gradients has squared norm
 * below this, 0 counts as in the hull (the gradients cancel: Pareto-stationary)
 * and the α-fair system has no positive solution; the ridge NASH_RIDGE is added.
 */
export const NASH_DEGENERATE = 1e-10;
/** Ridge added to the cosine matrix when the α-fair system has no solution. */
export const NASH_RIDGE = 1e-10;

/**
 * The tasks with nonzero gradients (`idx`), their norms and cosine matrix C
 * (divided one norm at a time: n_i·n_j may under- or overflow), with
 * NASH_RIDGE added to C's diagonal when 0 is in the hull of the unit
 * gradients (`degenerate`).
 */
export function cosineSystem(K: Float64Array, T: number): { idx: number[]; norms: number[]; C: Float64Array; degenerate: boolean } {
  const idx: number[] = [];
  for (let t = 0; t < T; t++) if (K[t * T + t] > 0) idx.push(t);
  const m = idx.length;
  const norms = idx.map((t) => Math.sqrt(K[t * T + t]));
  const C = new Float64Array(m * m);
  if (m === 0) return { idx, norms, C, degenerate: false };
  for (let a = 0; a < m; a++) {
    for (let c = 0; c < m; c++) {
      C[a * m + c] = a === c ? 1 : Math.max(-1, Math.min(1, K[idx[a] * T + idx[c]] / norms[a] / norms[c]));
    }
  }
  const hull = minNormSimplex(C, m).alpha;
  let hullNorm2 = 0;
  for (let a = 0; a < m; a++) for (let c = 0; c < m; c++) hullNorm2 += hull[a] * C[a * m + c] * hull[c];
  const degenerate = hullNorm2 <= NASH_DEGENERATE;
  if (degenerate) for (let a = 0; a < m; a++) C[a * m + a] += NASH_RIDGE;
  return { idx, norms, C, degenerate };
}

export interface FairNewtonResult {
  b: Float64Array;
  iterations: number;
  residual: number;
  floor: number;
}

function phi(b: number, alpha: number): number {
  return alpha === 1 ? -Math.log(b) : -Math.pow(b, 1 - 1 / alpha) / (1 - 1 / alpha);
}

function objective(C: Float64Array, m: number, b: Float64Array, mu: ArrayLike<number>, alpha: number): number {
  let f = 0;
  for (let a = 0; a < m; a++) {
    let s = 0;
    for (let c = 0; c < m; c++) s += C[a * m + c] * b[c];
    f += 0.5 * b[a] * s + mu[a] * phi(b[a], alpha);
  }
  return f;
}

/** The residual max_t |b_t^(1/α)(Cb)_t/μ_t − 1| and its rounding floor. */
export function fairResidual(C: Float64Array, m: number, b: ArrayLike<number>, mu: ArrayLike<number>, alpha: number): { residual: number; floor: number } {
  let residual = 0;
  let size = 0;
  for (let a = 0; a < m; a++) {
    let s = 0;
    let abs = 0;
    for (let c = 0; c < m; c++) {
      s += C[a * m + c] * b[c];
      abs += Math.abs(C[a * m + c] * b[c]);
    }
    const k = (alpha === 1 ? b[a] : Math.pow(b[a], 1 / alpha)) / mu[a];
    residual = Math.max(residual, Math.abs(k * s - 1));
    size = Math.max(size, k * abs);
  }
  return { residual: Number.isFinite(residual) ? residual : Infinity, floor: 64 * m * Number.EPSILON * size };
}

/** Newton's method with backtracking on f (see the module comment). */
export function fairNewton(C: Float64Array, m: number, mu: ArrayLike<number>, alpha: number, maxIter: number, tol: number): FairNewtonResult {
  // Start on the best point of the ray through c, c_t = μ_t^(α/(α+1)) (the solution when C = I):
  // f'(s·c)·c = 0 at s^(1+1/α) = Σ_t μ_t·c_t^(1−1/α) / cᵀCc. (c = 1 when μ = 1, e.g. Nash-MTL.)
  const c = Float64Array.from({ length: m }, (_, a) => Math.pow(mu[a], alpha / (alpha + 1)));
  let q = 0;
  let num = 0;
  for (let a = 0; a < m; a++) {
    for (let k = 0; k < m; k++) q += c[a] * C[a * m + k] * c[k];
    num += mu[a] * Math.pow(c[a], 1 - 1 / alpha);
  }
  const ray = q > 0 ? Math.pow(num / q, alpha / (alpha + 1)) : 1;
  const b = c.map((x) => x * ray);
  const H = new Float64Array(m * m);
  const grad = new Float64Array(m);
  const next = new Float64Array(m);
  let { residual, floor } = fairResidual(C, m, b, mu, alpha);
  let iterations = 0;
  let f = objective(C, m, b, mu, alpha);
  while (iterations < maxIter && residual > Math.max(1e-3 * tol, floor)) {
    iterations++;
    const Cb = matVec(C, m, b);
    H.set(C);
    for (let a = 0; a < m; a++) {
      const p = Math.pow(b[a], -1 / alpha);
      grad[a] = Cb[a] - mu[a] * p;
      H[a * m + a] += (mu[a] * p) / (alpha * b[a]);
    }
    const L = cholesky(H, m);
    if (L === null) break;
    const step = cholSolve(L, m, grad);
    let dec2 = 0;
    for (let a = 0; a < m; a++) dec2 += grad[a] * step[a];
    if (!(dec2 > 0)) break;
    // Near the solution (decrement < 1/4) the full step is safe and quadratically
    // convergent (f's differences are then mere rounding, so no line search);
    // farther out, backtrack until positive and sufficiently lower.
    let size = 1;
    let fNext = f;
    for (let tries = 0; tries < 80; tries++) {
      let positive = true;
      for (let a = 0; a < m; a++) {
        next[a] = b[a] - size * step[a];
        if (!(next[a] > 0)) positive = false;
      }
      if (positive) {
        if (dec2 < 1 / 16) break;
        fNext = objective(C, m, next, mu, alpha);
        if (fNext <= f - 1e-4 * size * dec2) break;
      }
      size /= 2;
    }
    const before = residual;
    b.set(next);
    f = dec2 < 1 / 16 ? objective(C, m, b, mu, alpha) : fNext;
    ({ residual, floor } = fairResidual(C, m, b, mu, alpha));
    // Rounding has the last word once the residual is within tolerance and stops falling.
    if (residual <= tol && residual >= before) break;
  }
  return { b, iterations, residual, floor };
}
