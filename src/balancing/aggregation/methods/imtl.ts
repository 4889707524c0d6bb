import type { Aggregator } from '../types.js';
import { OptionReader } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import type { SolverReport } from '../types.js';
import { EIG_TOLERANCE, symEig } from '../linalg.js';
import { converged } from '../solver.js';

/**
 * IMTL-G (Liu et al. 2021): the combination d = Σ_t α_t g_t with Σ_t α_t = 1
 * whose projections onto every unit task gradient u_t are equal. On the Gram
 * matrix K = GGᵀ and norms n_t = √K_tt the condition d·u_t = const reads
 * Kα ∝ n, solved scale-free as α ∝ N⁻¹C⁺1 on the cosine matrix C
 * (pseudo-inverse: rank-deficient G keeps the minimum-norm solution). Same solution as the paper's closed form
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
  const idx: number[] = [];
  for (let t = 0; t < T; t++) if (K[t * T + t] > 0) idx.push(t);
  const m = idx.length;
  if (m === 0) return { weights: out.fill(1 / T), solver };
  if (m === 1) {
    out[idx[0]] = 1;
    return { weights: out, solver };
  }
  // Scale-free: with K = N·C·N (N = diag of the norms, C the cosine matrix),
  // Kx = n is C(Nx) = 1, so x = N⁻¹·C⁺1. Rank decisions are then made on the
  // directions alone, never because a task's gradient is small.
  const norms = idx.map((t) => Math.sqrt(K[t * T + t]));
  const C = new Float64Array(m * m);
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) C[a * m + b] = a === b ? 1 : Math.max(-1, Math.min(1, K[idx[a] * T + idx[b]] / norms[a] / norms[b]));
  }
  const { values, vectors, iterations, residual } = symEig(C, m);
  converged('imtl', 'the eigen-decomposition of the cosine matrix', { iterations, residual }, EIG_TOLERANCE);
  let lmax = 0;
  for (let k = 0; k < m; k++) lmax = Math.max(lmax, values[k]);
  const cut = lmax * m * 1e-13;
  const y = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    if (!(values[k] > cut)) continue;
    let proj = 0;
    for (let a = 0; a < m; a++) proj += vectors[a * m + k];
    // A component of 1 that is only rounding (1 ⊥ this eigenvector) must not be amplified by 1/λ.
    if (Math.abs(proj) <= 64 * m * Number.EPSILON * Math.sqrt(m)) continue;
    const coef = proj / values[k];
    for (let a = 0; a < m; a++) y[a] += coef * vectors[a * m + k];
  }
  const x = y.map((v, a) => v / norms[a]);
  let sum = 0;
  let abs = 0;
  for (let a = 0; a < m; a++) {
    sum += x[a];
    abs += Math.abs(x[a]);
  }
  // x = K⁺n gives every task the same positive projection d·u_t = 1. Σα = 1
  // fixes the scale; when Σx < 0 the paper's normalisation would turn d into an
  // ascent direction for every task (negative common projection), and when Σx
  // vanishes it cannot normalise at all: divide by |Σx| (by Σ|x| when Σx ≈ 0)
  // instead, which keeps the common projection positive.
  const denom = Math.abs(sum) > 1e-12 * abs ? Math.abs(sum) : abs;
  if (!(denom > 0) && !(denom < 0)) return { weights: out.fill(1 / T), solver: { iterations, residual } };
  for (let a = 0; a < m; a++) out[idx[a]] = x[a] / denom;
  return { weights: out, solver: { iterations, residual } };
}
