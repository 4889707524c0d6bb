import type { Aggregator, NashScale, SolverReport } from '../types.js';
import { OptionReader } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import { cholesky, cholSolve, matVec } from '../linalg.js';
import { minNormSimplex } from '../simplex.js';
import { converged } from '../solver.js';

const SCALES: readonly NashScale[] = ['sum', 'paper', 'official'];

/**
 * When the min-norm point of the hull of the unit gradients has squared norm
 * below this, 0 counts as in the hull (the gradients cancel: Pareto-stationary)
 * and the Nash system has no positive solution; the ridge NASH_RIDGE is added.
 */
export const NASH_DEGENERATE = 1e-10;
/** Ridge added to the cosine matrix when the Nash system has no solution. */
export const NASH_RIDGE = 1e-10;

/**
 * Nash-MTL (Navon et al. 2022): the bargaining weights α > 0 solving
 * α_t·(GGᵀα)_t = 1 for every task, i.e. every task gets g_tᵀd = 1/α_t from
 * d = Σ α_t g_t. Solved in the scale-free variables b_t = α_t‖g_t‖ on the
 * cosine matrix C (b∘Cb = 1, so the gradients' norms, however far apart, play
 * no part): the stationarity condition of the self-concordant, strictly convex
 *   f(b) = ½bᵀCb − Σ_t log b_t,
 * minimised by Newton's method with a backtracking line search (full steps
 * near the solution, quadratic convergence). It stops once the residual
 * max_t |b_t(Cb)_t − 1| is at the tolerance `tol` (default 1e-10) or at the
 * rounding floor of evaluating it, and throws MultilossError('training') if it
 * cannot get there in `maxIter` iterations. Zero-norm tasks get weight 0.
 * When the unit gradients cancel (0 in their convex hull: e.g. two opposite
 * gradients) no positive solution exists (f is unbounded below); the system
 * is then solved for C + NASH_RIDGE·I, whose solution gives the cancelling
 * tasks equal, large weights (the limit of the bargaining solution). The
 * paper's own scale gives ‖d‖ = √T; by default the weights are rescaled to
 * sum to T (`scale`).
 */
export const nashAggregator: Aggregator<'nash'> = {
  name: 'nash',
  resolve(options) {
    const r = new OptionReader('nash', options);
    const maxIter = r.integer('maxIter', 100, 1, 10_000);
    const tol = r.number('tol', 1e-10, 0, 1, { minOpen: true });
    const scale = r.oneOf('scale', 'sum', SCALES);
    r.done();
    return { maxIter, tol, scale };
  },
  init: () => baseState('nash'),
  checkState: (s) => checkBaseState('nash', s),
  run(ctx, o, state) {
    const { T } = ctx;
    const K = ctx.gram();
    const { alpha, solver } = nashSolve(K, T, o.maxIter, o.tol);
    if (o.scale === 'sum') {
      let s = 0;
      for (let t = 0; t < T; t++) s += alpha[t];
      if (s > 0) for (let t = 0; t < T; t++) alpha[t] *= T / s;
    } else if (o.scale === 'official') {
      let f = 0;
      for (let i = 0; i < T * T; i++) f += K[i] * K[i];
      const k = Math.sqrt(Math.sqrt(f));
      for (let t = 0; t < T; t++) alpha[t] *= k;
    }
    return { weights: alpha, state: advance(state), solver };
  },
};

/**
 * α > 0 with α_t(Kα)_t = 1 for the tasks with nonzero gradients (0 for the
 * others), on the paper's scale, with the Newton iterations and the final
 * residual max_t |α_t(Kα)_t − 1| (of the ridged system when there is no
 * solution). `degenerate` tells that the ridge was needed.
 */
