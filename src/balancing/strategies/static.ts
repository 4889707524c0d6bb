import * as tf from '@tensorflow/tfjs-core';
import { weightedTotal } from './weighted-total.js';
import type { BalancedHead, LossBalancer } from '../strategy.js';
import { OptionReader } from '../options.js';

export const STATIC_OPTIONS = ['weights'] as const;

export interface StaticOptions {
  /** Per-head weights by head name; heads not named keep their configured weight. */
  weights?: Record<string, number>;
}

/** Fixed weights: total = Σ wₜ·Lₜ. The default strategy (all weights 1 unless configured). */
export class StaticBalancer implements LossBalancer {
  readonly kind = 'loss' as const;
  readonly name = 'static';
  readonly weights: number[];
  private readonly tensor: tf.Tensor1D;

  constructor(heads: readonly BalancedHead[], options: StaticOptions = {}) {
    const o = new OptionReader('static', options, STATIC_OPTIONS);
    this.weights = o.perHead(
      'weights',
      heads.map((h) => h.name),
      heads.map((h) => h.weight),
      { min: 0, byNameOnly: true },
    );
    this.tensor = tf.keep(tf.tensor1d(this.weights));
  }

  combine(losses: tf.Scalar[]): { total: tf.Scalar; weights: tf.Tensor1D } {
    return { total: weightedTotal(losses, this.tensor), weights: this.tensor.clone() };
  }

  variables(): tf.Variable[] {
    return [];
  }
  getState(): Record<string, unknown> {
    return { weights: this.weights };
  }
  setState(): void {
    // Nothing learned: the weights come from the configuration.
  }
  dispose(): void {
    this.tensor.dispose();
  }
}
