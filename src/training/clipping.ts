// Gradient clipping: every element to ±clipValue, then the global L2 norm to clipNorm.
import * as tf from '@tensorflow/tfjs-core';

export interface ClipOptions {
  /** Rescale the gradient when its global L2 norm exceeds this. */
  clipNorm?: number;
  /** Clip every gradient element to ±clipValue. */
  clipValue?: number;
}

/** Whether `clip` changes gradients (clipNorm or clipValue set). */
export function clips(options: ClipOptions): boolean {
  return !!options.clipNorm || !!options.clipValue;
}

/** The gradients clipped as `options` say (the same map when nothing is set). */
export function clip(grads: tf.NamedTensorMap, options: ClipOptions): tf.NamedTensorMap {
  const { clipNorm, clipValue } = options;
  if (!clips(options)) return grads;
  let out = grads;
  if (clipValue) {
    out = Object.fromEntries(Object.entries(out).map(([k, g]) => [k, tf.clipByValue(g, -clipValue, clipValue)]));
  }
  if (clipNorm) {
    const norm = tf.sqrt(tf.addN(Object.values(out).map((g) => tf.sum(tf.square(g)))));
    const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm));
    out = Object.fromEntries(Object.entries(out).map(([k, g]) => [k, tf.mul(g, scale)]));
  }
  return out;
}