export function nashSolve(K: Float64Array, T: number, maxIter = 100, tol = 1e-10): { alpha: Float64Array; solver: SolverReport; degenerate: boolean } {
  const alpha = new Float64Array(T);
  const idx: number[] = [];
  for (let t = 0; t < T; t++) if (K[t * T + t] > 0) idx.push(t);
  const m = idx.length;
  if (m === 0) return { alpha, solver: { iterations: 0, residual: 0 }, degenerate: false };
  const norms = idx.map((t) => Math.sqrt(K[t * T + t]));
  // The cosine matrix (divided one norm at a time: n_i·n_j may under- or overflow).
  const C = new Float64Array(m * m);
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

  const { b, iterations, residual, floor } = newton(C, m, maxIter, tol);
  converged('nash', "Newton's method on the Nash condition α∘(GGᵀα) = 1", { iterations, residual }, Math.max(tol, floor));
  for (let a = 0; a < m; a++) alpha[idx[a]] = b[a] / norms[a];
  return { alpha, solver: { iterations, residual }, degenerate };
}

/**
 * max_t |b_t(Cb)_t − 1| and its rounding floor 64·m·ε·max_t b_t(|C|b)_t: what
 * evaluating the products in double precision can resolve.
 */
function nashResidual(C: Float64Array, m: number, b: Float64Array): { residual: number; floor: number } {
  let residual = 0;
  let size = 0;
  for (let a = 0; a < m; a++) {
    let s = 0;
    let abs = 0;
    for (let c = 0; c < m; c++) {
      s += C[a * m + c] * b[c];
      abs += Math.abs(C[a * m + c] * b[c]);
    }
    residual = Math.max(residual, Math.abs(b[a] * s - 1));
    size = Math.max(size, b[a] * abs);
  }
  return { residual: Number.isFinite(residual) ? residual : Infinity, floor: 64 * m * Number.EPSILON * size };
}

function objective(C: Float64Array, m: number, b: Float64Array): number {
  let f = 0;
  for (let a = 0; a < m; a++) {
    let s = 0;
    for (let c = 0; c < m; c++) s += C[a * m + c] * b[c];
    f += 0.5 * b[a] * s - Math.log(b[a]);
  }
  return f;
}

/** Newton's method with backtracking on f(b) = ½bᵀCb − Σ log b. */
function newton(C: Float64Array, m: number, maxIter: number, tol: number): { b: Float64Array; iterations: number; residual: number; floor: number } {
  // Start on the best point of the ray through 1: f(s·1) is least at s² = m / 1ᵀC1.
  let q = 0;
  for (let i = 0; i < m * m; i++) q += C[i];
  const b = new Float64Array(m).fill(q > 0 ? Math.sqrt(m / q) : 1);
  const H = new Float64Array(m * m);
  const grad = new Float64Array(m);
  const next = new Float64Array(m);
  let { residual, floor } = nashResidual(C, m, b);
  let iterations = 0;
  let f = objective(C, m, b);
  while (iterations < maxIter && residual > Math.max(1e-3 * tol, floor)) {
    iterations++;
    const Cb = matVec(C, m, b);
    for (let a = 0; a < m; a++) grad[a] = Cb[a] - 1 / b[a];
    H.set(C);
    for (let a = 0; a < m; a++) H[a * m + a] += 1 / (b[a] * b[a]);
    const L = cholesky(H, m);
    if (L === null) break;
    const step = cholSolve(L, m, grad);
    let dec2 = 0;
    for (let a = 0; a < m; a++) dec2 += grad[a] * step[a];
    if (!(dec2 > 0)) break;
    // Inside the Dikin ellipsoid (decrement < 1/4) the full step is safe and
    // quadratically convergent (f's differences are then mere rounding, so no
    // line search); farther out, backtrack until positive and sufficiently lower.
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
        fNext = objective(C, m, next);
        if (fNext <= f - 1e-4 * size * dec2) break;
      }
      size /= 2;
    }
    const before = residual;
    b.set(next);
    f = dec2 < 1 / 16 ? objective(C, m, b) : fNext;
    ({ residual, floor } = nashResidual(C, m, b));
    // Rounding has the last word once the residual is within tolerance and stops falling.
    if (residual <= tol && residual >= before) break;
  }
  return { b, iterations, residual, floor };
}
