import * as tf from '@tensorflow/tfjs-core';
import type { LossFunction } from './loss.js';

/**
 * Sigmoid cross-entropy from logits, averaged over the units (one unit for a
 * binary head, one per label for a multilabel head). Stable form:
 * max(z, 0) − z·y + log(1 + e^(−|z|)).
 */
export function binaryCrossentropy(options: { labelSmoothing?: number } = {}): LossFunction {
  const eps = options.labelSmoothing ?? 0;
  return {
    name: 'binary_crossentropy',
    perSample(yTrue, logits) {
      const y = eps > 0 ? tf.add(tf.mul(yTrue, 1 - eps), eps / 2) : yTrue;
      const perUnit = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
      return tf.mean(perUnit, 1) as tf.Tensor1D;
    },
  };
}
