// What the tensor-path tests of the stateful gradient methods share (dbmtl, excessmtl, moco):
// per-head gradient tensors with their T×d rows, comparisons, and a recording strategy.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { GradientBalancer } from '../../src/balancing/index.js';
import type { TensorBalancer } from '../../src/balancing/gradient-balancer.js';
import { Rng } from '../../src/util/rng.js';

export const HEADS = [1, 2, 3].map((i) => ({ name: `h${i}`, kind: 'regression', weight: 1 }));
export const SHAPES = [[7, 5], [5], [4, 3]];
export const D = SHAPES.reduce((s, shape) => s + shape.reduce((p, n) => p * n, 1), 0);
export const ctx = { epoch: 0, step: 0, rng: new Rng(1) };

/** Head t's gradients, scaled 10^(t−1) apart; head 2 does not reach variable 2 (undefined: zero). */
export function gradients(rng: Rng): { perHead: (tf.Tensor | undefined)[][]; rows: Float32Array } {
  const rows = new Float32Array(3 * D);
  const perHead = [0, 1, 2].map((t) => {
    let offset = t * D;
    return SHAPES.map((shape, i) => {
      const size = shape.reduce((p, n) => p * n, 1);
      if (t === 2 && i === 2) {
        offset += size;
        return undefined;
      }
      const values = Float32Array.from({ length: size }, () => (rng.next() * 2 - 1) * Math.pow(10, t - 1));
      rows.set(values, offset);
      offset += size;
      return tf.tensor(values, shape);
    });
  });
  return { perHead, rows };
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let j = 0; j < expected.length; j++) scale = Math.max(scale, Math.abs(expected[j]));
  for (let j = 0; j < expected.length; j++) {
    assert.ok(Math.abs(actual[j] - expected[j]) <= rel * scale, `${what}[${j}]: ${actual[j]} vs ${expected[j]} (scale ${scale})`);
  }
}

export const flatten = (xs: tf.Tensor[]): Float32Array => Float32Array.from(xs.flatMap((x) => Array.from(x.dataSync())));

/**
 * The strategy as the trainer sees it, recording every step's weights: on the tensor path
 * (`combineTensors`) or, as a plain GradientBalancer, on the rows path (T×d rows to `aggregate`).
 */
export function recording(s: TensorBalancer, tensorPath: boolean, weights: number[][]): GradientBalancer {
  const plain: GradientBalancer = {
    kind: 'gradient',
    name: s.name,
    mode: s.mode,
    combineGradients: (grads, tasks, dim, losses, c) => {
      const out = s.combineGradients(grads, tasks, dim, losses, c);
      weights.push(Array.from(out.weights));
      return out;
    },
    getState: () => s.getState(),
    setState: (state) => s.setState(state),
  };
  if (!tensorPath) return plain;
  const tensor: TensorBalancer = {
    ...plain,
    combineTensors: (perHead, shapes, losses, c) => {
      const out = s.combineTensors(perHead, shapes, losses, c);
      if (out) weights.push(Array.from(out.weights));
      return out;
    },
    releaseTensors: () => s.releaseTensors(),
  };
  return tensor;
}

