import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { UncertaintyBalancer } from '../../../src/balancing/strategies/index.js';
import { MultilossError } from '../../../src/errors.js';
import { allClose, close, combineValues, heads, throwsConfig, useCpu } from './helpers.js';

before(useCpu);

/** ∂total/∂s by autodiff (the variable is what the model's optimizer trains). */
function autodiff(b: UncertaintyBalancer, losses: number[]): number[] {
  return tf.tidy(() => {
    const { grads } = tf.variableGrads(
      () =>
        b.combine(
          losses.map((l) => tf.scalar(l)),
          { epoch: 0, step: 0, rng: undefined as never },
        ).total,
      b.variables(),
    );
    return Array.from(grads[b.variables()[0].name].dataSync());
  });
}

describe('uncertainty', () => {
  it('form matches the head kind: ½e^{−s}L + ½s for regression/count, e^{−s}L + ½s otherwise', () => {
    const kinds = ['regression', 'count', 'classification', 'binary', 'multilabel'];
    const b = new UncertaintyBalancer(heads(kinds));
    assert.deepEqual(b.factors, [0.5, 0.5, 1, 1, 1]);
    const s = [0.2, -0.4, 0.7, 0, -1.1];
    const L = [1.3, 0.2, 2.5, 0.6, 0.05];
    b.setState({ logVariances: s });
    const { total, weights } = combineValues(b, L);
    const w = s.map((si, t) => b.factors[t] * Math.exp(-si));
    allClose(weights, w, 1e-6);
    close(
      total,
      L.reduce((a, l, t) => a + w[t] * l + 0.5 * s[t], 0),
      1e-6,
    );
    b.dispose();
  });

  it('initial weights: 0.5 for regression, 1 for classification; unknown kinds are rejected', () => {
    const b = new UncertaintyBalancer(heads(['regression', 'binary']));
    assert.deepEqual(combineValues(b, [1, 1]).weights, [0.5, 1]);
    assert.deepEqual(b.getState(), { logVariances: [0, 0] });
    b.dispose();
    throwsConfig(() => new UncertaintyBalancer(heads(['ranking'])), /head "h0" of kind "ranking"/);
  });

  it('gradients w.r.t. the log-variances match central finite differences', () => {
    const b = new UncertaintyBalancer(heads(['regression', 'classification', 'count', 'multilabel']));
    const s = [0.3, -0.5, 1.2, -0.1];
    const L = [2.2, 0.7, 0.15, 1.9];
    b.setState({ logVariances: s });
    const analytic = autodiff(b, L);
    const h = 1e-3;
    const numeric = s.map((_, t) => {
      const at = (d: number): number => {
        const shifted = [...s];
        shifted[t] += d;
        b.setState({ logVariances: shifted });
        return combineValues(b, L).total;
      };
      return (at(h) - at(-h)) / (2 * h);
    });
    b.setState({ logVariances: s });
    // Closed form: ∂/∂s (a·e^{−s}·L + s/2) = ½ − a·e^{−s}·L.
    allClose(
      analytic,
      s.map((si, t) => 0.5 - b.factors[t] * Math.exp(-si) * L[t]),
      1e-5,
      'closed form',
    );
    numeric.forEach((n, t) => assert.ok(Math.abs(n - analytic[t]) <= 1e-3 * Math.abs(analytic[t]), `head ${t}: numeric ${n} vs autodiff ${analytic[t]}`));
    b.dispose();
  });

  it('one tape node: ∂(c·total)/∂Lₜ = c·wₜ and ∂(c·total)/∂sₜ = c·(½ − wₜLₜ), as autodiff of the plain formula', () => {
    const b = new UncertaintyBalancer(heads(['regression', 'binary', 'classification']));
    const s = [0.4, -0.8, 1.5];
    const L = [0.9, 2.4, 0.3];
    b.setState({ logVariances: s });
    const c = -2.5; // an upstream gradient other than 1
    const [got, want] = tf.tidy(() => {
      const losses = L.map((l) => tf.scalar(l));
      const factor = tf.tensor1d(b.factors);
      const ctx = { epoch: 0, step: 0, rng: undefined as never };
      const fused = tf.grads((...ls: tf.Tensor[]) => tf.mul(b.combine(ls as tf.Scalar[], ctx).total, c))(losses);
      const plain = tf.grads((...ls: tf.Tensor[]) => {
        const w = tf.mul(factor, tf.exp(tf.neg(b.variables()[0])));
        return tf.mul(tf.add(tf.sum(tf.mul(w, tf.stack(ls))), tf.mul(0.5, tf.sum(b.variables()[0]))), c);
      })(losses);
      const sFused = tf.variableGrads(() => tf.mul(b.combine(losses, ctx).total, c) as tf.Scalar, b.variables()).grads[b.variables()[0].name];
      return [
        [...fused.map((g) => g.dataSync()[0]), ...sFused.dataSync()],
        [...plain.map((g) => g.dataSync()[0]), ...s.map((si, t) => c * (0.5 - b.factors[t] * Math.exp(-si) * L[t]))],
      ];
    });
    allClose(got, want, 1e-5, 'gradients');
    b.dispose();
  });

  it('Adam on the variable finds the optimum: s = log 2L (classification), s = log L (regression)', () => {
    const b = new UncertaintyBalancer(heads(['classification', 'regression']));
    const L = [0.8, 3];
    const losses = L.map((l) => tf.scalar(l));
    const opt = tf.train.adam(0.05);
    for (let i = 0; i < 600; i++) {
      const cost = opt.minimize(() => b.combine(losses, { epoch: 0, step: i, rng: undefined as never }).total, true, b.variables());
      cost?.dispose();
    }
    opt.dispose();
    tf.dispose(losses);
    const s = b.getState().logVariances as number[];
    close(s[0], Math.log(2 * L[0]), 1e-2, 'classification');
    close(s[1], Math.log(L[1]), 1e-2, 'regression');
    // At the optimum the weight is 1/(2L) for both forms.
    allClose(combineValues(b, L).weights, [1 / (2 * L[0]), 1 / (2 * L[1])], 2e-2);
    b.dispose();
  });

  it('exposes its variable, saves and restores it, frees it on dispose', () => {
    const before = tf.memory().numTensors;
    const a = new UncertaintyBalancer(heads(['regression', 'binary']), { initialLogVariance: 0.5 });
    assert.equal(a.variables().length, 1);
    assert.ok(a.variables()[0].trainable);
    allClose(a.getState().logVariances as number[], [0.5, 0.5], 1e-7);
    const b = new UncertaintyBalancer(heads(['regression', 'binary']));
    b.setState(JSON.parse(JSON.stringify({ logVariances: [0.25, -1] })));
    allClose(combineValues(b, [1, 1]).weights, [0.5 * Math.exp(-0.25), Math.exp(1)], 1e-6);
    assert.throws(
      () => b.setState({ logVariances: [1] }),
      (e: unknown) => e instanceof MultilossError && /logVariances/.test(e.message),
    );
    a.dispose();
    b.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('validates its options', () => {
    throwsConfig(() => new UncertaintyBalancer(heads(['binary']), { initialLogVariance: Number.POSITIVE_INFINITY }), /balance\.initialLogVariance/, /finite/);
    throwsConfig(
      () => new UncertaintyBalancer(heads(['binary']), { init: 0 } as never),
      /balance\.init is not an option of balance\.method "uncertainty"/,
      /initialLogVariance/,
    );
  });
});
