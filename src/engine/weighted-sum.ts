import * as tf from '@tensorflow/tfjs-core';
import { weightedSumOfTensors } from './native/gram.js';

/**
 * Σₜ wₜ·gₜ of tensors of one `shape` as a new tensor: a missing term or a zero weight adds
 * nothing, and none at all gives zeros. One native call when the native path can run it (double
 * sums), else tfjs ops.
 */
export function weightedSum(grads: readonly (tf.Tensor | undefined)[], weights: ArrayLike<number>, shape: number[]): tf.Tensor {
  const native = weightedSumOfTensors(grads, weights, shape);
  if (native) return native;
  return tf.tidy(() => {
    const terms: tf.Tensor[] = [];
    grads.forEach((g, t) => {
      if (g && weights[t] !== 0) terms.push(weights[t] === 1 ? g : tf.mul(g, tf.scalar(weights[t])));
    });
    return terms.length === 0 ? tf.zeros(shape) : terms.length === 1 ? tf.clone(terms[0]) : tf.addN(terms);
  });
}
