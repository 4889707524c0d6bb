import * as tf from '@tensorflow/tfjs-core';
import type { LossFunction } from './loss.js';

/** Softmax cross-entropy from logits, with optional label smoothing ε: y ← y(1−ε) + ε/K. */
export function categoricalCrossentropy(options: { labelSmoothing?: number } = {}): LossFunction {
  const eps = options.labelSmoothing ?? 0;
  return {
    name: 'crossentropy',
    perSample(yTrue, logits) {
      const k = yTrue.shape[1];
      const target = eps > 0 ? tf.add(tf.mul(yTrue, 1 - eps), eps / k) : yTrue;
      return tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1)) as tf.Tensor1D;
    },
  };
}
