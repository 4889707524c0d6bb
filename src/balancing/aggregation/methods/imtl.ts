import type { Aggregator } from '../types.js';
import { OptionReader } from '../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import type { SolverReport } from '../types.js';
import { EIG_TOLERANCE, symEig } from '../linalg.js';
import { converged } from '../solver.js';

/**
 * IMTL-G (Liu et al. 2021): the combination d = Σ_t α_t g_t with Σ_t α_t = 1
 * whose projections onto every unit task gradient u_t are equal. On the Gram
 * matrix K = GGᵀ and norms n_t = √K_tt the condition d·u_t = const reads
 * Kα ∝ n, so α ∝ K⁺n (pseudo-inverse: rank-deficient G keeps the
 * minimum-norm solution). Same solution as the paper's closed form
 * α_{2..T} = g_1Uᵀ(DUᵀ)⁻¹ wherever that exists. Zero-norm tasks get weight 0.
 * Weights are multiplied by T (sum scale).
 */
export const imtlAggregator: Aggregator<'imtl'> = {
  name: 'imtl',
  resolve(options) {
    new OptionReader('imtl', options).done();
    return {};
  },
  init: () => baseState('imtl'),
  checkState: (s) => checkBaseState('imtl', s),
  run(ctx, _o, state) {
    const { T } = ctx;
    const { weights: alpha, solver } = imtlWeights(ctx.gram(), T);
    for (let t = 0; t < T; t++) alpha[t] *= T;
    return { weights: alpha, state: advance(state), solver };
  },
};

/**
 * IMTL-G weights summing to 1, with the eigen-decomposition's report (Jacobi
 * sweeps, relative off-diagonal residual; throws above EIG_TOLERANCE).
 */
export function imtlWeights(K: Float64Array, T: number): { weights: Float64Array; solver: SolverReport } {
  const out = new Float64Array(T);
  const solver = { iterations: 0, residual: 0 };
  let maxN = 0;
  for (let t = 0; t < T; t++) maxN = Math.max(maxN, Math.sqrt(K[t * T + t]));
  const idx: number[] = [];
  for (let t = 0; t < T; t++) if (Math.sqrt(K[t * T + t]) > 1e-150 && Math.sqrt(K[t * T + t]) > 1e-12 * maxN) idx.push(t);
  const m = idx.length;
  if (m === 0) return { weights: out.fill(1 / T), solver };
  if (m === 1) {
    out[idx[0]] = 1;
    return { weights: out, solver };
  }
  // Work with the rows scaled by 1/maxN so everything is O(1).
  const S = new Float64Array(m * m);
  const n = new Float64Array(m);
  const s2 = maxN * maxN;
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) S[a * m + b] = K[idx[a] * T + idx[b]] / s2;
    n[a] = Math.sqrt(S[a * m + a]);
  }
  const { values, vectors, iterations, residual } = symEig(S, m);
  converged('imtl', 'the eigen-decomposition of GGᵀ', { iterations, residual }, EIG_TOLERANCE);
  let lmax = 0;
  for (let k = 0; k < m; k++) lmax = Math.max(lmax, values[k]);
  const cut = lmax * m * 1e-13;
  const x = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    if (!(values[k] > cut)) continue;
    let proj = 0;
    for (let a = 0; a < m; a++) proj += vectors[a * m + k] * n[a];
    const coef = proj / values[k];
    for (let a = 0; a < m; a++) x[a] += coef * vectors[a * m + k];
  }
  let sum = 0;
  let abs = 0;
  for (let a = 0; a < m; a++) {
    sum += x[a];
    abs += Math.abs(x[a]);
  }
  // Σα = 1 fixes the scale; if Σx vanishes the condition cannot be normalised
  // that way, keep the direction with a positive common projection instead.
  const denom = Math.abs(sum) > 1e-12 * abs ? sum : abs;
  if (!(denom > 0) && !(denom < 0)) return { weights: out.fill(1 / T), solver: { iterations, residual } };
  for (let a = 0; a < m; a++) out[idx[a]] = x[a] / denom;
  return { weights: out, solver: { iterations, residual } };
}
