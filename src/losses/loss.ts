import * as tf from '@tensorflow/tfjs-core';

/**
 * A loss computed per sample from a head's raw (pre-activation) output.
 *
 * Losses take the raw output (logits, log-rate, standardized value) rather than
 * the activated one so that softmax/sigmoid/exp are folded into the loss in a
 * numerically stable form. Masking, weighting and reduction are applied by
 * `reduceLoss`, so a loss never has to handle missing labels.
 *
 * Losses run inside the gradient tape: they must not wrap their work in
 * tf.tidy, because ops such as logSigmoid keep their inputs for the backward
 * pass and a tidy would free them first. The trainer's tidy cleans up.
 */
export interface LossFunction {
  readonly name: string;
  /** yTrue and raw are n×units; returns the n per-sample losses. */
  perSample(yTrue: tf.Tensor2D, raw: tf.Tensor2D): tf.Tensor1D;
}

/**
 * Weighted mean of per-sample losses over the rows whose weight is non-zero.
 * `weight` already carries the label mask (0 where the label is missing), the
 * class weight and the sample weight. A batch with no labelled row gives
 * exactly 0, never NaN, and no gradient: the denominator is Σw, or 1 when
 * Σw = 0 (the weights are constants, so this adds nothing to the tape;
 * tf.divNoNan would, and its Equal op has no gradient).
 */
export function reduceLoss(perSample: tf.Tensor1D, weight: tf.Tensor1D): tf.Scalar {
  // One tape node: the gradient w.r.t. the per-sample losses is dy·w/Σw, one
  // op, instead of the backward passes of the five ops (and their saved
  // tensors). The weights are data: no gradient w.r.t. them.
  const op = tf.customGrad((losses, save) => {
    const den = tf.sum(weight);
    const safeDen = tf.add(den, tf.cast(tf.equal(den, 0), 'float32'));
    const value = tf.div(tf.sum(tf.mul(losses as tf.Tensor1D, weight)), safeDen) as tf.Scalar;
    (save as tf.GradSaveFunc)([tf.div(weight, safeDen)]);
    return { value, gradFunc: (dy: tf.Tensor, [scaled]: tf.Tensor[]) => tf.mul(dy, scaled) };
  });
  return op(perSample) as tf.Scalar;
}
