// The defining properties of the loss-based additions: STCH, UW-SO, IMTL-L and the scale-invariant loss.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { ImtlLBalancer, ScaleInvariantBalancer, StchBalancer, UwsoBalancer } from '../../../src/balancing/strategies/index.js';
import type { LossBalancer } from '../../../src/balancing/strategy.js';
import { allClose, close, combineValues, ctx, heads, useCpu } from './helpers.js';

before(useCpu);

const H = heads(['regression', 'classification', 'count']);

/** ∂total/∂Lₜ at these loss values, through the strategy's own tape node. */
function lossGradient(b: LossBalancer, values: number[]): number[] {
  return tf.tidy(() => {
    const losses = values.map((v) => tf.scalar(v));
    const grads = tf.grads((...ls: tf.Tensor[]) => b.combine(ls as tf.Scalar[], ctx()).total)(losses);
    return grads.map((g) => g.dataSync()[0]);
  });
}

describe('scale-invariant (Σ log Lₜ)', () => {
  it('∂total/∂Lₜ = 1/Lₜ, so scaling a head’s loss by c leaves its gradient contribution unchanged', () => {
    const b = new ScaleInvariantBalancer(H);
    const L = [0.5, 2, 40];
    allClose(lossGradient(b, L), L.map((l) => 1 / l), 1e-6);
    // Head 2 in other units (×1000): ∂total/∂θ = Σ (∂L/∂θ)/L is the same.
    const scaled = L.map((l, t) => (t === 2 ? 1000 * l : l));
    allClose(lossGradient(b, scaled).map((g, t) => g * (t === 2 ? 1000 : 1)), lossGradient(b, L), 1e-6);
    close(combineValues(b, L).total, Math.log(0.5) + Math.log(2) + Math.log(40), 1e-5);
  });
});

describe('uwso', () => {
  it('weights T·softmax((1/Lₜ)/τ): the smallest loss weighs most; a large τ tends to equal weights', () => {
    const L = [0.5, 2, 4];
    const b = new UwsoBalancer(H);
    const inv = L.map((l) => Math.exp(1 / l));
    const s = inv.reduce((a, x) => a + x, 0);
    allClose(combineValues(b, L).weights, inv.map((x) => (3 * x) / s), 1e-6);
    allClose(lossGradient(b, L), inv.map((x) => (3 * x) / s), 1e-6, 'the weights are constants of the step');
    allClose(combineValues(new UwsoBalancer(H, { temperature: 1e4 }), L).weights, [1, 1, 1], 1e-3);
  });
});

describe('stch', () => {
  it('warm-up: Σ log L (weights 1/L); the nadir is the mean loss of epoch warmupEpochs', () => {
    const b = new StchBalancer(H, { warmupEpochs: 1 });
    allClose(combineValues(b, [0.5, 2, 4]).weights, [2, 0.5, 0.25], 1e-6);
    b.endEpoch([3, 3, 3], 0);
    assert.equal(b.nadirPoint(), null);
    b.endEpoch([1, 2, 4], 1);
    assert.deepEqual(b.nadirPoint(), [1, 2, 4]);
  });

  it('after warm-up: ∂total/∂Lₜ is the gradient of T·μ·log Σ exp(log(Lₜ/zₜ)/μ) (finite differences), most on the head furthest above its nadir', () => {
    const b = new StchBalancer(H, { warmupEpochs: 0, mu: 0.5 });
    b.endEpoch([1, 2, 4], 0);
    const z = [1, 2, 4];
    const stch = (L: number[]) => 3 * 0.5 * Math.log(L.reduce((a, l, t) => a + Math.exp(Math.log(l / z[t]) / 0.5), 0));
    const L = [0.9, 3, 4.4];
    const numeric = L.map((_, t) => {
      const h = 1e-6;
      const up = L.map((l, k) => (k === t ? l + h : l));
      const down = L.map((l, k) => (k === t ? l - h : l));
      return (stch(up) - stch(down)) / (2 * h);
    });
    allClose(lossGradient(b, L), numeric, 1e-4);
    const w = combineValues(b, L).weights;
    // Head 1 is 1.5× its nadir, the others ≤ 1.1×: relative to its loss, it gets the most.
    assert.ok(w[1] * L[1] > w[0] * L[0] && w[1] * L[1] > w[2] * L[2], `weights ${w}`);
    // The state carries the nadir.
    const c = new StchBalancer(H, { warmupEpochs: 0, mu: 0.5 });
    c.setState(JSON.parse(JSON.stringify(b.getState())));
    allClose(combineValues(c, L).weights, w, 0);
  });
});

describe('imtl-l', () => {
  it('the learned scales drive every scaled loss e^{sₜ}Lₜ to 1 (the minimum of e^{s}L − s), whatever the units', () => {
    const b = new ImtlLBalancer(H);
    const L = [0.02, 1, 300];
    const opt = tf.train.sgd(0.2);
    // (From s = 0 the 300-unit head overshoots to s ≈ −60 and walks back 0.2 a step: 1,000 steps.)
    for (let i = 0; i < 1000; i++) {
      tf.tidy(() => {
        const losses = L.map((l) => tf.scalar(l));
        const { grads } = tf.variableGrads(() => b.combine(losses, ctx()).total, b.variables());
        opt.applyGradients(grads);
      });
    }
    allClose(b.currentWeights().map((w, t) => w * L[t]), [1, 1, 1], 1e-3);
    allClose(b.scales(), L.map((l) => -Math.log(l)), 1e-3);
    opt.dispose();
    b.dispose();
  });

  it('∂total/∂Lₜ = e^{sₜ}, the reported weight', () => {
    const b = new ImtlLBalancer(H, { initialScale: 0.5 });
    allClose(lossGradient(b, [1, 2, 3]), [1, 1, 1].map(() => Math.exp(0.5)), 1e-6);
    allClose(combineValues(b, [1, 2, 3]).weights, [1, 1, 1].map(() => Math.exp(0.5)), 1e-6);
    b.dispose();
  });
});
