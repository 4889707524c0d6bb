import type { Aggregator, MocoNormalization, MocoState } from '../types.js';
import { OptionReader, checkTaskLength } from '../../options.js';
import { checkBaseState, checkTable, checkVector, jsonRow } from '../state.js';
import { assertFinite, combine, computeGram } from '../matrix.js';
import { MultilossError } from '../../../errors.js';
import { ridgeWeightStep } from '../simplex.js';

/**
 * MoCo (Fernando, Shen, Liu, Chaudhury, Murugesan & Chen, "Mitigating
 * Gradient Bias in Multi-objective Learning: A Provably Convergent Approach",
 * ICLR 2023). Stochastic MGDA is biased because the min-norm weights are a
 * nonlinear function of noisy gradients; MoCo tracks each task's gradient
 * with a running estimate y_t and moves the weights λ by projected gradient
 * steps instead of solving for them. At step k, with each gradient first
 * normalised and scaled by its loss (ĝ_t = L_t·g_t/(‖g_t‖ + eps), as the
 * reference implementations):
 *   y_t ← y_t − β_k·(y_t − ĝ_t),                 β_k = β/k^βσ
 *   λ ← softmax(λ − γ_k·(YYᵀ + ρI)·λ),          γ_k = γ/k^γσ
 * (`normalization: 'none'`: ĝ_t = g_t, the paper's Algorithm 1 on the raw
 * stochastic gradients; no losses needed) and the direction is Σ_t λ_t y_t (the softmax keeps λ in the simplex, as
 * LibMTL's implementation). Weights are reported as T·λ and the direction is
 * T·Σλ_t y_t (sum scale, as mgda); they apply to the tracked y_t, not to this
 * step's rows. Options (LibMTL's defaults): `beta` 0.5, `betaSigma` 0.5,
 * `gamma` 0.1, `gammaSigma` 0.5, `rho` 0, `eps` 1e-8, `normalization`
 * 'loss' (or 'none'); with 'loss', `losses` (one per task) is required — the
 * training loop fills it in. State: y (T×d), λ. Cost:
 * O(T·d) per step plus the T×T Gram matrix of y; T×d numbers of state.
 */
const NORMALIZATIONS: readonly MocoNormalization[] = ['loss', 'none'];

export const mocoAggregator: Aggregator<'moco'> = {
  name: 'moco',
  needs: (o) => ({ rows: true, rowsAcrossSteps: true, losses: o.normalization !== 'none' }),
  ownDirection: true,
  resolve(options) {
    const r = new OptionReader('moco', options);
    const beta = r.number('beta', 0.5, 0, 1, { minOpen: true });
    const betaSigma = r.number('betaSigma', 0.5, 0, Infinity);
    const gamma = r.number('gamma', 0.1, 0, Infinity);
    const gammaSigma = r.number('gammaSigma', 0.5, 0, Infinity);
    const rho = r.number('rho', 0, 0, Infinity);
    const eps = r.number('eps', 1e-8, 0, Infinity);
    const normalization = r.oneOf('normalization', 'loss', NORMALIZATIONS);
    const losses = r.numbers('losses', 0);
    r.done();
    if (normalization === 'none') return { beta, betaSigma, gamma, gammaSigma, rho, eps, normalization };
    return { beta, betaSigma, gamma, gammaSigma, rho, eps, normalization, losses: losses ?? r.fail('losses', "given (one non-negative loss value per task; the training loop fills it in) when normalization is 'loss'", undefined) };
  },
  init: () => ({ method: 'moco', step: 0, tracked: null, lambda: null }),
  checkState(s, T, d) {
    checkBaseState('moco', s);
    if (s.tracked !== null) checkTable('moco', 'tracked', s.tracked, T, d, false);
    checkVector('moco', 'lambda', s.lambda, T, true);
    if ((s.tracked === null) !== (s.lambda === null)) throw new MultilossError('config', "aggregator 'moco': state.tracked and state.lambda are set together (both null before the first step)");
  },
  run(ctx, o, state) {
    const { T, d, rows } = ctx;
    checkTaskLength('moco', 'losses', o.losses, T);
    const k = state.step + 1;
    const { b, g: gammaK } = mocoRates(o, k);
    const tracked: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const g = rows[t];
      let n2 = 0;
      for (let j = 0; j < d; j++) n2 += g[j] * g[j];
      const den = Math.sqrt(n2) + o.eps;
      // A zero gradient has no direction: it tracks towards 0.
      const scale = o.losses === undefined ? 1 : den > 0 ? o.losses[t] / den : 0;
      const old = state.tracked?.[t];
      const y = jsonRow(d);
      for (let j = 0; j < d; j++) {
        const prev = old === undefined ? 0 : old[j];
        y[j] = prev - b * (prev - scale * g[j]);
      }
      if (!Number.isFinite(n2) || !Number.isFinite(y[0]) || !Number.isFinite(scale)) {
        assertFinite(rows);
        throw new MultilossError('config', `aggregator 'moco': state.tracked row ${t} has a non-finite entry, or the gradients overflow`);
      }
      tracked.push(y);
    }
    const lambda = mocoLambda(state.lambda, computeGram(tracked), T, gammaK, o.rho);
    const weights = Float64Array.from(lambda, (l) => T * l);
    const nextState: MocoState = { method: 'moco', step: k, tracked, lambda: Array.from(lambda) };
    return { weights, direction: combine(tracked, weights, d), state: nextState };
  },
};

/** Step k's tracking rate β_k = β/k^βσ and weight step γ_k = γ/k^γσ (shared with the trainer's tensor path). */
export function mocoRates(o: { beta: number; betaSigma: number; gamma: number; gammaSigma: number }, k: number): { b: number; g: number } {
  return { b: o.beta / Math.pow(k, o.betaSigma), g: o.gamma / Math.pow(k, o.gammaSigma) };
}

/**
 * The next weights softmax(λ − γ_k(YYᵀ + ρI)λ) in the simplex, from the previous λ (null: the
 * first step, 1/T each) and the Gram matrix YY of the tracked gradients.
 */
export function mocoLambda(previous: ArrayLike<number> | null, YY: Float64Array, T: number, g: number, rho: number): Float64Array {
  const z = ridgeWeightStep(previous, YY, T, g, rho);
  let max = -Infinity;
  for (let i = 0; i < T; i++) max = Math.max(max, z[i]);
  if (!Number.isFinite(max)) throw new MultilossError('training', "aggregator 'moco': the weight update overflows (tracked gradients too large for gamma)");
  let total = 0;
  const next = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    next[i] = Math.exp(z[i] - max);
    total += next[i];
  }
  for (let i = 0; i < T; i++) next[i] /= total;
  return next;
}
