import * as tf from '@tensorflow/tfjs-core';
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
  private readonly scalars: tf.Scalar[];

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
    this.scalars = this.weights.map((w) => tf.keep(tf.scalar(w)));
  }

  combine(losses: tf.Scalar[]): { total: tf.Scalar; weights: tf.Tensor1D } {
    // One tape node whose backward pass is ∂total/∂Lₜ = dy·wₜ (one op per head), instead of
    // those of stack, mul and sum.
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.sum(tf.mul(tf.stack(args.slice(0, losses.length) as tf.Tensor[]), this.tensor)) as tf.Scalar,
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => this.scalars.map((w) => tf.mul(dy as tf.Tensor, w)),
    }));
    return { total: op(...losses) as tf.Scalar, weights: this.tensor.clone() };
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
    tf.dispose(this.scalars);
  }
}
