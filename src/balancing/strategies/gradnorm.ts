import * as tf from '@tensorflow/tfjs-core';
import { weightedTotal } from './weighted-total.js';
import { MultilossError } from '../../errors.js';
import type { BalancedHead, BalancerRequirements, LossBalancer, StepContext, StepFeedback } from '../strategy.js';
import { adamStep, copyAdam, initialAdam, requireHeads, stateAdam, stateNumbers, type AdamState } from './common.js';
import { OptionReader } from '../options.js';

export interface GradNormOptions {
  /** Restoring-force strength α (≥ 0, default 1.5); 0 pulls every head's gradient norm to the same size. */
  alpha?: number;
  /** Learning rate of the weights (> 0, default 0.025). */
  lr?: number;
  /** How the weights follow ∂L_grad/∂w: 'adam' (default) or plain gradient descent 'sgd'. */
  optimizer?: 'adam' | 'sgd';
}

export const GRADNORM_OPTIONS: readonly string[] = ['alpha', 'lr', 'optimizer'];

/** Weights never go below this (before the renormalisation to Σw = T). */
const MIN_WEIGHT = 1e-4;

/**
 * GradNorm — Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: Gradient
 * normalization for adaptive loss balancing in deep multitask networks",
 * ICML 2018.
 *
 * Learned weights w (start at 1). combine returns Σₜ wₜ·Lₜ with w constant;
 * the reported weights are w. After every optimizer step the trainer passes
 * nₜ = ‖∇_W Lₜ‖, the norm of the gradient of head t's *unweighted* loss
 * w.r.t. the last shared layer W (`requires.sharedGradNorms`), and the
 * step's losses Lₜ. Then
 *
 *   Gₜ = wₜ·nₜ,  Ḡ = meanₜ Gₜ,  L̃ₜ = Lₜ/Lₜ(0),  rₜ = L̃ₜ / meanⱼ L̃ⱼ,
 *   targetₜ = Ḡ·rₜ^α (a constant),  L_grad = Σₜ |Gₜ − targetₜ|,
 *   ∂L_grad/∂wₜ = sign(Gₜ − targetₜ)·nₜ,
 *
 * one Adam (or SGD) step on w with that gradient, then w is clamped to
 * ≥ 1e-4 and renormalised to Σₜ wₜ = T (as in the paper). Heads that train
 * more slowly than average (rₜ > 1) get larger weights. Lₜ(0) is the head's
 * loss on the first step where it is positive (normally the first step).
 *
 * The weights are w themselves, not LibMTL's T·softmax(w) reparametrisation;
 * the update uses its own Adam, separate from the model's optimizer.
 * A head with nₜ = 0 or no reference loss yet (typically: no labelled rows in
 * the batch) gets a zero gradient that step and is left out of Ḡ and of the
 * mean ratio.
 *
 * Options: `alpha` (≥ 0, default 1.5), `lr` (> 0, default 0.025),
 * `optimizer` ('adam' | 'sgd', default 'adam').
 * State: `{ weights: number[], initialLosses: number[] (0 = not yet seen), adam: { m, v, t } }`.
 */
export class GradNormBalancer implements LossBalancer {
  readonly kind = 'loss' as const;
  readonly name = 'gradnorm';
  readonly requires: BalancerRequirements = { sharedGradNorms: true };
  readonly alpha: number;
  readonly lr: number;
  readonly optimizer: 'adam' | 'sgd';
  private readonly T: number;
  private weights: number[];
  private initialLosses: number[];
  private adam: AdamState;

  constructor(heads: readonly BalancedHead[], options: GradNormOptions = {}) {
    const o = new OptionReader('gradnorm', options, GRADNORM_OPTIONS);
    this.alpha = o.number('alpha', 1.5, 0);
    this.lr = o.number('lr', 0.025, 0, Infinity, { minOpen: true });
    this.optimizer = o.oneOf('optimizer', 'adam', ['adam', 'sgd'] as const);
    requireHeads('gradnorm', heads.length);
    this.T = heads.length;
    this.weights = new Array<number>(this.T).fill(1);
    this.initialLosses = new Array<number>(this.T).fill(0);
    this.adam = initialAdam(this.T);
  }

