import type { Aggregator, NashScale, SolverReport } from '../types.js';
import { OptionReader } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import { cosineSystem, fairNewton } from '../fair-newton.js';
import { converged } from '../solver.js';

const SCALES: readonly NashScale[] = ['sum', 'paper', 'official'];

export { NASH_DEGENERATE, NASH_RIDGE } from '../fair-newton.js';

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
  const { idx, norms, C, degenerate } = cosineSystem(K, T);
  const m = idx.length;
  if (m === 0) return { alpha, solver: { iterations: 0, residual: 0 }, degenerate: false };
  const { b, iterations, residual, floor } = fairNewton(C, m, new Float64Array(m).fill(1), 1, maxIter, tol);
  converged('nash', "Newton's method on the Nash condition α∘(GGᵀα) = 1", { iterations, residual }, Math.max(tol, floor));
  for (let a = 0; a < m; a++) alpha[idx[a]] = b[a] / norms[a];
  return { alpha, solver: { iterations, residual }, degenerate };
}
