import * as tf from '@tensorflow/tfjs-core';
import { weightedTotal } from './weighted-total.js';
import type { BalancedHead, LossBalancer, StepContext } from '../strategy.js';
import { requireHeads, StatelessLossBalancer } from './common.js';
import { OptionReader } from '../options.js';

/** `equal` takes no options. */
export type EqualOptions = Record<string, never>;

export const EQUAL_OPTIONS: readonly string[] = [];

/** The `balance:` block that trains on the plain sum of the losses (a single head's own loss). */
export const PLAIN_LOSS_BALANCE: { readonly method: string } = Object.freeze({ method: 'equal' });

/**
 * Equal weighting: total = Σₜ Lₜ, every weight 1 (the heads' configured
 * static weights are ignored; use `static` for those). The reference point of
 * the scale convention: the other strategies report weights that sum to about
 * T, the number of heads.
 */
export class EqualBalancer extends StatelessLossBalancer implements LossBalancer {
  readonly name = 'equal';
  private readonly T: number;

  constructor(heads: readonly BalancedHead[], options: EqualOptions = {}) {
    super();
    new OptionReader('equal', options, EQUAL_OPTIONS);
    requireHeads('equal', heads.length);
    this.T = heads.length;
  }

  combine(losses: tf.Scalar[], _ctx?: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    const weights = tf.ones([this.T]) as tf.Tensor1D;
    return { total: weightedTotal(losses, weights), weights };
  }

  /** The weights the next step will apply (all 1). */
  currentWeights(): number[] {
    return new Array<number>(this.T).fill(1);
  }

}
