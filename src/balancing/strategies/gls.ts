import * as tf from '@tensorflow/tfjs-core';
import type { BalancedHead, LossBalancer, StepContext } from '../strategy.js';
import { requireHeads, StatelessLossBalancer } from './common.js';
import { OptionReader } from '../options.js';

export interface GlsOptions {
  /** Added to every loss before the logarithm (> 0, default 1e-8), so a zero loss does not zero the product. */
  eps?: number;
  /**
   * 'paper' (default): total = (Πₜ Lₜ)^{1/T}, whose gradient is on the scale
   * of the *mean* loss (weights sum to 1 when the losses are equal).
   * 'sum': total = T·(Πₜ Lₜ)^{1/T}, on the scale of the summed losses
   * (weights all 1 when the losses are equal), like `equal`.
   */
  scale?: 'paper' | 'sum';
}

export const GLS_OPTIONS: readonly string[] = ['eps', 'scale'];

/**
 * Geometric loss strategy — Chennupati, Sistu, Yogamani & Rawashdeh,
 * "MultiNet++: Multi-stream feature aggregation and geometric loss strategy
 * for multi-task learning", CVPR Workshops 2019.
 *
 *   total = (Πₜ Lₜ)^{1/T} = exp(meanₜ log(Lₜ + ε))
 *
 * computed in log space so the product neither under- nor overflows. The
 * reported weight of a head is the multiplier of its gradient,
 * ∂total/∂Lₜ = total/(T·(Lₜ + ε)): small losses get large weights, making
 * the update invariant to each loss's scale. With `scale: 'sum'` the total
 * (and so every weight) is multiplied by T.
 *
 * Options: `eps` (> 0, default 1e-8), `scale` ('paper' | 'sum', default 'paper').
 * State: none (`{}`).
 */
export class GlsBalancer extends StatelessLossBalancer implements LossBalancer {
  readonly name = 'gls';
  readonly eps: number;
  readonly scale: 'paper' | 'sum';
  private readonly T: number;

  constructor(heads: readonly BalancedHead[], options: GlsOptions = {}) {
    super();
    const o = new OptionReader('gls', options, GLS_OPTIONS);
    this.eps = o.number('eps', 1e-8, 0, 1, { minOpen: true });
    this.scale = o.oneOf('scale', 'paper', ['paper', 'sum'] as const);
    requireHeads('gls', heads.length);
    this.T = heads.length;
  }

  combine(losses: tf.Scalar[], _ctx?: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    // Inside the gradient tape: no tf.tidy.
    const shifted = tf.add(tf.stack(losses), this.eps);
    let total = tf.exp(tf.mean(tf.log(shifted))) as tf.Scalar;
    if (this.scale === 'sum') total = tf.mul(total, this.T) as tf.Scalar;
    // ∂total/∂Lₜ = total / (T·(Lₜ + ε)); not part of `total`, so no gradient flows through it.
    const weights = tf.div(total, tf.mul(shifted, this.T)) as tf.Tensor1D;
    return { total, weights };
  }

}
