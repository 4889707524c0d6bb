import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { binaryCrossentropy, categoricalCrossentropy, createLoss, focal, huber, logCosh, meanAbsoluteError, meanSquaredError, poisson, reduceLoss } from '../../src/losses/index.js';
import type { LossFunction } from '../../src/losses/loss.js';
import { useDefaultBackend } from '../helpers.js';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
function values(loss: LossFunction, y: number[][], raw: number[][]): number[] {
  return tf.tidy(() => Array.from(loss.perSample(tf.tensor2d(y), tf.tensor2d(raw)).dataSync()));
}
function close(actual: number[], expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `[${i}] ${a} vs ${expected[i]}`));
}

// Per-sample losses against hand-computed values; all take raw (pre-activation) outputs.
describe('losses', () => {
  before(useDefaultBackend);

  it('softmax cross-entropy, with and without label smoothing', () => {
    const z = [[2, 0, -1]];
    const lse = Math.log(Math.exp(2) + 1 + Math.exp(-1));
    close(values(categoricalCrossentropy(), [[0, 1, 0]], z), [lse - 0]);
    const eps = 0.3;
    const t = [eps / 3, 1 - eps + eps / 3, eps / 3];
    close(values(categoricalCrossentropy({ labelSmoothing: eps }), [[0, 1, 0]], z), [-(t[0] * (2 - lse) + t[1] * (0 - lse) + t[2] * (-1 - lse))]);
  });

  it('sigmoid cross-entropy is stable for large logits', () => {
    close(values(binaryCrossentropy(), [[1], [0], [1], [0]], [[0.5], [0.5], [80], [-80]]), [-Math.log(sigmoid(0.5)), -Math.log(1 - sigmoid(0.5)), 0, 0]);
    const big = values(binaryCrossentropy(), [[0]], [[80]]);
    close(big, [80]);
  });

  it('focal loss reduces to cross-entropy with γ = 0 and no α, and down-weights easy examples', () => {
    const y = [[1], [0], [1]];
    const z = [[0.3], [-2], [4]];
    close(values(focal({ gamma: 0, alpha: null }), y, z), values(binaryCrossentropy(), y, z));
    const p = sigmoid(0.3);
    close(values(focal({ gamma: 2, alpha: 0.25 }), [[1]], [[0.3]]), [-0.25 * (1 - p) ** 2 * Math.log(p)]);
    const easy = values(focal(), [[1]], [[4]])[0] / values(binaryCrossentropy(), [[1]], [[4]])[0];
    const hard = values(focal(), [[1]], [[-1]])[0] / values(binaryCrossentropy(), [[1]], [[-1]])[0];
    assert.ok(easy < hard);
  });

  it('regression losses', () => {
    const y = [[1], [0], [-2]];
    const p = [[3], [0.5], [-2]];
    close(values(meanSquaredError(), y, p), [4, 0.25, 0]);
    close(values(meanAbsoluteError(), y, p), [2, 0.5, 0]);
    close(values(huber({ delta: 1 }), y, p), [1.5, 0.125, 0]);
    close(values(logCosh(), y, p), [Math.log(Math.cosh(2)), Math.log(Math.cosh(0.5)), 0]);
    close(values(logCosh(), [[0]], [[500]]), [500 - Math.LN2], 1e-4);
  });

  it('Poisson with log link: e^η − y·η', () => {
    close(values(poisson(), [[3], [0]], [[Math.log(2)], [1]]), [2 - 3 * Math.log(2), Math.E]);
  });

  it('reduceLoss is the weighted mean over labelled rows, and 0 without labels', () => {
    const r = tf.tidy(() => [
      reduceLoss(tf.tensor1d([1, 2, 100]), tf.tensor1d([1, 3, 0])).dataSync()[0],
      reduceLoss(tf.tensor1d([5, 7]), tf.tensor1d([0, 0])).dataSync()[0],
    ]);
    close(r, [(1 + 6) / 4, 0]);
  });

  it('createLoss rejects a loss the head kind does not accept and lists the valid ones', () => {
    assert.throws(() => createLoss('poisson', ['mse', 'mae'], {}, 'head "y"'), /head "y": unknown loss "poisson"; valid losses for this head kind: mse, mae/);
  });
});
