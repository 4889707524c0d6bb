import type { Aggregator, FairgradScale, SolverReport } from '../types.js';
import { OptionReader } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import { cosineSystem, fairNewton } from '../fair-newton.js';
import { converged } from '../solver.js';

const SCALES: readonly FairgradScale[] = ['sum', 'paper'];

/**
 * FairGrad (Ban & Ji, "Fair Resource Allocation in Multi-Task Learning",
 * ICML 2024): the update d = Σ_t w_t g_t maximising the α-fair utility
 * Σ_t (g_tᵀd)^(1−α)/(1−α) of the tasks' decreases (log for α = 1) over a
 * ball; its optimality condition is the nonlinear system (GGᵀw)_t = w_t^(−1/α),
 * w > 0: every task gets g_tᵀd = w_t^(−1/α). α = 1 is Nash-MTL's
 * proportional fairness; α → ∞ approaches max-min fairness (MGDA-like), α → 0
 * the plain sum. α is limited to (0, 10]: beyond, tasks whose max-min share
 * would be negative need weights below 1e-30 and Newton's method crawls. The reference code calls a generic bounded least-squares
 * solver; here the system is the stationarity condition of a strictly convex
 * function, minimised by Newton's method (fair-newton.ts) in the variables
 * b_t = w_t‖g_t‖/n̄ on the cosine matrix (n̄ the geometric mean of the nonzero
 * norms, so the solve works on O(1) numbers whatever the gradients' scale),
 * to the residual max_t |w_t^(1/α)(GGᵀw)_t − 1| ≤ `tol`. When the unit
 * gradients cancel (0 in their hull) no positive solution exists and the
 * cosine matrix gets Nash-MTL's ridge. Zero-norm tasks get weight 0.
 * `scale: 'sum'` (default) rescales w to Σw = T (the paper applies w itself,
 * whose size depends on the gradients' as ‖G‖^(−2α/(α+1))).
 */
export const fairgradAggregator: Aggregator<'fairgrad'> = {
  name: 'fairgrad',
  resolve(options) {
    const r = new OptionReader('fairgrad', options);
    const alpha = r.number('alpha', 1, 0, 10, { minOpen: true });
    const maxIter = r.integer('maxIter', 100, 1, 10_000);
    const tol = r.number('tol', 1e-10, 0, 1, { minOpen: true });
    const scale = r.oneOf('scale', 'sum', SCALES);
    r.done();
    return { alpha, maxIter, tol, scale };
  },
  init: () => baseState('fairgrad'),
  checkState: (s) => checkBaseState('fairgrad', s),
  run(ctx, o, state) {
    const { T } = ctx;
    const { weights, solver } = fairgradSolve(ctx.gram(), T, o.alpha, o.maxIter, o.tol);
    if (o.scale === 'sum') {
      let s = 0;
      for (let t = 0; t < T; t++) s += weights[t];
      if (s > 0) for (let t = 0; t < T; t++) weights[t] *= T / s;
    }
    return { weights, state: advance(state), solver };
  },
};

/**
 * w > 0 with w_t^(1/α)(Kw)_t = 1 on the tasks with nonzero gradients (0 for
 * the others), on the paper's scale, with Newton's iterations and residual
 * (of the ridged system when there is no solution: `degenerate`).
 */
export function fairgradSolve(K: Float64Array, T: number, alpha: number, maxIter = 100, tol = 1e-10): { weights: Float64Array; solver: SolverReport; degenerate: boolean } {
  const weights = new Float64Array(T);
  const { idx, norms, C, degenerate } = cosineSystem(K, T);
  const m = idx.length;
  if (m === 0) return { weights, solver: { iterations: 0, residual: 0 }, degenerate };
  let logMean = 0;
  for (const n of norms) logMean += Math.log(n) / m;
  const ref = Math.exp(logMean);
  // With r_t = ‖g_t‖/n̄ and w'_t = b_t/r_t for G/n̄, (Kw)_t = w_t^(−1/α) reads (Cb)_t = μ_t·b_t^(−1/α), μ_t = r_t^((1−α)/α).
  const ratios = norms.map((n) => n / ref);
  const mu = ratios.map((r) => Math.pow(r, (1 - alpha) / alpha));
  const { b, iterations, residual, floor } = fairNewton(C, m, mu, alpha, maxIter, tol);
  converged('fairgrad', "Newton's method on the α-fair condition GGᵀw = w^(−1/α)", { iterations, residual }, Math.max(tol, floor));
  // Back from G/n̄ to G: w = w'·n̄^(−2α/(α+1)).
  const back = Math.pow(ref, (-2 * alpha) / (alpha + 1));
  for (let a = 0; a < m; a++) weights[idx[a]] = (b[a] / ratios[a]) * back;
  return { weights, solver: { iterations, residual }, degenerate };
}
