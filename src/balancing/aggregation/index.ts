/**
 * Gradient aggregation: the math of the gradient-based balancing methods on
 * plain arrays, one module per method under methods/, all behind `aggregate`.
 *
 * Input: the T×d matrix G of per-task gradients (row t = gradient of task t's
 * loss w.r.t. the shared parameters or representation). Output: one update
 * direction of length d (Float64), the per-task weights, and the method's
 * JSON-serialisable state for the next step.
 *
 * Scale convention: `sum` returns Σ_t g_t, what plain summed-loss training
 * does, and every other method returns its direction on that same scale, so a
 * learning rate tuned for summed losses carries over:
 * - weightings whose paper fixes no scale are rescaled so the weights sum to T
 *   (mgda: T × the convex min-norm weights; imtl: T × the weights that sum to
 *   1; nash: the bargaining α rescaled to sum to T, option `scale`);
 * - methods that edit and re-sum the task gradients are already on it
 *   (pcgrad, gradvac; aligned sums its aligned gradients, as the official code;
 *   upgrad uses the preference vector 1 instead of torchjd's 1/T);
 * - cagrad returns T·(g0 + λg_w)/(1+c), which is exactly Σ_t g_t when the
 *   gradients agree (option `rescale`);
 * - dbmtl keeps its paper's scale: every EMA-buffered gradient scaled to the
 *   largest buffered norm;
 * - `mean` is the one deliberate exception (Σ_t g_t / T), and `static` applies
 *   the caller's weights as given.
 * With a single task every method returns g_1 itself, except cagrad with
 * rescale ≠ 2 and dbmtl (its EMA starts at zero). See docs/aggregation.md.
 *
 * Most methods only need the T×T Gram matrix GGᵀ, computed once per call in
 * Float64, and one final T×d combination.
 */
export type * from './types.js';
export { aggregate, aggregateBatches, AGGREGATORS, initialAggregatorState, isAggregatorName, validateAggregatorOptions } from './aggregate.js';
export { computeGram } from './matrix.js';
export { Adam, TOY_PARETO, TOY_STARTS, runToy, toyParetoX2, toyProblem } from './toy.js';
export type { AdamOptions, ToyEvaluation, ToyRun, ToyRunOptions } from './toy.js';
