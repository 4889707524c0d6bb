import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { EqualBalancer, FamoBalancer } from '../../../src/balancing/strategies/index.js';
import type { LossBalancer } from '../../../src/balancing/strategy.js';
import { allClose, close, combineValues, ctx, heads, throwsConfig, param, trainerStep, useCpu, type ToyLosses } from './helpers.js';

before(useCpu);

const softmax = (x: number[]): number[] => {
  const e = x.map((v) => Math.exp(v - Math.max(...x)));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** L₁ = 100·(1 + u²), L₂ = 0.01·(1 + v²): same shape, scales 10⁴ apart, minimum 100 resp. 0.01. */
const toy: ToyLosses = (theta) => {
  const u = tf.slice(theta, [0], [1]);
  const v = tf.slice(theta, [1], [1]);
  return [tf.mul(100, tf.sum(tf.add(tf.square(u), 1))), tf.mul(0.01, tf.sum(tf.add(tf.square(v), 1)))] as tf.Scalar[];
};

/** Runs `steps` trainer-like steps from θ = (20, 30); returns each head's decrease of log L. */
function run(b: LossBalancer, lr: number, steps: number): number[] {
  const theta = param([20, 30]);
  let first: number[] = [];
  let last: number[] = [];
  for (let i = 0; i < steps; i++) {
    const r = trainerStep(b, theta, toy, lr, ctx(i));
    if (i === 0) first = r.before;
    last = r.after;
    b.afterStep?.({ losses: r.before, lossesAfter: r.after }, ctx(i));
  }
  theta.dispose();
  return first.map((f, t) => Math.log(f) - Math.log(last[t]));
}

describe('famo', () => {
  it('starts with weights T·(1/Lₜ)/Σ(1/Lⱼ) and reports the gradient multipliers, Σw = T', () => {
    const b = new FamoBalancer(heads(['regression', 'binary', 'count']));
    const L = [2, 0.5, 8];
    const inv = L.map((l) => 1 / (l + 1e-8));
    const s = inv.reduce((a, x) => a + x, 0);
    const { total, weights } = combineValues(b, L);
    allClose(
      weights,
      inv.map((x) => (3 * x) / s),
      1e-5,
    );
    close(
      weights.reduce((a, x) => a + x, 0),
      3,
      1e-5,
    );
    close(
      total,
      weights.reduce((a, w, t) => a + w * L[t], 0),
      1e-5,
    );
    // Equal losses and logits: all weights 1, as `equal`.
    allClose(combineValues(b, [0.7, 0.7, 0.7]).weights, [1, 1, 1], 1e-5);
  });

  it("gradient of the total = T × the paper's Σ (zₜ/c)·log(Lₜ − minₜ + ε), c detached", () => {
    const b = new FamoBalancer(heads(['regression', 'regression', 'regression']), { minLosses: { h1: 0.1 } });
    b.setState({ logits: [0.3, -0.2, 0.5], adam: { m: [0, 0, 0], v: [0, 0, 0], t: 0 } });
    const L = [1.5, 0.4, 3];
    const ours = tf.tidy(() =>
      Array.from(
        tf
          .grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => b.combine([a, c, d] as tf.Scalar[], ctx()).total)(L.map((l) => tf.scalar(l)))
          .map((g) => g.dataSync()[0]),
      ),
    );
    const z = softmax([0.3, -0.2, 0.5]);
    const D = [1.5, 0.3, 3];
    const c = z.reduce((a, zt, t) => a + zt / D[t], 0);
    // ∂/∂Lₜ of Σ (zₜ/c)·log Dₜ with c constant is zₜ/(c·Dₜ).
    allClose(
      ours,
      z.map((zt, t) => (3 * zt) / (c * D[t])),
      1e-5,
    );
  });

  it('a head at or below its minimum (e.g. no labels in the batch: loss 0) gets weight 0', () => {
    const b = new FamoBalancer(heads(['regression', 'binary']));
    const { weights } = combineValues(b, [0, 0.8]);
    allClose(weights, [0, 2], 1e-6);
    assert.deepEqual(combineValues(b, [0, 0]).weights, [0, 0]);
    // Its δ is 0: z = (½, ½), δ = (0, log(0.8/0.7)) → Jᵀδ = (−δ₂/4, δ₂/4).
    const d2 = Math.log(0.8 + 1e-8) - Math.log(0.7 + 1e-8);
    allClose(b.logitGradient([0, 0.8], [0, 0.7]), [-d2 / 4, d2 / 4], 1e-12);
  });

  it('ξ update: J_softmax(ξ)ᵀδ followed by Adam with L2 weight decay, checked by hand for two steps', () => {
    const lr = 0.025;
    const wd = 1e-3;
    const b = new FamoBalancer(heads(['regression', 'regression', 'classification']));
    const steps: [number[], number[]][] = [
      [
        [1, 2, 0.5],
        [0.9, 1.95, 0.49],
      ],
      [
        [0.9, 1.9, 0.49],
        [0.85, 1.7, 0.485],
      ],
    ];
    // Hand computation, independent of the implementation.
    const xi = [0, 0, 0];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    steps.forEach(([before, after], k) => {
      const z = softmax(xi);
      const delta = before.map((l, t) => Math.log(l + 1e-8) - Math.log(after[t] + 1e-8));
      // Jacobian of softmax: J[i][j] = zᵢ(1[i=j] − zⱼ); gradient = Jᵀδ.
      const g = xi.map((_, j) => z.reduce((acc, zi, i) => acc + zi * ((i === j ? 1 : 0) - z[j]) * delta[i], 0));
      assert.ok(Math.abs(g.reduce((a, x) => a + x, 0)) < 1e-12, 'softmax gradient sums to 0');
      allClose(b.logitGradient(before, after), g, 1e-12, `gradient ${k}`);
      const n = k + 1;
      for (let j = 0; j < 3; j++) {
        const gj = g[j] + wd * xi[j];
        m[j] = 0.9 * m[j] + 0.1 * gj;
        v[j] = 0.999 * v[j] + 0.001 * gj * gj;
        xi[j] -= (lr * (m[j] / (1 - 0.9 ** n))) / (Math.sqrt(v[j] / (1 - 0.999 ** n)) + 1e-8);
      }
      b.afterStep({ losses: before, lossesAfter: after });
      allClose(b.currentLogits(), xi, 1e-12, `logits after step ${k + 1}`);
    });
    // Head 1 improved least (in log terms) on both steps: its logit rose, the others' fell.
    assert.ok(xi[1] > 0 && xi[0] < 0);
  });

  it('balances the log-loss decrease of two quadratics 10⁴ apart in scale (the FAMO property)', () => {
    // Head 1 starts farther out (30 vs 20), so with fixed logits it descends more slowly in log terms.
    const famo = new FamoBalancer(heads(['regression', 'regression']));
    const [d1, d2] = run(famo, 0.1, 240);
    assert.ok(d1 > 1.5 && d2 > 1.5, `both decreased: ${d1}, ${d2}`);
    assert.ok(Math.max(d1, d2) / Math.min(d1, d2) < 1.4, `balanced: ${d1} vs ${d2}`);
    const xi = famo.currentLogits();
    assert.ok(xi[1] > xi[0], 'the slower head gained weight');
    // Same run with the logits frozen: strongly unbalanced.
    const [f1, f2] = run(new FamoBalancer(heads(['regression', 'regression']), { lr: 1e-12 }), 0.1, 240);
    assert.ok(f1 / f2 > 2.5, `frozen logits: ${f1} vs ${f2}`);
    // Equal weights at a learning rate stable for the large loss: the small one barely moves.
    const [e1, e2] = run(new EqualBalancer(heads(['regression', 'regression'])), 0.004, 240);
    assert.ok(e1 > 5 && e2 < 0.1, `equal: ${e1} vs ${e2}`);
  });

  it('requires the losses after the step', () => {
    const b = new FamoBalancer(heads(['regression', 'binary']));
    assert.deepEqual(b.requires, { lossesAfterStep: true });
    assert.throws(() => b.afterStep({ losses: [1, 2] }), /lossesAfter/);
  });

  it('state round-trips through JSON', () => {
    const a = new FamoBalancer(heads(['regression', 'binary']), { lr: 0.05 });
    a.afterStep({ losses: [1, 2], lossesAfter: [0.5, 1.9] });
    a.afterStep({ losses: [0.6, 1.8], lossesAfter: [0.5, 1.7] });
    const b = new FamoBalancer(heads(['regression', 'binary']), { lr: 0.05 });
    b.setState(JSON.parse(JSON.stringify(a.getState())));
    assert.deepEqual(b.getState(), a.getState());
    a.afterStep({ losses: [0.4, 1.5], lossesAfter: [0.3, 1.45] });
    b.afterStep({ losses: [0.4, 1.5], lossesAfter: [0.3, 1.45] });
    assert.deepEqual(combineValues(b, [0.3, 1.4]), combineValues(a, [0.3, 1.4]));
  });

  it('validates its options', () => {
    const h = heads(['regression', 'binary']);
    throwsConfig(() => new FamoBalancer(h, { lr: 0 }), /balance\.lr \(method "famo"\) must be a finite number in \(0, ∞\)/, /got 0/);
    throwsConfig(() => new FamoBalancer(h, { weightDecay: -1 }), /balance\.weightDecay/, /in \[0, ∞\)/);
    throwsConfig(() => new FamoBalancer(h, { eps: Number.NaN }), /balance\.eps/);
    throwsConfig(() => new FamoBalancer(h, { minLosses: { nope: 1 } }), /balance\.minLosses names head "nope"/, /h0, h1/);
    throwsConfig(() => new FamoBalancer(h, { minLosses: { h0: Infinity } }), /balance\.minLosses\.h0/);
    throwsConfig(() => new FamoBalancer(h, { gamma: 0.01 } as never), /balance\.gamma is not an option/, /lr, weightDecay, minLosses, eps/);
    assert.deepEqual(new FamoBalancer(h, { minLosses: 0.5 }).minLosses, [0.5, 0.5]);
  });
});
