import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { binaryCrossentropy, categoricalCrossentropy, meanSquaredError, reduceLoss } from '../../src/losses/index.js';
import type { LossFunction } from '../../src/losses/loss.js';
import { fusedDense, type FusedDenseActivation } from '../../src/model/architectures/stack.js';
import { convBlock, type ConvBlockActivation } from '../../src/model/architectures/conv-block.js';
import { registerNativeKernels, unregisterNativeKernels } from '../../src/engine/native/index.js';
import { Rng } from '../../src/util/rng.js';
import { StaticBalancer } from '../../src/balancing/strategies/static.js';
import { weightedTotal } from '../../src/balancing/strategies/weighted-total.js';
import { useDefaultBackend } from '../helpers.js';

// The ops that run as one tape node with a hand-written backward pass (dense layers, the softmax
// cross-entropy, the masked weighted mean) against tfjs autodiff of the plain op sequence they
// replace, on random shapes: values and every gradient.

function random(rng: Rng, shape: number[], scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale), shape);
}

function assertClose(actual: tf.Tensor, expected: tf.Tensor, what: string, tol = 1e-5): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let scale = 0;
  for (const v of e) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - e[i]) <= tol * Math.max(1, scale), `${what}[${i}]: ${a[i]} vs ${e[i]}`);
  }
}

/**
 * A loss's per-sample values and the gradient of Σ dy·loss w.r.t. its raw output against the
 * same for `reference` (plain tfjs ops) under autodiff.
 */
function assertLossMatches(loss: LossFunction, y: tf.Tensor2D, raw: tf.Tensor2D, reference: (r: tf.Tensor) => tf.Tensor, dy: tf.Tensor, what: string): void {
  assertClose(loss.perSample(y, raw), reference(raw), `${what} value`);
  const got = tf.grad((r: tf.Tensor) => tf.sum(tf.mul(loss.perSample(y, r as tf.Tensor2D), dy)))(raw);
  const want = tf.grad((r: tf.Tensor) => tf.sum(tf.mul(reference(r), dy)))(raw);
  assertClose(got, want, `${what} gradient`);
}

