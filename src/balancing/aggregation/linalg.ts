/**
 * Small dense linear algebra on T×T matrices (row-major Float64Array): the
 * Cholesky factorisation, a Jacobi eigensolver and an active-set QP solver.
 * T is the number of tasks, so everything here is O(T³) and tiny.
 */

/**
 * Cholesky factor L (lower, row-major) of the n×n matrix A, or null when A is
 * not numerically positive definite (a pivot ≤ minPivot).
 */
export function cholesky(A: ArrayLike<number>, n: number, minPivot = 0): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j];
    for (let k = 0; k < j; k++) s -= L[j * n + k] * L[j * n + k];
    if (!(s > minPivot)) return null;
    const ljj = Math.sqrt(s);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let t = A[i * n + j];
      for (let k = 0; k < j; k++) t -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = t / ljj;
    }
  }
  return L;
}

/** Solves L Lᵀ x = b for x. */
export function cholSolve(L: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/** Relative off-diagonal residual below which `symEig`'s rotations count as converged. */
export const EIG_TOLERANCE = 1e-14;

/**
 * Eigen-decomposition of the symmetric n×n matrix A by cyclic Jacobi
 * rotations. Returns the eigenvalues (unsorted), the eigenvectors as the
 * columns of V (row-major: V[i*n+k] is component i of vector k), the sweeps
 * used and the residual ‖offdiag(VᵀAV)‖_F / ‖A‖_F at the end (the caller
 * compares it with EIG_TOLERANCE).
 */
export function symEig(A: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array; iterations: number; residual: number } {
  const a = Float64Array.from(A as ArrayLike<number>);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let fro = 0;
  for (let i = 0; i < n * n; i++) fro += a[i] * a[i];
  fro = Math.sqrt(fro);
  const offNorm = (): number => {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += 2 * a[p * n + q] * a[p * n + q];
    return Math.sqrt(off);
  };
  let sweeps = 0;
  if (fro > 0) {
    let previous = Infinity;
    for (let sweep = 0; sweep < 100; sweep++) {
      // Quadratic convergence until rounding (~1e-16·‖A‖) stops the decrease: stop there.
      const off = offNorm();
      if (off <= 1e-3 * EIG_TOLERANCE * fro || off >= previous) break;
      previous = off;
      sweeps = sweep + 1;
      for (let p = 0; p < n; p++) {
        for (let q = p + 1; q < n; q++) {
          const apq = a[p * n + q];
          if (apq === 0) continue;
          const app = a[p * n + p];
          const aqq = a[q * n + q];
          const theta = (aqq - app) / (2 * apq);
          const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
          const c = 1 / Math.sqrt(t * t + 1);
          const s = t * c;
          for (let k = 0; k < n; k++) {
            const akp = a[k * n + p];
            const akq = a[k * n + q];
            a[k * n + p] = c * akp - s * akq;
            a[k * n + q] = s * akp + c * akq;
          }
          for (let k = 0; k < n; k++) {
            const apk = a[p * n + k];
            const aqk = a[q * n + k];
            a[p * n + k] = c * apk - s * aqk;
            a[q * n + k] = s * apk + c * aqk;
          }
          for (let k = 0; k < n; k++) {
            const vkp = V[k * n + p];
            const vkq = V[k * n + q];
            V[k * n + p] = c * vkp - s * vkq;
            V[k * n + q] = s * vkp + c * vkq;
          }
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  const residual = fro > 0 ? offNorm() / fro : 0;
  return { values, vectors: V, iterations: sweeps, residual: Number.isFinite(residual) ? residual : Infinity };
}

/** Largest diagonal entry (a scale for tolerances). */
export function maxDiag(A: ArrayLike<number>, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, A[i * n + i]);
  return m;
}

/** xᵀAy. */
export function quad(A: ArrayLike<number>, n: number, x: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let j = 0; j < n; j++) r += A[i * n + j] * y[j];
    s += x[i] * r;
  }
  return s;
}

/** A x. */
export function matVec(A: ArrayLike<number>, n: number, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let j = 0; j < n; j++) r += A[i * n + j] * x[j];
    y[i] = r;
  }
  return y;
}

/** Relative KKT residual below which `activeSetQP`'s result counts as the solution. */
export const QP_TOLERANCE = 1e-9;

