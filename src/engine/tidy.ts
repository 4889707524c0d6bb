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

/**
 * Runs `fn` without recording its ops onto an enclosing gradient tape, the
 * way tfjs itself stops recording while a kernel runs (its kernel depth).
 * For backward passes made inside a gradient scope only to reuse its forward
 * tape: recorded, their ops would lengthen the tape every later backward
 * pass filters and keep a copy of every tensor they save.
 */
export function untaped<T>(fn: () => T): T {
  const state = tf.engine().state;
  state.kernelDepth++;
  try {
    return fn();
  } finally {
    state.kernelDepth--;
  }
}