  combine(losses: tf.Scalar[], _ctx?: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    const weights = tf.tensor1d(this.weights);
    return { total: weightedTotal(losses, weights), weights };
  }

  /** ∂L_grad/∂w for the given losses and shared-gradient norms (records Lₜ(0) on first sight). */
  weightGradient(losses: readonly number[], norms: readonly number[]): number[] {
    for (let t = 0; t < this.T; t++) {
      if (this.initialLosses[t] === 0 && losses[t] > 0 && Number.isFinite(losses[t])) this.initialLosses[t] = losses[t];
    }
    const active = norms.map((n, t) => n > 0 && this.initialLosses[t] > 0 && Number.isFinite(n) && Number.isFinite(losses[t]));
    const count = active.filter(Boolean).length;
    const grad = new Array<number>(this.T).fill(0);
    if (count === 0) return grad;
    let gMean = 0;
    let ratioMean = 0;
    const ratio = losses.map((l, t) => l / this.initialLosses[t]);
    for (let t = 0; t < this.T; t++) {
      if (!active[t]) continue;
      gMean += (this.weights[t] * norms[t]) / count;
      ratioMean += ratio[t] / count;
    }
    for (let t = 0; t < this.T; t++) {
      if (!active[t]) continue;
      const r = ratioMean > 0 ? ratio[t] / ratioMean : 1;
      const target = gMean * Math.pow(r, this.alpha);
      grad[t] = Math.sign(this.weights[t] * norms[t] - target) * norms[t];
    }
    return grad;
  }

  afterStep(feedback: StepFeedback, _ctx?: StepContext): void {
    const norms = feedback.sharedGradNorms;
    if (!norms)
      throw new MultilossError(
        'training',
        'balance.method "gradnorm" needs the shared-layer gradient norms (requires.sharedGradNorms), but the trainer did not report them',
      );
    if (norms.length !== this.T || feedback.losses.length !== this.T) {
      throw new MultilossError(
        'training',
        `balance.method "gradnorm" got ${feedback.losses.length} losses and ${norms.length} gradient norms for ${this.T} heads`,
      );
    }
    const grad = this.weightGradient(feedback.losses, norms);
    if (this.optimizer === 'adam') adamStep(this.weights, grad, this.adam, { lr: this.lr });
    else for (let t = 0; t < this.T; t++) this.weights[t] -= this.lr * grad[t];
    for (let t = 0; t < this.T; t++) this.weights[t] = Math.max(this.weights[t], MIN_WEIGHT);
    const sum = this.weights.reduce((a, b) => a + b, 0);
    for (let t = 0; t < this.T; t++) this.weights[t] *= this.T / sum;
  }

  /** The weights the next step will apply. */
  currentWeights(): number[] {
    return [...this.weights];
  }

  variables(): tf.Variable[] {
    return [];
  }

  getState(): Record<string, unknown> {
    return { weights: [...this.weights], initialLosses: [...this.initialLosses], adam: copyAdam(this.adam) };
  }

  setState(state: Record<string, unknown>): void {
    const weights = stateNumbers('gradnorm', state, 'weights', this.T, { min: 0 }) as number[];
    if (!weights.some((w) => w > 0)) throw new MultilossError('model', 'balance state for method "gradnorm" is malformed: "weights" are all 0');
    this.weights = weights;
    this.initialLosses = stateNumbers('gradnorm', state, 'initialLosses', this.T, { min: 0 }) as number[];
    this.adam = stateAdam('gradnorm', state, 'adam', this.T);
  }

  dispose(): void {
    // Nothing held: the weights and Adam moments are plain numbers.
  }
}
