import * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
// Native fused Adam (issue 7, src/engine/native/adam.ts): used when the native kernels are active.
import { createNativeAdam, nativeAdamActive, NativeAdamOptimizer, type WeightedGradient } from '../engine/native/adam.js';

export const OPTIMIZERS = ['adam', 'adamw', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface OptimizerSpec {
  name: OptimizerName;
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** SGD momentum (0 = plain SGD). */
  momentum?: number;
  nesterov?: boolean;
  /** AdamW decoupled weight decay (default 0.01), applied to kernels, not biases or batch-norm parameters. */
  weightDecay?: number;
}

/** An optimizer whose learning rate can change between steps (for schedules). */
export interface TrainingOptimizer {
  readonly optimizer: tf.Optimizer;
  setLearningRate(lr: number): void;
  apply(grads: tf.NamedTensorMap, variables: readonly tf.Variable[]): void;
  /**
   * A step with gradients given as weighted sums of tensors, formed inside the optimizer's own
   * step (native Adam); false, with no step taken, when it cannot: the caller then forms the sums
   * and calls `apply`.
   */
  applyWeighted(entries: readonly WeightedGradient[]): boolean;
  dispose(): void;
}

// Adam reads `learningRate` on every step; SGD and momentum cache it in a
// scalar that only their `setLearningRate` refreshes.
interface HasLearningRate {
  learningRate: number;
  setLearningRate?: (lr: number) => void;
}

export function createOptimizer(spec: OptimizerSpec): TrainingOptimizer {
  if (!(spec.learningRate > 0) || !Number.isFinite(spec.learningRate)) {
    throw new MultilossError('config', `training.learningRate must be a finite number > 0, got ${spec.learningRate}`);
  }
  let lr = spec.learningRate;
  let optimizer: tf.Optimizer;
  switch (spec.name) {
    case 'adam':
    case 'adamw':
      // Native (issue 7): one fused in-place step, the same numbers as tf.train.adam.
      optimizer = (nativeAdamActive() ? createNativeAdam : tf.train.adam)(lr, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.epsilon ?? 1e-7);
      break;
    case 'sgd':
      optimizer = spec.momentum ? tf.train.momentum(lr, spec.momentum, spec.nesterov ?? false) : tf.train.sgd(lr);
      break;
    default:
      throw new MultilossError('config', `training.optimizer: unknown optimizer "${String(spec.name)}"; valid: ${OPTIMIZERS.join(', ')}`);
  }
  const decay = spec.name === 'adamw' ? (spec.weightDecay ?? 0.01) : 0;
  return {
    optimizer,
    setLearningRate(next: number) {
      if (next === lr) return;
      lr = next;
      const o = optimizer as unknown as HasLearningRate;
      if (o.setLearningRate) o.setLearningRate(next);
      else o.learningRate = next;
    },
    apply(grads, variables) {
      if (decay > 0) {
        // Decoupled weight decay (Loshchilov & Hutter): w ← w − lr·λ·w, before the Adam step as in PyTorch.
        tf.tidy(() => {
          for (const v of variables) if (/kernel/.test(v.name)) v.assign(tf.mul(v, 1 - lr * decay));
        });
      }
      optimizer.applyGradients(grads);
    },
    applyWeighted(entries) {
      return decay === 0 && optimizer instanceof NativeAdamOptimizer && optimizer.applyWeightedGradients(entries);
    },
    dispose() {
      optimizer.dispose();
    },
  };
}
