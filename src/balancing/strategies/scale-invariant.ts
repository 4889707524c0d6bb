import * as tf from '@tensorflow/tfjs-core';
import type { BalancedHead, LossBalancer, StepContext } from '../strategy.js';
import { detached, requireHeads, StatelessLossBalancer } from './common.js';
import { OptionReader } from '../options.js';

export interface ScaleInvariantOptions {
  /** Added to each loss inside the logarithm (default 1e-8). */
  eps?: number;
}

export const SCALE_INVARIANT_OPTIONS: readonly string[] = ['eps'];

/**
 * The scale-invariant loss Σₜ log Lₜ — the baseline of Navon et al.,
 * "Multi-Task Learning as a Bargaining Game" (ICML 2022): multiplying any
 * head's loss by a constant adds a constant to the total, so the heads' units
 * do not matter. Its gradient is Σₜ ∇Lₜ/Lₜ: every head weighted by
 * wₜ = 1/(Lₜ + eps), the weights reported (this batch's losses). The tape's
 * total is Σₜ log(Lₜ + eps) itself; the epoch logs' total is, as for every
 * loss-based method, Σₜ wₜLₜ (≈ T here). Options: `eps`
 * (1e-8). State: none. Cost: as `static`.
 */
export class ScaleInvariantBalancer extends StatelessLossBalancer implements LossBalancer {
  readonly name = 'scale-invariant';
  private readonly eps: number;

  constructor(heads: readonly BalancedHead[], options: ScaleInvariantOptions = {}) {
    super();
    const o = new OptionReader('scale-invariant', options, SCALE_INVARIANT_OPTIONS);
    this.eps = o.number('eps', 1e-8, 0, 1);
    requireHeads('scale-invariant', heads.length);
  }

  combine(losses: tf.Scalar[], _ctx?: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    const shifted = tf.add(tf.stack(losses), this.eps);
    const weights = detached(shifted, (l) => tf.reciprocal(l) as tf.Tensor1D);
    return { total: tf.sum(tf.log(shifted)) as tf.Scalar, weights };
  }

}
