import * as tf from '@tensorflow/tfjs-core';
import { weightedTotal } from './weighted-total.js';
import { MultilossError } from '../../errors.js';
import type { BalancedHead, BalancerRequirements, LossBalancer, StepContext, StepFeedback } from '../strategy.js';
import { adamStep, copyAdam, detached, initialAdam, requireHeads, softmax, stateAdam, stateNumbers, type AdamState } from './common.js';
import { OptionReader } from '../options.js';

export interface FamoOptions {
  /** Learning rate of the logits' Adam (> 0, default 0.025, as the paper). */
  lr?: number;
  /** L2 weight decay γ on the logits, added to their gradient as torch.optim.Adam does (≥ 0, default 1e-3). */
  weightDecay?: number;
  /** Lower bound of each head's loss, a number for every head or an object by head name (default 0). */
  minLosses?: number | Record<string, number>;
  /** ε added to Lₜ − minₜ before the logarithm (> 0, default 1e-8). */
  eps?: number;
}

export const FAMO_OPTIONS: readonly string[] = ['lr', 'weightDecay', 'minLosses', 'eps'];

/**
 * Fast Adaptive Multitask Optimization — Liu, Feng, Stone & Liu, "FAMO: Fast
 * adaptive multitask optimization", NeurIPS 2023 (Algorithm 1; official code
 * github.com/Cranial-XIX/FAMO).
 *
 * Logits ξ (T numbers, start at 0), z = softmax(ξ), Dₜ = Lₜ − minₜ + ε.
 * The paper minimises Σₜ (zₜ/c)·log Dₜ with c = Σₜ zₜ/Dₜ detached, whose
 * gradient is Σₜ (zₜ/(c·Dₜ))·∇Lₜ — a convex combination of the task
 * gradients (the multipliers sum to 1). We put it on the scale of the summed
 * losses like the other strategies: the reported weight of head t is
 *
 *   wₜ = T · zₜ/(c·Dₜ)   (Σₜ wₜ = T; all 1 when the losses and logits are equal)
 *
 * and the total is Σₜ wₜ·Lₜ with w treated as a constant: its gradient is
 * exactly T × the paper's, and its value is a weighted loss comparable with
 * the validation total, not a sum of log-losses.
 *
 * After the optimizer step the trainer recomputes the losses on the same
 * batch (`requires.lossesAfterStep`); with δₜ = log Dₜ(before) − log Dₜ(after)
 * the logits' gradient is J_softmax(ξ)ᵀδ, i.e. zₜ·(δₜ − Σⱼ zⱼδⱼ), and one
 * Adam step (with weight decay γ) updates ξ. Heads that just improved most
 * lose weight. O(T) work per step. The official code also clips the shared
 * gradient to norm 1; use `training.clipNorm` for that.
 *
 * Degenerate batches: a head whose loss on the batch is at or below its
 * minimum (a head with no labelled rows in the batch has loss exactly 0)
 * gets weight 0 for that step and is left out of c (the formula would give it
 * almost all the weight, its 1/ε term dominating c, while its gradient is
 * zero), and its δ is 0.
 *
 * Options: `lr` (> 0, default 0.025), `weightDecay` (≥ 0, default 1e-3),
 * `minLosses` (default 0), `eps` (> 0, default 1e-8).
 * State: `{ logits: number[], adam: { m, v, t } }`.
 */
export class FamoBalancer implements LossBalancer {
  readonly kind = 'loss' as const;
  readonly name = 'famo';
  readonly requires: BalancerRequirements = { lossesAfterStep: true };
  readonly lr: number;
  readonly weightDecay: number;
  readonly minLosses: number[];
  readonly eps: number;
  private readonly T: number;
  private logits: number[];
  private adam: AdamState;

