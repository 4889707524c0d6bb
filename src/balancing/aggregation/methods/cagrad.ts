import type { Aggregator } from '../types.js';
import { OptionReader } from '../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import { activeSetQP, matVec, quad } from '../linalg.js';
import { minNormSimplex, normalizedGram } from '../simplex.js';

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
    const w = cagradWeights(ctx.gram(), T, o.c);
    const factor = o.rescale === 0 ? 1 : o.rescale === 1 ? 1 + o.c * o.c : 1 + o.c;
    for (let t = 0; t < T; t++) w[t] *= T / factor;
    return { weights: w, state: advance(state) };
  },
};

/** Weights of the unscaled CAGrad direction d = g0 + λ g_w (so they sum to 1 + λ). */
export function cagradWeights(K: Float64Array, T: number, c: number): Float64Array {
  const out = new Float64Array(T).fill(1 / T);
  const Q = normalizedGram(K, T);
  if (Q === null || c === 0) return out;
  const ones = new Float64Array(T).fill(1);
  const b = matVec(Q, T, ones);
  for (let t = 0; t < T; t++) b[t] /= T;
  const g0norm = Math.sqrt(Math.max(0, quad(Q, T, ones, ones))) / T;
  const s = c * g0norm;
  if (!(s > 0)) return out;

  // w(τ) = argmin_{w∈Δ} ½wᵀQw + (τ/s)·bᵀw and its norm ρ(τ) = ‖g_w(τ)‖.
  const zero = new Float64Array(T);
  const solve = (tau: number): Float64Array => {
    if (tau === 0) return minNormSimplex(Q, T);
    const lin = new Float64Array(T);
    for (let t = 0; t < T; t++) lin[t] = (tau / s) * b[t];
    return T === 1 ? Float64Array.of(1) : activeSetQP(Q, T, lin, zero, true);
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
    for (let it = 0; it < 200; it++) {
      let tau = (lo * hHi - hi * hLo) / (hHi - hLo);
      if (!(tau > lo && tau < hi)) tau = 0.5 * (lo + hi);
      const w = solve(tau);
      const h = tau - rho(w);
      wStar = w;
      tauStar = tau;
      if (Math.abs(h) <= 1e-15 * maxNorm || hi - lo <= 1e-15 * maxNorm) break;
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
    }
  }
  // When the optimal g_w vanishes (0 in the hull at the optimum) every point
  // of the ball is equally good for the worst task; keep d = g0 (what the
  // official code's 1e-8 guard gives) rather than divide by ~0. "Vanishes" is
  // relative to the norms it is made of (a tiny task alone is not degenerate).
  const gw = rho(wStar);
  let parts = 0;
  for (let t = 0; t < T; t++) parts += wStar[t] * Math.sqrt(Q[t * T + t]);
  // (The 1e-12 relative ridge alone keeps ‖g_w‖ ≳ 1e-6 of its parts.)
  if (!(gw > 1e-5 * parts) || !(gw > 1e-12) || !(tauStar >= 0)) return out;
  const lambda = s / gw;
  for (let t = 0; t < T; t++) out[t] += lambda * wStar[t];
  return out;
}
