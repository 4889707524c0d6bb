import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { EqualBalancer, LOSS_BALANCER_NAMES, LOSS_BALANCER_OPTIONS, LOSS_BALANCERS, type LossBalancerName } from '../../../src/balancing/strategies/index.js';
import type { LossBalancer } from '../../../src/balancing/strategy.js';
import { Rng } from '../../../src/util/rng.js';
import { close, combineValues, ctx, heads, quadratics, throwsConfig, param, trainerStep, useCpu } from './helpers.js';

before(useCpu);

const H = heads(['regression', 'classification', 'count']);
const make = (name: LossBalancerName, options: Record<string, unknown> = {}): LossBalancer => LOSS_BALANCERS[name](H, options);
const toy = quadratics([3, 0.5, 0.02], [1, -2, 4]);

/** A few trainer-like steps with every kind of feedback, and two epoch ends. */
function exercise(b: LossBalancer, rng: Rng, steps = 6): void {
  const theta = param([0.2, 0.5, -1]);
  for (let i = 0; i < steps; i++) {
    const r = trainerStep(b, theta, toy, 0.05, ctx(i, Math.floor(i / 3), rng));
    b.afterStep?.({ losses: r.before, lossesAfter: r.after, sharedGradNorms: r.before.map((l, t) => Math.sqrt(l) * (t + 1)) }, ctx(i, Math.floor(i / 3), rng));
    if (i % 3 === 2) b.endEpoch?.(r.after, Math.floor(i / 3));
  }
  theta.dispose();
}

/** Per-method options with a bad value, and the option named in the message. */
const BAD: Record<LossBalancerName, [Record<string, unknown>, RegExp][]> = {
  equal: [],
  uncertainty: [[{ initialLogVariance: Number.NaN }, /balance\.initialLogVariance/]],
  dwa: [[{ temperature: -1 }, /balance\.temperature/]],
  gls: [
    [{ eps: -1 }, /balance\.eps/],
    [{ scale: 2 }, /balance\.scale/],
  ],
  rlw: [],
  famo: [
    [{ lr: '0.1' }, /balance\.lr/],
    [{ weightDecay: -0.1 }, /balance\.weightDecay/],
    [{ minLosses: [0, 0] }, /balance\.minLosses/],
  ],
  gradnorm: [
    [{ alpha: -1 }, /balance\.alpha/],
    [{ lr: 0 }, /balance\.lr/],
    [{ optimizer: 'adamw' }, /balance\.optimizer/],
  ],
  stch: [
    [{ mu: 0 }, /balance\.mu/],
    [{ warmupEpochs: 1.5 }, /balance\.warmupEpochs/],
  ],
  'imtl-l': [[{ initialScale: 'big' }, /balance\.initialScale/]],
  uwso: [[{ temperature: 0 }, /balance\.temperature/]],
  'scale-invariant': [[{ eps: -1 }, /balance\.eps/]],
};

