import * as tf from '@tensorflow/tfjs-core';
import { weightedTotal } from './weighted-total.js';
import type { BalancedHead, LossBalancer, StepContext } from '../strategy.js';
import { requireHeads, softmax, StatelessLossBalancer } from './common.js';
import { OptionReader } from '../options.js';

/** `rlw` takes no options. */
export type RlwOptions = Record<string, never>;

export const RLW_OPTIONS: readonly string[] = [];

/**
 * Random loss weighting — Lin, Ye, Xu, Shi & Zhang, "Reasonable effectiveness
 * of random weighting: a litmus test for multi-task learning", TMLR 2022.
 *
 * Every step draws zₜ ~ N(0, 1) for each head from the trainer's seeded
 * random stream (`ctx.rng`, so a run is reproducible from its seed) and uses
 *
 *   wₜ = T · softmax(z)ₜ,   total = Σₜ wₜ·Lₜ.
 *
 * The paper (and LibMTL) use softmax(z), which sums to 1; the factor T puts
 * the total on the scale of the summed losses (expected weight 1 per head), like
 * `equal`.
 *
 * Options: none. State: none (`{}`); the randomness lives in the trainer's rng.
 */
export class RlwBalancer extends StatelessLossBalancer implements LossBalancer {
  readonly name = 'rlw';
  private readonly T: number;

  constructor(heads: readonly BalancedHead[], options: RlwOptions = {}) {
    super();
    new OptionReader('rlw', options, RLW_OPTIONS);
    requireHeads('rlw', heads.length);
    this.T = heads.length;
  }

  /** Draws the next step's weights from `rng` (T standard normals). */
  drawWeights(rng: StepContext['rng']): number[] {
    const z = Array.from({ length: this.T }, () => rng.normal());
    return softmax(z).map((p) => this.T * p);
  }

  combine(losses: tf.Scalar[], ctx: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    const weights = tf.tensor1d(this.drawWeights(ctx.rng));
    return { total: weightedTotal(losses, weights), weights };
  }

}
