import type { Aggregator, NashScale } from '../types.js';
import { OptionReader } from '../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import { cholesky, cholSolve, matVec } from '../linalg.js';

const SCALES: readonly NashScale[] = ['sum', 'paper', 'official'];

/**
 * Nash-MTL (Navon et al. 2022): the bargaining weights α > 0 solving
 * (GGᵀ)α = 1/α, i.e. every task gets g_tᵀd = 1/α_t from d = Σ α_t g_t. This is
 * the stationarity condition of the strictly convex, self-concordant
 *   f(α) = ½αᵀKα − Σ_t log α_t,
 * minimised exactly by damped Newton on the T variables (global convergence,
 * quadratic near the solution, positivity kept by the damping). The paper's
 * own scale gives ‖d‖ = √T whatever the gradients' size; by default the
 * weights are rescaled to sum to T (`scale`). Zero-norm tasks get weight 0; if
 * GGᵀ is numerically singular (no positive solution exists) a ridge of
 * 1e-10·mean diagonal is added.
 */
export const nashAggregator: Aggregator<'nash'> = {
  name: 'nash',
  resolve(options) {
    const r = new OptionReader('nash', options);
    const maxIter = r.integer('maxIter', 100, 1, 10_000);
    const tol = r.number('tol', 1e-20, 0, 1, { minOpen: true });
    const scale = r.oneOf('scale', 'sum', SCALES);
    r.done();
    return { maxIter, tol, scale };
  },
  init: () => baseState('nash'),
  checkState: (s) => checkBaseState('nash', s),
  run(ctx, o, state) {
    const { T } = ctx;
    const K = ctx.gram();
    const alpha = nashSolve(K, T, o.maxIter, o.tol);
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
    return { weights: alpha, state: advance(state) };
  },
};

/**
 * α > 0 with (Kα)_t = 1/α_t for the tasks with nonzero gradients (0 for the
 * others), on the paper's scale.
 */
export function nashSolve(K: Float64Array, T: number, maxIter = 100, tol = 1e-20): Float64Array {
  const out = new Float64Array(T);
  let maxD = 0;
  for (let t = 0; t < T; t++) maxD = Math.max(maxD, K[t * T + t]);
  const idx: number[] = [];
  for (let t = 0; t < T; t++) if (K[t * T + t] > 1e-24 * maxD && K[t * T + t] > 1e-300) idx.push(t);
  const m = idx.length;
  if (m === 0) return out;
  // Normalise by the mean diagonal: K = μ·S, α = β/√μ with Sβ = 1/β.
  let mu = 0;
  for (const t of idx) mu += K[t * T + t];
  mu /= m;
  const S = new Float64Array(m * m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) S[a * m + b] = K[idx[a] * T + idx[b]] / mu;
  if (cholesky(S, m, 1e-10) === null) for (let a = 0; a < m; a++) S[a * m + a] += 1e-10;

  // Start on the best point of the ray through 1/√diag.
  const beta = new Float64Array(m);
  for (let a = 0; a < m; a++) beta[a] = 1 / Math.sqrt(S[a * m + a]);
  const Sb = matVec(S, m, beta);
  let bSb = 0;
  for (let a = 0; a < m; a++) bSb += beta[a] * Sb[a];
  const c0 = bSb > 0 ? Math.sqrt(m / bSb) : 1;
  for (let a = 0; a < m; a++) beta[a] *= c0;

  const H = new Float64Array(m * m);
  const grad = new Float64Array(m);
  for (let it = 0; it < maxIter; it++) {
    const Kb = matVec(S, m, beta);
    for (let a = 0; a < m; a++) grad[a] = Kb[a] - 1 / beta[a];
    H.set(S);
    for (let a = 0; a < m; a++) H[a * m + a] += 1 / (beta[a] * beta[a]);
    const L = cholesky(H, m);
    if (L === null) break;
    const step = cholSolve(L, m, grad);
    let dec2 = 0;
    for (let a = 0; a < m; a++) dec2 += grad[a] * step[a];
    if (!(dec2 > tol)) break;
    const lam = Math.sqrt(dec2);
    let size = lam > 0.25 ? 1 / (1 + lam) : 1;
    for (let tries = 0; tries < 60; tries++) {
      let ok = true;
      for (let a = 0; a < m; a++) if (!(beta[a] - size * step[a] > 0)) ok = false;
      if (ok) break;
      size /= 2;
    }
    for (let a = 0; a < m; a++) beta[a] = Math.max(beta[a] - size * step[a], 1e-300);
  }
  const r = 1 / Math.sqrt(mu);
  for (let a = 0; a < m; a++) out[idx[a]] = beta[a] * r;
  return out;
}
