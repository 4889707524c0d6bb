import type { Aggregator } from '../types.js';
import { OptionReader } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import type { SolverReport } from '../types.js';
import { EIG_TOLERANCE, symEig } from '../linalg.js';
import { converged } from '../solver.js';

/**
 * Aligned-MTL (Senushkin et al. 2023). With GGᵀ = VΛVᵀ (rank r, eigenvalues
 * below rankTol·T·λ_max dropped) the balance matrix B = √λ_min·V Λ^{-1/2} Vᵀ
 * makes the aligned gradients BG orthogonal with equal norms √λ_min (condition
 * number 1). The direction is their sum, 1ᵀBG: weights B·1, already on the
 * sum scale (orthogonal equal-norm gradients are left unchanged), as the
 * official code (LibMTL's port sums too; torchjd averages).
 */
export const alignedAggregator: Aggregator<'aligned'> = {
  name: 'aligned',
  resolve(options) {
    const r = new OptionReader('aligned', options);
    const rankTol = r.number('rankTol', 1.1920929e-7, 0, 1);
    r.done();
    return { rankTol };
  },
  init: () => baseState('aligned'),
  checkState: (s) => checkBaseState('aligned', s),
  run(ctx, o, state) {
    const { T } = ctx;
    const { B, solver } = balanceMatrix(ctx.gram(), T, o.rankTol);
    const w = new Float64Array(T);
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) w[i] += B[i * T + j];
    return { weights: w, state: advance(state), solver };
  },
};

/**
 * The T×T balance transformation B (identity when G = 0), with the
 * eigen-decomposition's report (throws above EIG_TOLERANCE).
 */
export function balanceMatrix(K: Float64Array, T: number, rankTol = 1.1920929e-7): { B: Float64Array; solver: SolverReport } {
  const B = new Float64Array(T * T);
  let scale = 0;
  for (let t = 0; t < T; t++) scale = Math.max(scale, K[t * T + t]);
  if (!(scale > 0)) {
    for (let t = 0; t < T; t++) B[t * T + t] = 1;
    return { B, solver: { iterations: 0, residual: 0 } };
  }
  const S = new Float64Array(T * T);
  for (let i = 0; i < T * T; i++) S[i] = K[i] / scale;
  const { values, vectors, iterations, residual } = symEig(S, T);
  const solver = converged('aligned', 'the eigen-decomposition of GGᵀ', { iterations, residual }, EIG_TOLERANCE);
  let lmax = 0;
  for (let k = 0; k < T; k++) lmax = Math.max(lmax, values[k]);
  const tol = lmax * T * rankTol;
  let lmin = Infinity;
  for (let k = 0; k < T; k++) if (values[k] > tol) lmin = Math.min(lmin, values[k]);
  const root = Math.sqrt(lmin);
  for (let k = 0; k < T; k++) {
    if (!(values[k] > tol)) continue;
    const f = root / Math.sqrt(values[k]);
    for (let i = 0; i < T; i++) {
      const vi = vectors[i * T + k] * f;
      for (let j = 0; j < T; j++) B[i * T + j] += vi * vectors[j * T + k];
    }
  }
  return { B, solver };
}
