import * as tf from '@tensorflow/tfjs-core';
import { weightedTotal } from './weighted-total.js';
import { MultilossError } from '../../errors.js';
import type { BalancedHead, LossBalancer } from '../strategy.js';

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
    const names = heads.map((h) => h.name);
    for (const [name, w] of Object.entries(options.weights ?? {})) {
      if (!names.includes(name)) {
        throw new MultilossError('config', `balance.weights names head "${name}", which does not exist; heads are: ${names.join(', ')}`);
      }
      if (!Number.isFinite(w) || w < 0) throw new MultilossError('config', `balance.weights.${name} must be a finite number ≥ 0, got ${w}`);
    }
    this.weights = heads.map((h) => options.weights?.[h.name] ?? h.weight);
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
