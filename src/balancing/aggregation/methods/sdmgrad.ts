import type { Aggregator, SdmgradState } from '../types.js';
import { OptionReader } from '../../options.js';
import { checkBaseState, checkVector } from '../state.js';
import { projectSimplex } from '../simplex.js';
import { MultilossError } from '../../../errors.js';

/**
 * SDMGrad (Xiao, Ban & Ji, "Direction-oriented Multi-objective Learning:
 * Simple and Provable Stochastic Algorithms", NeurIPS 2023): the weights w in
 * the simplex minimise ½‖Gw + λg₀‖², the min-norm problem regularised toward
 * the mean gradient g₀ = G1/T, so the direction stays near the average's. Its
 * gradient GᵀG(w + λ1/T) is estimated without bias from two independent
 * batches' gradients: K = G₁G₂ᵀ, scaled by the squared mean gradient norm
 * (mean_t √max(K_tt, 0))² + eps, and w takes `iterations` projected
 * heavy-ball steps w ← Π_Δ(w − η·b), b ← μb + K(w + λ1/T) (b from 0 at every
 * training step, w carried over; λ₀ = 1/T each). The direction is formed on a
 * third batch: (Σ_t w_t g_t + λg₀)/(1 + λ), reported on the sum scale as the
 * weights (T·w_t + λ)/(1 + λ) on its rows. Options (LibMTL's defaults): `lambda` 0.3,
 * `iterations` 20, `stepSize` 5, `momentum` 0.5, `eps` 1e-8. State: w. Cost:
 * three batches' per-task gradients per step (`needs.batches` 3), O(iterations·T²).
 * Given one matrix (`aggregate`), every batch is it.
 */
export const sdmgradAggregator: Aggregator<'sdmgrad'> = {
  name: 'sdmgrad',
  needs: { batches: 3 },
  resolve(options) {
    const r = new OptionReader('sdmgrad', options);
    const lambda = r.number('lambda', 0.3, 0, Infinity);
    const iterations = r.integer('iterations', 20, 1, 100000);
    const stepSize = r.number('stepSize', 5, 0, Infinity, { minOpen: true });
    const momentum = r.number('momentum', 0.5, 0, 1, { maxOpen: true });
    const eps = r.number('eps', 1e-8, 0, Infinity);
    r.done();
    return { lambda, iterations, stepSize, momentum, eps };
  },
  init: () => ({ method: 'sdmgrad', step: 0, weights: null }),
  checkState(s, T) {
    checkBaseState('sdmgrad', s);
    checkVector('sdmgrad', 'weights', s.weights, T, true);
  },
  run(ctx, o, state) {
    const { T } = ctx;
    const w = sdmgradWeights(state.weights, ctx.crossGram(0, 1), T, o);
    const nextState: SdmgradState = { method: 'sdmgrad', step: state.step + 1, weights: Array.from(w) };
    return { weights: Float64Array.from(w, (x) => (T * x + o.lambda) / (1 + o.lambda)), state: nextState };
  },
};

/** The weights after `iterations` projected heavy-ball steps on ½‖Gw + λg₀‖², from the previous w (null: 1/T each) and K₁₂ = G₁G₂ᵀ. */
export function sdmgradWeights(
  previous: ArrayLike<number> | null,
  K12: ArrayLike<number>,
  T: number,
  o: { lambda: number; iterations: number; stepSize: number; momentum: number; eps: number },
): Float64Array {
  let scale = 0;
  for (let t = 0; t < T; t++) scale += Math.sqrt(Math.max(K12[t * T + t], 0));
  scale /= T;
  const den = scale * scale + o.eps;
  // All-zero gradients (eps 0): nothing to scale, the weights stay.
  const K = Float64Array.from(K12, (x) => (den > 0 ? x / den : x));
  let w: Float64Array = previous === null ? new Float64Array(T).fill(1 / T) : Float64Array.from(previous);
  const b = new Float64Array(T);
  for (let k = 0; k < o.iterations; k++) {
    const z = new Float64Array(T);
    for (let i = 0; i < T; i++) {
      let g = 0;
      for (let j = 0; j < T; j++) g += K[i * T + j] * (w[j] + o.lambda / T);
      b[i] = k === 0 ? g : o.momentum * b[i] + g;
      z[i] = w[i] - o.stepSize * b[i];
    }
    for (let i = 0; i < T; i++) if (!Number.isFinite(z[i])) throw new MultilossError('training', "aggregator 'sdmgrad': the weight update overflows (gradients too large)");
    w = projectSimplex(z);
  }
  return w;
}
