import * as tf from '@tensorflow/tfjs-core';

/**
 * tf.tidy for code that returns plain values (numbers, typed arrays, objects
 * of them): every tensor created inside is released, the value is returned.
 */
export function tidyValue<T>(fn: () => T): T {
  let out: T | undefined;
  tf.tidy(() => {
    out = fn();
  });
  return out as T;
}