  constructor(heads: readonly BalancedHead[], options: FamoOptions = {}) {
    const o = new OptionReader('famo', options, FAMO_OPTIONS);
    this.lr = o.number('lr', 0.025, 0, Infinity, { minOpen: true });
    this.weightDecay = o.number('weightDecay', 1e-3, 0);
    this.minLosses = o.perHead(
      'minLosses',
      heads.map((h) => h.name),
      0,
    );
    this.eps = o.number('eps', 1e-8, 0, 1, { minOpen: true });
    requireHeads('famo', heads.length);
    this.T = heads.length;
    this.logits = new Array<number>(this.T).fill(0);
    this.adam = initialAdam(this.T);
  }

  combine(losses: tf.Scalar[], _ctx?: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    // Inside the gradient tape: no tf.tidy; the weights are computed as one detached op.
    const stacked = tf.stack(losses) as tf.Tensor1D;
    const z = tf.tensor1d(softmax(this.logits));
    const min = tf.tensor1d(this.minLosses);
    const weights = detached(stacked, (l) => {
      const gap = tf.sub(l, min);
      const active = tf.cast(tf.greater(gap, 0), 'float32');
      const q = tf.div(tf.mul(active, z), tf.add(tf.relu(gap), this.eps));
      return tf.div(tf.mul(q, this.T), tf.maximum(tf.sum(q), 1e-30)) as tf.Tensor1D;
    });
    return { total: weightedTotal(losses, weights), weights };
  }

  /** The logits' gradient J_softmax(ξ)ᵀδ for the given losses before and after a step. */
  logitGradient(before: readonly number[], after: readonly number[]): number[] {
    const z = softmax(this.logits);
    const delta = before.map((b, t) => {
      const gapBefore = b - this.minLosses[t];
      if (!(gapBefore > 0)) return 0;
      const gapAfter = Math.max(after[t] - this.minLosses[t], 0);
      return Math.log(gapBefore + this.eps) - Math.log(gapAfter + this.eps);
    });
    let zDelta = 0;
    for (let t = 0; t < this.T; t++) zDelta += z[t] * delta[t];
    return z.map((zt, t) => zt * (delta[t] - zDelta));
  }

  afterStep(feedback: StepFeedback, _ctx?: StepContext): void {
    const after = feedback.lossesAfter;
    if (!after)
      throw new MultilossError(
        'training',
        'balance.method "famo" needs the losses after each step (requires.lossesAfterStep), but the trainer did not report them',
      );
    if (after.length !== this.T || feedback.losses.length !== this.T) {
      throw new MultilossError(
        'training',
        `balance.method "famo" got ${feedback.losses.length} losses before and ${after.length} after the step for ${this.T} heads`,
      );
    }
    const grad = this.logitGradient(feedback.losses, after);
    if (!grad.every(Number.isFinite)) return; // a non-finite loss: the trainer reports it; keep ξ as it is
    adamStep(this.logits, grad, this.adam, { lr: this.lr, weightDecay: this.weightDecay });
  }

  /** The logits ξ. */
  currentLogits(): number[] {
    return [...this.logits];
  }

  /** The weights T·zₜ/(c·Dₜ) the next step would apply to these losses. */
  weightsFor(losses: readonly number[]): number[] {
    const z = softmax(this.logits);
    const q = losses.map((l, t) => {
      const gap = l - this.minLosses[t];
      return gap > 0 ? z[t] / (gap + this.eps) : 0;
    });
    const c = q.reduce((a, b) => a + b, 0);
    return q.map((v) => (c > 0 ? (this.T * v) / c : 0));
  }

  variables(): tf.Variable[] {
    return [];
  }

  getState(): Record<string, unknown> {
    return { logits: [...this.logits], adam: copyAdam(this.adam) };
  }

  setState(state: Record<string, unknown>): void {
    this.logits = stateNumbers('famo', state, 'logits', this.T) as number[];
    this.adam = stateAdam('famo', state, 'adam', this.T);
  }

  dispose(): void {
    // Nothing held: ξ and the Adam moments are plain numbers.
  }
}