describe('loss balancers: shared contract', () => {
  it('LOSS_BALANCERS and LOSS_BALANCER_OPTIONS cover the same methods', () => {
    assert.deepEqual(LOSS_BALANCER_NAMES, ['equal', 'uncertainty', 'dwa', 'gls', 'rlw', 'famo', 'gradnorm', 'stch', 'imtl-l', 'uwso', 'scale-invariant']);
    assert.deepEqual(Object.keys(LOSS_BALANCER_OPTIONS), LOSS_BALANCER_NAMES);
    for (const name of LOSS_BALANCER_NAMES) {
      const b = make(name);
      assert.equal(b.name, name);
      assert.equal(b.kind, 'loss');
      b.dispose?.();
    }
  });

  it('equal: total = Σ Lₜ, weights all 1', () => {
    const { total, weights } = combineValues(new EqualBalancer(H), [1, 2, 4.5]);
    close(total, 7.5, 1e-7);
    assert.deepEqual(weights, [1, 1, 1]);
  });

  for (const name of LOSS_BALANCER_NAMES) {
    describe(name, () => {
      it('trains inside tf.variableGrads like the trainer: finite totals, T weights, finite gradients', () => {
        const b = make(name);
        const theta = param([0.2, 0.5, -1]);
        for (let i = 0; i < 5; i++) {
          const r = trainerStep(b, theta, toy, 0.05, ctx(i));
          assert.ok(Number.isFinite(r.total), `total ${r.total}`);
          assert.equal(r.weights.length, 3);
          assert.ok(
            r.weights.every((w) => Number.isFinite(w) && w >= 0),
            `weights ${r.weights}`,
          );
          b.afterStep?.({ losses: r.before, lossesAfter: r.after, sharedGradNorms: [1, 2, 3] }, ctx(i));
        }
        assert.ok(Array.from(theta.dataSync()).every(Number.isFinite));
        theta.dispose();
        b.dispose?.();
      });

      it('getState → JSON → setState on a fresh instance gives identical next weights', () => {
        const a = make(name);
        exercise(a, new Rng(4));
        const b = make(name);
        b.setState(JSON.parse(JSON.stringify(a.getState())));
        assert.deepEqual(JSON.parse(JSON.stringify(b.getState())), JSON.parse(JSON.stringify(a.getState())));
        const L = [0.7, 1.3, 0.2];
        assert.deepEqual(combineValues(b, L, ctx(6, 2, new Rng(9))), combineValues(a, L, ctx(6, 2, new Rng(9))));
        // And they keep agreeing after more training from the same point.
        exercise(a, new Rng(5), 3);
        exercise(b, new Rng(5), 3);
        assert.deepEqual(combineValues(b, L, ctx(9, 3, new Rng(9))), combineValues(a, L, ctx(9, 3, new Rng(9))));
        a.dispose?.();
        b.dispose?.();
      });

      it('no tensor leak: 100 combine calls inside tf.tidy, trainer-like steps, dispose', () => {
        const start = tf.memory().numTensors;
        const b = make(name);
        const losses = [0.5, 2, 0.1].map((l) => tf.scalar(l));
        exercise(b, new Rng(1), 3); // warm up (optimizer-free: plain GD in the helper)
        const before = tf.memory().numTensors;
        const rng = new Rng(2);
        for (let i = 0; i < 100; i++) {
          tf.tidy(() => {
            b.combine(losses, ctx(i, 0, rng));
          });
          b.afterStep?.({ losses: [0.5, 2, 0.1], lossesAfter: [0.45, 1.9, 0.1], sharedGradNorms: [1, 1, 1] }, ctx(i, 0, rng));
          if (i % 10 === 9) b.endEpoch?.([0.5 - i / 1000, 2, 0.1], i / 10);
        }
        exercise(b, new Rng(3), 6);
        assert.equal(tf.memory().numTensors, before, 'flat across combine calls and epochs');
        tf.dispose(losses);
        b.dispose?.();
        assert.equal(tf.memory().numTensors, start, 'dispose frees everything');
      });

      it('validates options: unknown keys and bad values, one-line messages naming balance.<option>', () => {
        const valid = LOSS_BALANCER_OPTIONS[name];
        throwsConfig(
          () => make(name, { bogus: 1 }),
          /balance\.bogus is not an option/,
          new RegExp(`"${name}"`),
          valid.length ? new RegExp(`valid options: ${valid.join(', ')}`) : /takes no options/,
        );
        throwsConfig(() => LOSS_BALANCERS[name](H, 'fast' as never), /must be an object/);
        for (const [options, pattern] of BAD[name]) throwsConfig(() => make(name, options), pattern);
        throwsConfig(() => LOSS_BALANCERS[name]([], {}), /at least one head/);
      });

      it('a single head gets weight 1 (gls: its loss; uncertainty: its likelihood factor; Σ log L, STCH: 1/L)', () => {
        const b = LOSS_BALANCERS[name](heads(['binary']), {});
        const { total, weights } = combineValues(b, [0.8]);
        assert.equal(weights.length, 1);
        const logLoss = name === 'scale-invariant' || name === 'stch';
        close(weights[0], logLoss ? 1 / 0.8 : 1, 1e-6);
        close(total, name === 'scale-invariant' ? Math.log(0.8) : logLoss ? 1 : 0.8, 1e-6);
        b.dispose?.();
      });
    });
  }
});