describe('fused ops with their own backward pass', () => {
  before(useDefaultBackend);

  it('fusedDense: value and gradients w.r.t. input, kernel and bias match relu/linear(xW + b) under autodiff', () => {
    const rng = new Rng(11);
    const shapes: [number, number, number][] = [[1, 1, 1], [3, 5, 2], [17, 9, 13], [64, 33, 40], [128, 20, 7]];
    for (const [n, kin, kout] of shapes) {
      for (const activation of ['relu', 'linear'] as FusedDenseActivation[]) {
        tf.tidy(() => {
          const x = random(rng, [n, kin]) as tf.Tensor2D;
          const w = random(rng, [kin, kout]) as tf.Tensor2D;
          const b = random(rng, [kout], 0.5) as tf.Tensor1D;
          const dy = random(rng, [n, kout]);
          const reference = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor): tf.Tensor => {
            const z = tf.add(tf.matMul(xx as tf.Tensor2D, ww as tf.Tensor2D), bb);
            return activation === 'relu' ? tf.relu(z) : z;
          };
          const what = `${activation} ${n}x${kin}x${kout}`;
          assertClose(fusedDense(x, w, b, activation, true), reference(x, w, b), `${what} value outside a tape`);
          const fused = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(fusedDense(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, activation, true), dy)));
          const plain = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(reference(xx, ww, bb), dy)));
          const got = fused([x, w, b]);
          const want = plain([x, w, b]);
          ['x', 'kernel', 'bias'].forEach((name, i) => assertClose(got[i], want[i], `${what} d${name}`));
          // Data input: no gradient w.r.t. x is computed, the parameters' are the same.
          const dataInput = tf.grads((ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(fusedDense(x, ww as tf.Tensor2D, bb as tf.Tensor1D, activation, false), dy)))([w, b]);
          assertClose(dataInput[0], want[1], `${what} dkernel (data input)`);
          assertClose(dataInput[1], want[2], `${what} dbias (data input)`);
          const { value } = tf.valueAndGrads((ww: tf.Tensor) => tf.sum(fusedDense(x, ww as tf.Tensor2D, b, activation, false)))([w]);
          assertClose(value, tf.sum(reference(x, w, b)), `${what} value under a tape`);
        });
      }
    }
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`convBlock on the tfjs path (${backend}${backend === 'wasm' ? ' without the native kernels, as MULTILOSS_NATIVE=0' : ''}: MaxPoolGrad then × step): value and gradients match conv2d + bias + relu/linear + max pool under autodiff`, async () => {
      const previous = tf.getBackend();
      await tf.setBackend(backend);
      if (backend === 'wasm') unregisterNativeKernels();
      try {
        const rng = new Rng(13);
        const cases: [number[], [number, number], 'same' | 'valid', [number, number] | undefined][] = [
          [[2, 9, 7, 1], [1, 1], 'valid', [2, 2]],
          [[1, 8, 8, 3], [2, 2], 'same', [3, 2]],
          [[3, 5, 6, 2], [1, 2], 'same', undefined],
        ];
        for (const [xs, strides, padding, poolSize] of cases) {
          for (const activation of ['relu', 'linear'] as ConvBlockActivation[]) {
            tf.tidy(() => {
              const x = random(rng, xs) as tf.Tensor4D;
              const f = random(rng, [3, 2, xs[3], 5]) as tf.Tensor4D;
              const b = random(rng, [5], 0.5) as tf.Tensor1D;
              const pool = poolSize && { size: poolSize, strides: poolSize, padding: 'valid' as const };
              const reference = (xx: tf.Tensor, ff: tf.Tensor, bb: tf.Tensor): tf.Tensor => {
                const z = tf.add(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, strides, padding), bb);
                const y = (activation === 'relu' ? tf.relu(z) : z) as tf.Tensor4D;
                return pool ? tf.maxPool(y, pool.size, pool.strides, pool.padding) : y;
              };
              const block = (xx: tf.Tensor, ff: tf.Tensor, bb: tf.Tensor): tf.Tensor =>
                convBlock(xx as tf.Tensor4D, ff as tf.Tensor4D, bb as tf.Tensor1D, { strides, padding, activation, pool, inputGradient: true });
              const dy = random(rng, reference(x, f, b).shape);
              const what = `${activation} x[${xs}] stride ${strides} ${padding} pool ${poolSize ?? 'none'}`;
              assertClose(block(x, f, b), reference(x, f, b), `${what} value`);
              const got = tf.grads((xx: tf.Tensor, ff: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(block(xx, ff, bb), dy)))([x, f, b]);
              const want = tf.grads((xx: tf.Tensor, ff: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(reference(xx, ff, bb), dy)))([x, f, b]);
              ['x', 'kernel', 'bias'].forEach((name, i) => assertClose(got[i], want[i], `${what} d${name}`));
            });
          }
        }
      } finally {
        if (backend === 'wasm') registerNativeKernels();
        await tf.setBackend(previous);
      }
    });
  }

  it('fusedDense through variables: tf.variableGrads finds the kernel and bias gradients', () => {
    const rng = new Rng(12);
    tf.tidy(() => {
      const x = random(rng, [9, 6]) as tf.Tensor2D;
      const w = tf.variable(random(rng, [6, 4]));
      const b = tf.variable(random(rng, [4]));
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(fusedDense(x, w as tf.Tensor2D, b as tf.Tensor1D, 'relu', false))) as tf.Scalar, [w, b]);
      const want = tf.grads((ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.add(tf.matMul(x, ww as tf.Tensor2D), bb)))))([w, b]);
      assertClose(grads[w.name], want[0], 'kernel');
      assertClose(grads[b.name], want[1], 'bias');
      w.dispose();
      b.dispose();
    });
  });

  it('softmax cross-entropy: per-sample values and logit gradients match −Σ y·logSoftmax(z), with smoothing, soft and all-zero label rows', () => {
    const rng = new Rng(13);
    for (const [n, k] of [[1, 2], [5, 3], [31, 10], [128, 7]]) {
      for (const eps of [0, 0.2]) {
        tf.tidy(() => {
          const z = random(rng, [n, k], 4) as tf.Tensor2D;
          // One-hot rows, a soft row, and an all-zero row (a missing label).
          const labels = new Float32Array(n * k);
          for (let r = 0; r < n; r++) labels[r * k + Math.floor(rng.next() * k)] = 1;
          if (n > 2) {
            labels.fill(0, 0, k);
            labels.fill(1 / k, k, 2 * k);
          }
          const y = tf.tensor2d(labels, [n, k]);
          const dy = random(rng, [n]);
          const loss = categoricalCrossentropy({ labelSmoothing: eps });
          const target = eps > 0 ? tf.add(tf.mul(y, 1 - eps), eps / k) : y;
          const reference = (zz: tf.Tensor): tf.Tensor => tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(zz as tf.Tensor2D)), 1));
          assertLossMatches(loss, y, z, reference, dy, `${n}x${k} eps ${eps}`);
        });
      }
    }
  });

  it('reduceLoss: the masked weighted mean and its gradient dy·w/Σw; an all-zero weight batch gives 0 and a zero gradient', () => {
    const rng = new Rng(14);
    for (const n of [1, 4, 33]) {
      tf.tidy(() => {
        const losses = random(rng, [n], 3) as tf.Tensor1D;
        const w = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 0 : rng.next() * 2)));
        const reference = (l: tf.Tensor): tf.Tensor => tf.div(tf.sum(tf.mul(l, w)), tf.sum(w));
        assertClose(reduceLoss(losses, w), reference(losses), `n ${n} value`);
        const got = tf.grad((l: tf.Tensor) => tf.mul(reduceLoss(l as tf.Tensor1D, w), 2.5))(losses);
        const want = tf.grad((l: tf.Tensor) => tf.mul(reference(l), 2.5))(losses);
        assertClose(got, want, `n ${n} gradient`);
        const zero = tf.zeros([n]) as tf.Tensor1D;
        assert.equal(reduceLoss(losses, zero).dataSync()[0], 0);
        const g0 = tf.grad((l: tf.Tensor) => reduceLoss(l as tf.Tensor1D, zero))(losses).dataSync();
        assert.ok(g0.every((v) => v === 0), `n ${n}: gradient of an all-missing batch is 0`);
      });
    }
  });
});

