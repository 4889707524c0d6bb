// The non-finite policy: a NaN or an infinity in a head's loss or gradient
// either ends training with an error naming the head, epoch and step
// ('error', the default) or drops that step's update ('skip-batch').
import * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import type { Head } from '../model/heads/head.js';

export type NonFinitePolicy = 'error' | 'skip-batch';

/** A non-finite loss or gradient found during a step (before its update when skipping). */
export class NonFiniteStep extends Error {
  constructor(
    readonly head: string,
    readonly what: 'loss' | 'gradient',
    readonly value: number,
  ) {
    super(`head "${head}": ${what} became ${value}`);
  }
}

/** 1-based epoch and step, for messages. */
export function stepPosition(ctx: { epoch: number; step: number }): string {
  return `epoch ${ctx.epoch + 1}, step ${ctx.step + 1}`;
}

/** The error that ends training under the 'error' policy. */
export function nonFiniteError(e: NonFiniteStep, ctx: { epoch: number; step: number }): MultilossError {
  return new MultilossError(
    'training',
    `${e.message} at ${stepPosition(ctx)}; lower the learning rate, set training.clipNorm, or set training.onNonFinite: skip-batch`,
  );
}

/** Throws NonFiniteStep, naming the head, for the first non-finite loss. */
export function checkLosses(heads: readonly Head[], losses: ArrayLike<number>): void {
  for (let h = 0; h < heads.length; h++) if (!Number.isFinite(losses[h])) throw new NonFiniteStep(heads[h].name, 'loss', losses[h]);
}

/** Throws NonFiniteStep, naming the head, when a row of a row-major T×d gradient matrix has a NaN or an infinity. */
export function checkGradientRows(heads: readonly Head[], rows: Float32Array, T: number, d: number): void {
  for (let t = 0; t < T; t++) {
    for (let j = t * d; j < (t + 1) * d; j++) {
      if (!Number.isFinite(rows[j])) throw new NonFiniteStep(heads[t].name, 'gradient', rows[j]);
    }
  }
}

/**
 * With 'skip-batch', checks the losses and the gradient before the update is
 * applied (one extra sync per step; the default policy reads the losses after
 * the step instead, at no cost).
 */
export function checkBeforeUpdate(policy: NonFinitePolicy | undefined, heads: readonly Head[], losses: tf.Scalar[], grads: tf.NamedTensorMap): void {
  if (policy !== 'skip-batch') return;
  const values = tf.tidy(() => tf.concat([tf.stack(losses), tf.reshape(tf.addN(Object.values(grads).map((g) => tf.sum(g))), [1])]).dataSync());
  for (let t = 0; t < losses.length; t++) if (!Number.isFinite(values[t])) throw new NonFiniteStep(heads[t].name, 'loss', values[t]);
  if (!Number.isFinite(values[losses.length])) throw new NonFiniteStep('(all)', 'gradient', values[losses.length]);
}
