import type { Aggregator } from '../types.js';
import { OptionReader } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import type { SolverReport } from '../types.js';
import { activeSetQP, matVec, QP_TOLERANCE, quad } from '../linalg.js';
import { minNormSimplex, normalizedGram } from '../simplex.js';
import { converged, mergeReports } from '../solver.js';

/** The root search for τ stops within this of max_t‖g_t‖ (|τ − ‖g_w(τ)‖| or the bracket's width). */
export const CAGRAD_ROOT_TOLERANCE = 1e-10;

/**
 * CAGrad (Liu et al. 2021). The direction maximises the worst task's
 * improvement min_i g_iᵀd within the ball ‖d − g0‖ ≤ c‖g0‖ around the
 * average gradient g0. Solved through its dual over the simplex,
 *   min_w g_wᵀg0 + c‖g0‖·‖g_w‖,   then d = g0 + (c‖g0‖/‖g_w‖)·g_w,
 * exactly: writing ‖g_w‖ = min_τ (‖g_w‖²/τ + τ)/2 turns it into a convex
 * one-dimensional problem in τ whose every evaluation is a small QP on GGᵀ;
 * the optimal τ is the root of τ − ‖g_w(τ)‖, found by safeguarded regula falsi.
 * Returned on the sum scale: T·d / (1+c) by default (see `rescale`).
 */
export const cagradAggregator: Aggregator<'cagrad'> = {
  name: 'cagrad',
  resolve(options) {
    const r = new OptionReader('cagrad', options);
    const c = r.number('c', 0.5, 0, Infinity);
    const rescale = r.oneOf<0 | 1 | 2>('rescale', 2, [0, 1, 2]);
    r.done();
    return { c, rescale };
  },
  init: () => baseState('cagrad'),
  checkState: (s) => checkBaseState('cagrad', s),
  run(ctx, o, state) {
    const { T } = ctx;
    const { weights: w, solver } = cagradWeights(ctx.gram(), T, o.c);
    const factor = o.rescale === 0 ? 1 : o.rescale === 1 ? 1 + o.c * o.c : 1 + o.c;
    for (let t = 0; t < T; t++) w[t] *= T / factor;
    return { weights: w, state: advance(state), solver };
  },
};

/**
 * Weights of the unscaled CAGrad direction d = g0 + λ g_w (so they sum to 1 + λ),
 * with the solver's report: the active-set iterations of every QP solved, and
 * the worst of their KKT residuals and of the root search's relative residual.
 * Throws MultilossError('training') when a QP or the root search misses its tolerance.
 */
export function cagradWeights(K: Float64Array, T: number, c: number): { weights: Float64Array; solver: SolverReport } {
  const out = new Float64Array(T).fill(1 / T);
  const Q = normalizedGram(K, T);
  const none = { weights: out, solver: { iterations: 0, residual: 0 } };
  if (Q === null || c === 0) return none;
  // The linear terms and ‖g0‖ come from the Gram matrix without the ridge: when the
  // gradients nearly cancel, ‖g0‖ is small and the ridge would be a large part of it.
  let mean = 0;
  for (let t = 0; t < T; t++) mean += K[t * T + t] / T;
  const Kn = K.map((v) => v / mean);
  const ones = new Float64Array(T).fill(1);
  const b = matVec(Kn, T, ones);
  for (let t = 0; t < T; t++) b[t] /= T;
  const g0norm = Math.sqrt(Math.max(0, quad(Kn, T, ones, ones))) / T;
  const s = c * g0norm;
  if (!(s > 0)) return none;

  // w(τ) = argmin_{w∈Δ} ½wᵀQw + (τ/s)·bᵀw and its norm ρ(τ) = ‖g_w(τ)‖.
  const zero = new Float64Array(T);
  const qps: SolverReport[] = [];
  const solve = (tau: number): Float64Array => {
    if (tau === 0 || T === 1) {
      const r = minNormSimplex(Q, T);
      qps.push(r);
      return r.alpha;
    }
    const lin = new Float64Array(T);
    for (let t = 0; t < T; t++) lin[t] = (tau / s) * b[t];
    const r = activeSetQP(Q, T, lin, zero, true);
    qps.push(r);
    return r.x;
  };
  const rho = (w: Float64Array): number => Math.sqrt(Math.max(0, quad(Q, T, w, w)));

  let lo = rho(solve(0));
  let maxNorm = 0;
  for (let t = 0; t < T; t++) maxNorm = Math.max(maxNorm, Math.sqrt(Q[t * T + t]));
  let hi = maxNorm;
  const wHi = solve(hi);
  let hLo = lo - rho(solve(lo));
  let hHi = hi - rho(wHi);
  let wStar: Float64Array;
  let tauStar: number;
  let rootResidual = 0;
  if (hLo >= 0) {
    wStar = solve(lo);
    tauStar = lo;
  } else if (hHi <= 0) {
    wStar = wHi;
    tauStar = hi;
  } else {
    // Illinois-modified regula falsi on h(τ) = τ − ρ(τ), bracketed.
    let side = 0;
    wStar = wHi;
    tauStar = hi;
    rootResidual = Infinity;
    for (let it = 0; it < 200; it++) {
      let tau = (lo * hHi - hi * hLo) / (hHi - hLo);
      if (!(tau > lo && tau < hi)) tau = 0.5 * (lo + hi);
      const w = solve(tau);
      const h = tau - rho(w);
      wStar = w;
      tauStar = tau;
      if (h < 0) {
        lo = tau;
        hLo = h;
        if (side === -1) hHi /= 2;
        side = -1;
      } else {
        hi = tau;
        hHi = h;
        if (side === 1) hLo /= 2;
        side = 1;
      }
      rootResidual = Math.min(Math.abs(h), hi - lo) / maxNorm;
      if (Math.abs(h) <= 1e-15 * maxNorm || hi - lo <= 1e-15 * maxNorm) break;
    }
  }
  const qp = mergeReports(qps);
  converged('cagrad', 'a simplex QP of the dual', qp, QP_TOLERANCE);
  converged('cagrad', "the root search for τ = ‖g_w(τ)‖ in the dual", { iterations: qps.length, residual: rootResidual }, CAGRAD_ROOT_TOLERANCE);
  const solver = { iterations: qp.iterations, residual: Math.max(qp.residual, rootResidual) };
  // When the optimal g_w vanishes (0 in the hull at the optimum) the formula
  // divides by ~0 and its direction is rounding; keep d = g0, what the official
  // code's 1e-8 guard gives. (d = g0 is then optimal only if no task conflicts
  // with g0: the optimal directions are the points of the ball with g_iᵀd ≥ 0,
  // when there are any.) "Vanishes" is relative to the norms g_w is made of and
  // to ‖g0‖, and measured without the ridge (which makes a zero row look like a
  // tiny one).
  const gw = Math.sqrt(Math.max(0, quad(Kn, T, wStar, wStar)));
  let parts = 0;
  for (let t = 0; t < T; t++) parts += wStar[t] * Math.sqrt(Kn[t * T + t]);
  if (!(gw > 1e-5 * parts) || !(gw > 1e-6 * g0norm) || !(tauStar >= 0)) return { weights: out, solver };
  const lambda = s / gw;
  for (let t = 0; t < T; t++) out[t] += lambda * wStar[t];
  return { weights: out, solver };
}
