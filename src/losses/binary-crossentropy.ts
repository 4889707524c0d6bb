import * as tf from '@tensorflow/tfjs-core';
import type { LossFunction } from './loss.js';

/**
 * Sigmoid cross-entropy from logits, averaged over the units (one unit for a
 * binary head, one per label for a multilabel head), with optional label
 * smoothing ε: y ← y(1−ε) + ε/2. Stable form:
 * max(z, 0) − z·y + log(1 + e^(−|z|)).
 * One tape node: its derivative is (sigmoid(z) − y)/units, so the backward
 * pass is four ops instead of those of the eight in the stable form (which
 * also give −y instead of ½ − y at z = 0, where relu and abs have no
 * derivative). The labels are data: no gradient w.r.t. them.
 */
export function binaryCrossentropy(options: { labelSmoothing?: number } = {}): LossFunction {
  const eps = options.labelSmoothing ?? 0;
  return {
    name: 'binary_crossentropy',
    perSample(yTrue, logits) {
      const [n, units] = yTrue.shape;
      const target = eps > 0 ? tf.add(tf.mul(yTrue, 1 - eps), eps / 2) : yTrue;
      const op = tf.customGrad((z, save) => {
        const x = z as tf.Tensor2D;
        const perUnit = tf.add(tf.sub(tf.relu(x), tf.mul(x, target)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
        // The target too: a smoothed one is made in the forward scope, which frees what is not saved.
        (save as tf.GradSaveFunc)([x, target]);
        return {
          value: tf.mean(perUnit, 1) as tf.Tensor1D,
          gradFunc: (dy: tf.Tensor, [zs, y]: tf.Tensor[]) => tf.mul(tf.reshape(tf.div(dy, units), [n, 1]), tf.sub(tf.sigmoid(zs), y)),
        };
      });
      return op(logits) as tf.Tensor1D;
    },
  };
}