/**
 * Solves min ½xᵀQx + cᵀx subject to x ≥ lower and, when `simplex` is set,
 * Σx = 1 (then `lower` must be all zeros), for a symmetric positive definite
 * Q, by a primal active-set method. Exact up to rounding; terminates in a few
 * iterations for the sizes used here. Returns the iterations used and the
 * KKT residual of the result (`qpResidual`); the caller decides whether it is
 * good enough (QP_TOLERANCE).
 *
 * Works on the Jacobi-scaled problem (y = D·x, D = diag(√Q_ii): unit diagonal,
 * the equality becomes Σ y_i/D_i = 1), so that rows of very different sizes
 * (gradient norms 10¹² apart) are solved to the same relative accuracy.
 */
export function activeSetQP(
  Q: Float64Array,
  n: number,
  c: ArrayLike<number>,
  lower: ArrayLike<number>,
  simplex: boolean,
): { x: Float64Array; iterations: number; residual: number } {
  const D = new Float64Array(n);
  for (let i = 0; i < n; i++) D[i] = Q[i * n + i] > 0 ? Math.sqrt(Q[i * n + i]) : 1;
  const Qs = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Qs[i * n + j] = Q[i * n + j] / D[i] / D[j];
  const cs = new Float64Array(n);
  const lo = new Float64Array(n);
  // The equality's coefficients in y (Σ a_i y_i = 1).
  const eq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    cs[i] = c[i] / D[i];
    lo[i] = lower[i] * D[i];
    eq[i] = 1 / D[i];
  }
  const y = new Float64Array(n);
  const active = new Uint8Array(n);
  if (simplex) {
    // Start on the best vertex e_k (objective ½Q_kk + c_k).
    let k = 0;
    for (let i = 1; i < n; i++) if (Q[i * n + i] + 2 * c[i] < Q[k * n + k] + 2 * c[k]) k = i;
    y[k] = D[k];
    for (let i = 0; i < n; i++) active[i] = i === k ? 0 : 1;
  } else {
    for (let i = 0; i < n; i++) {
      y[i] = lo[i];
      active[i] = 1;
    }
  }
  const maxIter = 100 + 20 * n;
  let iterations = 0;
  for (let iter = 0; iter < maxIter; iter++) {
    iterations = iter + 1;
    // Equality-constrained subproblem on the free set F.
    const F: number[] = [];
    for (let i = 0; i < n; i++) if (!active[i]) F.push(i);
    const m = F.length;
    const target = Float64Array.from(y);
    let lambda = 0;
    if (m > 0) {
      const QF = new Float64Array(m * m);
      const r = new Float64Array(m);
      const aF = new Float64Array(m);
      for (let a = 0; a < m; a++) {
        const i = F[a];
        aF[a] = eq[i];
        for (let b = 0; b < m; b++) QF[a * m + b] = Qs[i * n + F[b]];
        let v = -cs[i];
        for (let j = 0; j < n; j++) if (active[j]) v -= Qs[i * n + j] * lo[j];
        r[a] = v;
      }
      const L = cholesky(QF, m);
      if (L === null) break; // Q not PD on F: keep the current feasible point.
      const xr = cholSolve(L, m, r);
      // Q_F⁻¹a and aᵀQ_F⁻¹a: how the multiplier of the equality enters.
      const x1 = simplex ? cholSolve(L, m, aF) : xr;
      let s1 = 0;
      for (let a = 0; a < m; a++) s1 += aF[a] * x1[a];
      if (simplex) {
        let sr = 0;
        for (let a = 0; a < m; a++) sr += aF[a] * xr[a];
        lambda = (sr - 1) / s1;
        let sum = 0;
        for (let a = 0; a < m; a++) {
          target[F[a]] = xr[a] - lambda * x1[a];
          sum += aF[a] * target[F[a]];
        }
        // xr and λ·x1 may nearly cancel (tiny Q_F, large c): put the sum back on 1 along
        // Q_F⁻¹a, which changes the gradient only by a multiple of a (absorbed by λ).
        for (let a = 0; a < m; a++) target[F[a]] += ((1 - sum) * x1[a]) / s1;
      } else {
        for (let a = 0; a < m; a++) target[F[a]] = xr[a];
      }
      // One step of iterative refinement: with Q_F nearly singular (duplicated or opposite
      // gradients, only the ridge left) the solve's intermediate values are large and the
      // result's residual is not yet at rounding level. The correction keeps aᵀy unchanged.
      const res = new Float64Array(m);
      for (let a = 0; a < m; a++) {
        let v = r[a];
        for (let b = 0; b < m; b++) v -= QF[a * m + b] * target[F[b]];
        res[a] = simplex ? v - lambda * aF[a] : v;
      }
      const fix = cholSolve(L, m, res);
      if (simplex) {
        let sf = 0;
        for (let a = 0; a < m; a++) sf += aF[a] * fix[a];
        const mu = sf / s1;
        for (let a = 0; a < m; a++) target[F[a]] += fix[a] - mu * x1[a];
        lambda += mu;
      } else {
        for (let a = 0; a < m; a++) target[F[a]] += fix[a];
      }
    }
    // Step towards the subproblem's solution until a bound blocks.
    let step = 1;
    let blocking = -1;
    for (const i of F) {
      const p = target[i] - y[i];
      if (p < 0 && target[i] < lo[i]) {
        const t = (lo[i] - y[i]) / p;
        if (t < step) {
          step = t;
          blocking = i;
        }
      }
    }
    if (blocking >= 0) {
      for (const i of F) y[i] += step * (target[i] - y[i]);
      y[blocking] = lo[blocking];
      active[blocking] = 1;
      continue;
    }
    for (const i of F) y[i] = target[i];
    // Multipliers of the active bounds, μ_i = (Qy + c)_i + λa_i ≥ 0, each judged
    // against the size of its own terms.
    let worst = -1;
    let worstMu = 0;
    for (let i = 0; i < n; i++) {
      if (!active[i]) continue;
      let g = cs[i];
      let size = Math.abs(cs[i]) + Math.abs(lambda * eq[i]);
      for (let j = 0; j < n; j++) {
        g += Qs[i * n + j] * y[j];
        size += Math.abs(Qs[i * n + j] * y[j]);
      }
      const mu = (g + lambda * eq[i]) / (size > 0 ? size : 1);
      if (mu < -1e-13 && mu < worstMu) {
        worstMu = mu;
        worst = i;
      }
    }
    if (worst < 0) break;
    active[worst] = 0;
  }
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = active[i] ? lower[i] : y[i] / D[i];
  return { x, iterations, residual: qpResidual(Q, n, c, lower, simplex, x) };
}

