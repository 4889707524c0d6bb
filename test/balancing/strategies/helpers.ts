import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Registers the gradient functions, as in the app (tfjs-core alone has none).
import '@tensorflow/tfjs-layers';
import { MultilossError } from '../../../src/errors.js';
import type { BalancedHead, LossBalancer, StepContext } from '../../../src/balancing/strategy.js';
import { Rng } from '../../../src/util/rng.js';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

export function heads(kinds: string[]): BalancedHead[] {
  return kinds.map((kind, i) => ({ name: `h${i}`, kind, weight: 1 }));
}

export function ctx(step = 0, epoch = 0, rng: Rng = new Rng(1)): StepContext {
  return { epoch, step, rng };
}

/** Runs combine on constant losses outside any tape; returns plain numbers and frees everything. */
export function combineValues(b: LossBalancer, losses: number[], c: StepContext = ctx()): { total: number; weights: number[] } {
  return tf.tidy(() => {
    const { total, weights } = b.combine(
      losses.map((l) => tf.scalar(l)),
      c,
    );
    return { total: total.dataSync()[0], weights: Array.from(weights.dataSync()) };
  });
}

/** Asserts a one-line MultilossError('config') whose message matches every pattern. */
export function throwsConfig(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MultilossError, `expected MultilossError, got ${String(e)}`);
    assert.equal(e.kind, 'config');
    assert.ok(!e.message.includes('\n'), 'one line');
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

export function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what} expected ${expected}, got ${actual} (tol ${tol})`);
}

export function allClose(actual: readonly number[], expected: readonly number[], tol: number, what = ''): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  actual.forEach((a, i) => close(a, expected[i], tol, `${what}[${i}]`));
}

/** A trainable 1-D variable (the initial tensor is freed). */
export function param(values: number[]): tf.Variable {
  const initial = tf.tensor1d(values);
  const v = tf.variable(initial);
  initial.dispose();
  return v;
}

/** Losses of a parameter vector θ, as tf scalars. */
export type ToyLosses = (theta: tf.Variable) => tf.Scalar[];

/** Lₜ = scaleₜ·(θₜ − targetₜ)²: one coordinate of θ per loss. */
export function quadratics(scales: number[], targets: number[]): ToyLosses {
  return (theta) => scales.map((s, t) => tf.mul(s, tf.sum(tf.square(tf.sub(tf.slice(theta, [t], [1]), targets[t])))) as tf.Scalar);
}

/**
 * One trainer-like step: the losses of θ combined inside tf.variableGrads (no
 * tidy in combine), the gradient applied by plain gradient descent to θ and
 * the strategy's own variables, everything in an outer tidy as the trainer
 * does. Returns the losses before and after the step, the weights and the total.
 */
export function trainerStep(
  b: LossBalancer,
  theta: tf.Variable,
  lossesOf: ToyLosses,
  lr: number,
  c: StepContext,
): { before: number[]; after: number[]; weights: number[]; total: number } {
  let kept: tf.Tensor[] = [];
  const vars = [theta, ...b.variables()];
  const packed = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const losses = lossesOf(theta);
      const { total, weights } = b.combine(losses, c);
      kept = [tf.stack(losses), weights].map((x) => tf.keep(x));
      return total;
    }, vars);
    for (const v of vars) v.assign(tf.sub(v, tf.mul(lr, grads[v.name])));
    return tf.concat([tf.reshape(value, [1]), ...kept.map((x) => tf.reshape(x, [-1]))]);
  });
  for (const k of kept) k.dispose();
  const stats = Array.from(packed.dataSync());
  packed.dispose();
  const T = (stats.length - 1) / 2;
  const after = tf.tidy(() => Array.from(tf.stack(lossesOf(theta)).dataSync()));
  return { total: stats[0], before: stats.slice(1, 1 + T), weights: stats.slice(1 + T, 1 + 2 * T), after };
}
