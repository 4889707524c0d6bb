import * as tf from '@tensorflow/tfjs-core';
import type { LossFunction } from './loss.js';

/**
 * Binary focal loss (Lin et al. 2017) from logits:
 * −α_t (1 − p_t)^γ log p_t, with log p_t computed as a log-sigmoid for stability.
 * alpha = null disables the class balance term.
 */
export function focal(options: { gamma?: number; alpha?: number | null } = {}): LossFunction {
  const gamma = options.gamma ?? 2;
  const alpha = options.alpha === undefined ? 0.25 : options.alpha;
  return {
    name: 'focal',
    perSample(yTrue, logits) {
      // log p_t = logσ(z) when y = 1, logσ(−z) when y = 0; written as logσ(s·z) with s = 2y − 1.
      const s = tf.sub(tf.mul(yTrue, 2), 1);
      // −softplus(−u) rather than tf.logSigmoid, whose custom gradient reads a tensor
      // that tf.variableGrads has already freed (tfjs-core 4.22).
      const logPt = tf.neg(tf.softplus(tf.neg(tf.mul(s, logits))));
      const modulator = tf.pow(tf.sub(1, tf.exp(logPt)), gamma);
      let perUnit = tf.neg(tf.mul(modulator, logPt));
      if (alpha !== null) {
        const alphaT = tf.add(tf.mul(yTrue, alpha), tf.mul(tf.sub(1, yTrue), 1 - alpha));
        perUnit = tf.mul(alphaT, perUnit);
      }
      return tf.mean(perUnit, 1) as tf.Tensor1D;
    },
  };
}
