import * as tf from '@tensorflow/tfjs-core';
import { weightedTotal } from './weighted-total.js';
import type { BalancedHead, LossBalancer, StepContext } from '../strategy.js';
import { detached, requireHeads, StatelessLossBalancer } from './common.js';
import { OptionReader } from '../options.js';

export interface UwsoOptions {
  /** Softmax temperature τ > 0 (default 1, the authors' default); larger is closer to equal weights. */
  temperature?: number;
  /** Added to each loss before inverting it (default 1e-8). */
  eps?: number;
}

export const UWSO_OPTIONS: readonly string[] = ['temperature', 'eps'];

/**
 * Soft optimal uncertainty weighting (UW-SO) — Kirchdorfer, Elich, Kugler &
 * Schiele, "Analytical Uncertainty-Based Loss Weighting in Multi-Task
 * Learning", GCPR 2024. Uncertainty weighting's optimum for fixed losses is
 * a weight ∝ 1/Lₜ; UW-SO uses that analytically every step, softened by a
 * softmax:
 *
 *   wₜ = T · softmax_t((1/Lₜ)/τ),   total = Σₜ wₜ·Lₜ,
 *
 * with the losses of this batch, detached (the weights are constants of the
 * step). The paper's softmax sums to 1; the factor T puts the total on the
 * summed-loss scale, like `rlw`. Options: `temperature` τ (> 0, default 1),
 * `eps` (1e-8). State: none. Cost: as `static`.
 */
export class UwsoBalancer extends StatelessLossBalancer implements LossBalancer {
  readonly name = 'uwso';
  readonly temperature: number;
  private readonly eps: number;
  private readonly T: number;

  constructor(heads: readonly BalancedHead[], options: UwsoOptions = {}) {
    super();
    const o = new OptionReader('uwso', options, UWSO_OPTIONS);
    this.temperature = o.number('temperature', 1, 0, Infinity, { minOpen: true });
    this.eps = o.number('eps', 1e-8, 0, 1);
    requireHeads('uwso', heads.length);
    this.T = heads.length;
  }

  combine(losses: tf.Scalar[], _ctx?: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    const stacked = tf.stack(losses) as tf.Tensor1D;
    const weights = detached(stacked, (l) => tf.mul(tf.softmax(tf.div(tf.reciprocal(tf.add(l, this.eps)), this.temperature)), this.T) as tf.Tensor1D);
    return { total: weightedTotal(losses, weights), weights };
  }

  /** The weights for these loss values: T·softmax((1/L)/τ). */
  weightsFor(losses: readonly number[]): number[] {
    const z = losses.map((l) => 1 / (l + this.eps) / this.temperature);
    const m = Math.max(...z);
    const e = z.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => (this.T * x) / s);
  }

}
