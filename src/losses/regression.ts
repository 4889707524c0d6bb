import * as tf from '@tensorflow/tfjs-core';
import type { LossFunction } from './loss.js';

// Regression losses on standardized targets, averaged over the output units.

/** One tape node: the gradient w.r.t. the prediction is dy·2(p − y)/k (the targets are data). */
export function meanSquaredError(): LossFunction {
  return {
    name: 'mse',
    perSample: (y, p) => {
      const [n, k] = p.shape;
      const op = tf.customGrad((pred, save) => {
        (save as tf.GradSaveFunc)([tf.sub(pred as tf.Tensor2D, y)]);
        return {
          value: tf.mean(tf.squaredDifference(y, pred as tf.Tensor2D), 1) as tf.Tensor1D,
          gradFunc: (dy: tf.Tensor, [diff]: tf.Tensor[]) => tf.mul(tf.reshape(tf.mul(dy, 2 / k), [n, 1]), diff),
        };
      });
      return op(p) as tf.Tensor1D;
    },
  };
}

export function meanAbsoluteError(): LossFunction {
  return {
    name: 'mae',
    perSample: (y, p) => tf.mean(tf.abs(tf.sub(y, p)), 1) as tf.Tensor1D,
  };
}

/** Huber: quadratic within ±delta, linear beyond (delta in standardized units). */
export function huber(options: { delta?: number } = {}): LossFunction {
  const delta = options.delta ?? 1;
  return {
    name: 'huber',
    perSample: (y, p) => {
      const err = tf.abs(tf.sub(y, p));
      const quad = tf.minimum(err, delta);
      const lin = tf.sub(err, quad);
      return tf.mean(tf.add(tf.mul(0.5, tf.square(quad)), tf.mul(delta, lin)), 1) as tf.Tensor1D;
    },
  };
}

/** log(cosh(e)) written as |e| + log1p(e^(−2|e|)) − log 2, which cannot overflow. */
export function logCosh(): LossFunction {
  return {
    name: 'log_cosh',
    perSample: (y, p) => {
      const a = tf.abs(tf.sub(p, y));
      const lc = tf.sub(tf.add(a, tf.log1p(tf.exp(tf.mul(-2, a)))), Math.LN2);
      return tf.mean(lc, 1) as tf.Tensor1D;
    },
  };
}

/** Poisson negative log-likelihood with a log link: e^η − y·η (the log y! term is constant). */
export function poisson(): LossFunction {
  return {
    name: 'poisson',
    perSample: (y, eta) => tf.mean(tf.sub(tf.exp(eta), tf.mul(y, eta)), 1) as tf.Tensor1D,
  };
}
