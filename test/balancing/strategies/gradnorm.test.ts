import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GradNormBalancer } from '../../../src/balancing/strategies/index.js';
import { allClose, close, combineValues, heads, throwsConfig, useCpu } from './helpers.js';

before(useCpu);

const H = heads(['regression', 'classification', 'binary']);
const sum = (w: number[]): number => w.reduce((a, x) => a + x, 0);

describe('gradnorm', () => {
  it('starts at w = 1 and combines Σ wₜLₜ with w constant', () => {
    const b = new GradNormBalancer(H);
    assert.deepEqual(combineValues(b, [1, 2, 3]), { total: 6, weights: [1, 1, 1] });
    assert.deepEqual(b.requires, { sharedGradNorms: true });
  });

  it('∂L_grad/∂w = sign(wₜnₜ − Ḡ·rₜ^α)·nₜ, by hand', () => {
    const b = new GradNormBalancer(H);
    // Step 0 sets L(0) = the losses; all ratios 1, so the target is Ḡ for everyone.
    // n = (1, 2, 6): G = (1, 2, 6), Ḡ = 3 → signs (−, −, +).
    assert.deepEqual(b.weightGradient([2, 1, 4], [1, 2, 6]), [-1, -2, 6]);
    // Later: L/L(0) = (0.5, 1, 0.5) → r = (0.75, 1.5, 0.75); with n = (2, 2, 2), w = 1: G = 2 = Ḡ,
    // target = 2·r^1.5 = (1.299, 3.674, 1.299) → signs (+, −, +).
    assert.deepEqual(b.weightGradient([1, 1, 2], [2, 2, 2]), [2, -2, 2]);
  });

  it('one update moves w towards the slower head; Σw stays T, w > 0', () => {
    const b = new GradNormBalancer(H);
    b.afterStep({ losses: [2, 1, 4], sharedGradNorms: [1, 1, 1] }); // records L(0); G equal to the target: no move
    allClose(b.currentWeights(), [1, 1, 1], 1e-12);
    // Head 1 has not improved while the others halved: r₁ > 1, its gradient is too small → w₁ grows.
    b.afterStep({ losses: [1, 1, 2], sharedGradNorms: [1, 1, 1] });
    const w = b.currentWeights();
    assert.ok(w[1] > 1 && w[0] < 1 && w[2] < 1, `w = ${w}`);
    close(w[0], w[2], 1e-12);
    close(sum(w), 3, 1e-12);
    // Adam's second step (the first had a zero gradient) moves each weight by
    // Δ = lr·m̂/√v̂ = 0.025·(0.1/(1 − 0.9²))/√(0.001/(1 − 0.999²)); then Σw is renormalised to 3.
    const delta = (0.025 * (0.1 / (1 - 0.9 ** 2))) / Math.sqrt(0.001 / (1 - 0.999 ** 2));
    allClose(
      w,
      [1 - delta, 1 + delta, 1 - delta].map((x) => (3 * x) / (3 - delta)),
      1e-9,
    );
  });

  it('a head with too large a gradient loses weight (α = 0: equal gradient norms)', () => {
    const b = new GradNormBalancer(H, { alpha: 0, optimizer: 'sgd', lr: 0.1 });
    b.afterStep({ losses: [1, 1, 1], sharedGradNorms: [4, 1, 1] });
    const w = b.currentWeights();
    // SGD: w − 0.1·(+4, −1, −1) = (0.6, 1.1, 1.1), sum 2.8 → ×3/2.8.
    allClose(
      w,
      [0.6, 1.1, 1.1].map((x) => (x * 3) / 2.8),
      1e-12,
    );
  });

  it('weights stay positive under large steps and Σw = T', () => {
    const b = new GradNormBalancer(H, { optimizer: 'sgd', lr: 10 });
    b.afterStep({ losses: [1, 1, 1], sharedGradNorms: [5, 1, 1] });
    for (let i = 0; i < 20; i++) {
      b.afterStep({ losses: [0.9, 1, 1], sharedGradNorms: [5, 1, 1] });
      const w = b.currentWeights();
      assert.ok(
        w.every((x) => x > 0),
        `w = ${w}`,
      );
      close(sum(w), 3, 1e-12);
    }
  });

  it('heads with no gradient this step (no labels in the batch) are left alone', () => {
    const b = new GradNormBalancer(H, { optimizer: 'sgd', lr: 0.1 });
    assert.deepEqual(b.weightGradient([0, 1, 1], [0, 1, 3]), [0, -1, 3]);
  });

  it('needs the shared gradient norms', () => {
    assert.throws(() => new GradNormBalancer(H).afterStep({ losses: [1, 1, 1] }), /sharedGradNorms/);
  });

  it('state round-trips through JSON', () => {
    const a = new GradNormBalancer(H);
    a.afterStep({ losses: [2, 1, 4], sharedGradNorms: [1, 2, 3] });
    a.afterStep({ losses: [1.5, 1, 3], sharedGradNorms: [1, 2, 2] });
    const b = new GradNormBalancer(H);
    b.setState(JSON.parse(JSON.stringify(a.getState())));
    assert.deepEqual(b.getState(), a.getState());
    a.afterStep({ losses: [1, 0.9, 2], sharedGradNorms: [1, 1, 2] });
    b.afterStep({ losses: [1, 0.9, 2], sharedGradNorms: [1, 1, 2] });
    assert.deepEqual(combineValues(b, [1, 2, 3]), combineValues(a, [1, 2, 3]));
    assert.throws(() => b.setState({ weights: [0, 0, 0], initialLosses: [1, 1, 1], adam: { m: [0, 0, 0], v: [0, 0, 0], t: 0 } }), /all 0/);
  });

  it('validates its options', () => {
    throwsConfig(() => new GradNormBalancer(H, { alpha: -0.5 }), /balance\.alpha/, /in \[0, ∞\)/, /got -0.5/);
    throwsConfig(() => new GradNormBalancer(H, { lr: -1 }), /balance\.lr/, /in \(0, ∞\)/);
    throwsConfig(() => new GradNormBalancer(H, { optimizer: 'rmsprop' as never }), /balance\.optimizer/, /"adam", "sgd"/);
    throwsConfig(() => new GradNormBalancer(H, { beta: 1 } as never), /balance\.beta is not an option/, /alpha, lr, optimizer/);
  });
});
