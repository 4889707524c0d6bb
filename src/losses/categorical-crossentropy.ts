import * as tf from '@tensorflow/tfjs-core';
import type { LossFunction } from './loss.js';

/**
 * Softmax cross-entropy from logits, with optional label smoothing ε: y ← y(1−ε) + ε/K.
 * One tape node: ∂/∂logits of −Σⱼ yⱼ log softmax(z)ⱼ is softmax(z)·Σⱼ yⱼ − y,
 * so the backward pass is a handful of ops instead of those of
 * logSoftmax, mul, sum and neg. The labels are data: no gradient w.r.t. them.
 */
export function categoricalCrossentropy(options: { labelSmoothing?: number } = {}): LossFunction {
  const eps = options.labelSmoothing ?? 0;
  return {
    name: 'crossentropy',
    perSample(yTrue, logits) {
      const [n, k] = yTrue.shape;
      const target = eps > 0 ? tf.add(tf.mul(yTrue, 1 - eps), eps / k) : yTrue;
      const op = tf.customGrad((z, save) => {
        const logProbs = tf.logSoftmax(z as tf.Tensor2D);
        const value = tf.neg(tf.sum(tf.mul(target, logProbs), 1)) as tf.Tensor1D;
        // The target too: a smoothed one is made in the forward scope, which frees what is not saved.
        (save as tf.GradSaveFunc)([logProbs, tf.sum(target, 1, true), target]);
        return {
          value,
          gradFunc: (dy: tf.Tensor, [lp, mass, y]: tf.Tensor[]) => tf.mul(tf.reshape(dy, [n, 1]), tf.sub(tf.mul(tf.exp(lp), mass), y)),
        };
      });
      return op(logits) as tf.Tensor1D;
    },
  };
}