describe('mean squared error with its own backward pass', () => {
  before(useDefaultBackend);

  it('per-sample values and prediction gradients match mean((y − p)²) under autodiff', () => {
    const rng = new Rng(15);
    for (const [n, k] of [[1, 1], [7, 1], [33, 4], [128, 3]]) {
      tf.tidy(() => {
        const y = random(rng, [n, k], 2) as tf.Tensor2D;
        const p = random(rng, [n, k], 2) as tf.Tensor2D;
        const dy = random(rng, [n]);
        const loss = meanSquaredError();
        const reference = (pp: tf.Tensor): tf.Tensor => tf.mean(tf.square(tf.sub(y, pp)), 1);
        assertLossMatches(loss, y, p, reference, dy, `${n}x${k}`);
      });
    }
  });
});

describe('binary cross-entropy with its own backward pass', () => {
  before(useDefaultBackend);

  it('per-sample values and logit gradients match the stable max(z,0) − z·y + log1p(e^−|z|) under autodiff, with smoothing, soft labels and large logits', () => {
    const rng = new Rng(17);
    for (const [n, k] of [[1, 1], [9, 1], [33, 5], [128, 1]]) {
      for (const eps of [0, 0.1]) {
        tf.tidy(() => {
          // Logits up to ±30 (saturated sigmoid), never exactly 0 (where the stable form's relu and abs have no derivative).
          const z = tf.add(random(rng, [n, k], 30), 1e-3) as tf.Tensor2D;
          const labels = Float32Array.from({ length: n * k }, (_, i) => (i % 7 === 3 ? 0.3 : rng.next() < 0.5 ? 1 : 0));
          const y = tf.tensor2d(labels, [n, k]);
          const dy = random(rng, [n]);
          const loss = binaryCrossentropy({ labelSmoothing: eps });
          const target = eps > 0 ? tf.add(tf.mul(y, 1 - eps), eps / 2) : y;
          const reference = (zz: tf.Tensor): tf.Tensor =>
            tf.mean(tf.add(tf.sub(tf.relu(zz), tf.mul(zz, target)), tf.log1p(tf.exp(tf.neg(tf.abs(zz))))), 1);
          assertLossMatches(loss, y, z, reference, dy, `${n}x${k} eps ${eps}`);
        });
      }
    }
  });

  it('the gradient at z = 0 is (½ − y)/units, the derivative of the loss', () => {
    const loss = binaryCrossentropy();
    const g = tf.tidy(() => tf.grad((zz: tf.Tensor) => tf.sum(loss.perSample(tf.tensor2d([[1, 0]]), zz as tf.Tensor2D)))(tf.zeros([1, 2])).arraySync());
    assert.deepEqual(g, [[-0.25, 0.25]]);
  });
});

describe('loss weighting with its own backward pass (weightedTotal: static, equal, dwa, rlw, gradnorm)', () => {
  before(useDefaultBackend);

  it('static: total = Σ wₜLₜ and ∂total/∂Lₜ = wₜ, as autodiff of the weighted sum', () => {
    const weights = [0.5, 2, 0, 1.25];
    const balancer = new StaticBalancer(weights.map((weight, t) => ({ name: `h${t}`, kind: 'regression', weight })));
    tf.tidy(() => {
      const losses = [1.5, -0.25, 3, 0.75].map((v) => tf.scalar(v));
      const f = (...ls: tf.Tensor[]) => tf.mul(balancer.combine(ls as tf.Scalar[]).total, 3);
      const got = tf.grads(f)(losses);
      const want = tf.grads((...ls: tf.Tensor[]) => tf.mul(tf.sum(tf.mul(tf.stack(ls), tf.tensor1d(weights))), 3))(losses);
      got.forEach((g, t) => assertClose(g, want[t], `dL${t}`));
      assertClose(balancer.combine(losses).total, tf.scalar(1.5 * 0.5 - 0.25 * 2 + 0 + 0.75 * 1.25), 'total');
    });
    balancer.dispose();
  });

  it('weightedTotal with weights made inside the taped function (as dwa, rlw and gradnorm make them each step)', () => {
    tf.tidy(() => {
      const losses = [2, 0.5, -1].map((v) => tf.scalar(v));
      const w = [0.3, 1.7, 2.2];
      const got = tf.grads((...ls: tf.Tensor[]) => weightedTotal(ls as tf.Scalar[], tf.tensor1d(w)))(losses);
      got.forEach((g, t) => assertClose(g, tf.scalar(w[t]), `dL${t}`));
    });
  });
});
