import type { Aggregator, ModoState } from '../types.js';
import { OptionReader } from '../../options.js';
import { checkBaseState, checkVector } from '../state.js';
import { projectSimplex, ridgeWeightStep } from '../simplex.js';
import { MultilossError } from '../../../errors.js';

/**
 * MoDo (Chen, Fernando, Ying & Chen, "Three-Way Trade-Off in Multi-Objective
 * Learning: Optimization, Generalization and Conflict-Avoidance", NeurIPS
 * 2023): stochastic MGDA with double sampling. The min-norm weights solve
 * min_λ∈Δ ½‖Gλ‖², whose gradient GᵀGλ estimated from one batch is biased (the
 * product of a noisy matrix with itself); the product of the gradients of two
 * independent batches z₁, z₂ is not. Each step takes three batches:
 *   λ ← Π_Δ(λ − γ·(G₁G₂ᵀλ + ρλ)),   direction Σ_t λ_t g_t(z₃)
 * (Π_Δ the Euclidean projection onto the simplex, λ₀ = 1/T each). Weights are
 * reported as T·λ on the third batch's rows (sum scale, as mgda). Options
 * (LibMTL's defaults): `gamma` 1e-3, `rho` 0.1. State: λ. Cost: three
 * batches' per-task gradients per step (`needs.batches` 3), the cross-batch
 * T×T products, O(T²) more. Given one matrix (`aggregate`), every batch is it:
 * the deterministic update λ ← Π_Δ(λ − γ(GGᵀ + ρI)λ).
 */
export const modoAggregator: Aggregator<'modo'> = {
  name: 'modo',
  needs: { batches: 3 },
  resolve(options) {
    const r = new OptionReader('modo', options);
    const gamma = r.number('gamma', 1e-3, 0, Infinity);
    const rho = r.number('rho', 0.1, 0, Infinity);
    r.done();
    return { gamma, rho };
  },
  init: () => ({ method: 'modo', step: 0, lambda: null }),
  checkState(s, T) {
    checkBaseState('modo', s);
    checkVector('modo', 'lambda', s.lambda, T, true);
  },
  run(ctx, o, state) {
    const lambda = modoLambda(state.lambda, ctx.crossGram(0, 1), ctx.T, o.gamma, o.rho);
    const nextState: ModoState = { method: 'modo', step: state.step + 1, lambda: Array.from(lambda) };
    return { weights: Float64Array.from(lambda, (l) => ctx.T * l), state: nextState };
  },
};

/** The next weights Π_Δ(λ − γ(K₁₂λ + ρλ)) from the previous λ (null: 1/T each) and K₁₂ = G₁G₂ᵀ. */
export function modoLambda(previous: ArrayLike<number> | null, K12: ArrayLike<number>, T: number, gamma: number, rho: number): Float64Array {
  const z = ridgeWeightStep(previous, K12, T, gamma, rho);
  for (let i = 0; i < T; i++) if (!Number.isFinite(z[i])) throw new MultilossError('training', "aggregator 'modo': the weight update overflows (gradients too large for gamma)");
  return projectSimplex(z);
}
