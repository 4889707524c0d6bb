import * as tf from '@tensorflow/tfjs-core';

/**
 * Σₜ wₜ·Lₜ for weights that are constants of the step (no gradient w.r.t. them), as one tape
 * node whose backward pass is ∂/∂Lₜ = dy·wₜ in two ops for all heads, instead of the backward
 * passes of stack, mul and sum. Runs inside the gradient tape (no tf.tidy).
 */
export function weightedTotal(losses: tf.Scalar[], weights: tf.Tensor1D): tf.Scalar {
  const T = losses.length;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    // Saved: weights made in the forward scope would be freed before the backward pass.
    (args[T] as tf.GradSaveFunc)([weights]);
    return {
      value: tf.sum(tf.mul(weights, tf.stack(args.slice(0, T) as tf.Tensor[]))) as tf.Scalar,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [w]: tf.Tensor[]) => tf.unstack(tf.mul(dy as tf.Tensor, w)),
    };
  });
  return op(...losses) as tf.Scalar;
}