/**
 * Relative KKT residual of x for the QP of `activeSetQP`: with g = Qx + c and
 * λ the multiplier of Σx = 1 (−g_i of the entry off its bound with the
 * smallest terms; 0 without the simplex constraint), the largest of |g_i + λ| off the bound,
 * max(0, −(g_i + λ)) on it, each relative to the size of the terms of its own
 * row (Σ_j |Q_ij x_j| + |c_i| + |λ|), the bound violations and |Σx − 1|.
 */
export function qpResidual(Q: ArrayLike<number>, n: number, c: ArrayLike<number>, lower: ArrayLike<number>, simplex: boolean, x: ArrayLike<number>): number {
  const g = new Float64Array(n);
  const size = new Float64Array(n);
  let xs = 0;
  for (let i = 0; i < n; i++) {
    let s = c[i];
    let a = Math.abs(c[i]);
    for (let j = 0; j < n; j++) {
      s += Q[i * n + j] * x[j];
      a += Math.abs(Q[i * n + j] * x[j]);
    }
    g[i] = s;
    size[i] = a;
    xs = Math.max(xs, Math.abs(x[i]), Math.abs(lower[i]));
  }
  if (!(xs > 0)) xs = 1;
  // Entries off their bound (by more than rounding) carry no multiplier.
  const free = (i: number): boolean => x[i] - lower[i] > 1e-14 * xs;
  // λ from the free entry with the smallest terms: its g_i is the most accurate in absolute
  // terms (a mean would carry the rounding of the largest rows into the smallest ones).
  let lambda = 0;
  if (simplex) {
    let best = -1;
    for (let i = 0; i < n; i++) if (free(i) && (best < 0 || size[i] < size[best])) best = i;
    lambda = best >= 0 ? -g[best] : 0;
  }
  let r = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const scale = size[i] + Math.abs(lambda);
    const mu = (g[i] + lambda) / (scale > 0 ? scale : 1);
    r = Math.max(r, free(i) ? Math.abs(mu) : Math.max(0, -mu), Math.max(0, lower[i] - x[i]) / xs);
    total += x[i];
  }
  if (simplex) r = Math.max(r, Math.abs(total - 1));
  return Number.isFinite(r) ? r : Infinity;
}
