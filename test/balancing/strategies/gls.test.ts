import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { GlsBalancer } from '../../../src/balancing/strategies/index.js';
import { allClose, close, combineValues, ctx, heads, throwsConfig, useCpu } from './helpers.js';

before(useCpu);

const H = heads(['regression', 'classification', 'count']);

function autodiff(b: GlsBalancer, L: number[]): number[] {
  return tf.tidy(() =>
    tf
      .grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => b.combine([a, c, d] as tf.Scalar[], ctx()).total)(L.map((l) => tf.scalar(l)))
      .map((g) => g.dataSync()[0]),
  );
}

describe('gls', () => {
  it('total is the geometric mean of the losses', () => {
    const b = new GlsBalancer(H);
    close(combineValues(b, [2, 8, 0.5]).total, Math.cbrt(2 * 8 * 0.5), 1e-6);
    close(combineValues(b, [1e-3, 1e3, 5]).total, Math.cbrt(5), 1e-5);
    // Stable where the plain product would underflow in float32.
    close(combineValues(b, [1e-20, 1e-20, 1e-20]).total, 1e-20, 1e-3);
  });

  it('reported weights equal the autodiff ∂total/∂Lₜ = total/(T·Lₜ)', () => {
    for (const scale of ['paper', 'sum'] as const) {
      const b = new GlsBalancer(H, { scale });
      const L = [2, 8, 0.5];
      const { total, weights } = combineValues(b, L);
      allClose(weights, autodiff(b, L), 1e-5, scale);
      allClose(
        weights,
        L.map((l) => total / (3 * l)),
        1e-5,
        scale,
      );
    }
  });

  it("scale: 'paper' is on the mean scale (weights 1/T at equal losses), 'sum' on the sum scale", () => {
    allClose(combineValues(new GlsBalancer(H), [0.4, 0.4, 0.4]).weights, [1 / 3, 1 / 3, 1 / 3], 1e-5);
    const sum = combineValues(new GlsBalancer(H, { scale: 'sum' }), [0.4, 0.4, 0.4]);
    allClose(sum.weights, [1, 1, 1], 1e-5);
    close(sum.total, 1.2, 1e-5);
  });

  it('a zero loss does not give NaN', () => {
    const { total, weights } = combineValues(new GlsBalancer(H), [0, 1, 1]);
    assert.ok(Number.isFinite(total) && weights.every(Number.isFinite));
  });

  it('validates its options', () => {
    throwsConfig(() => new GlsBalancer(H, { eps: 0 }), /balance\.eps/, /in \(0, 1\]/);
    throwsConfig(() => new GlsBalancer(H, { scale: 'mean' as never }), /balance\.scale/, /"paper", "sum"/);
    throwsConfig(() => new GlsBalancer(H, { weights: {} } as never), /balance\.weights is not an option of balance\.method "gls"; valid options: eps, scale/);
  });
});
