import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Accuracy, LogLoss, MacroF1 } from '../../src/metrics/classification.js';
import { close, f32, ones } from './helpers.js';

// true classes 0,1,2,1; predicted 0,2,2,0
const Y = f32([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0]);
const P = f32([0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.2, 0.2, 0.6, 0.5, 0.4, 0.1]);

describe('classification metrics', () => {
  it('accuracy: plain, weighted, masked', () => {
    const m = new Accuracy();
    assert.equal(m.name, 'accuracy');
    assert.equal(m.higherIsBetter, true);
    assert.ok(Number.isNaN(m.result()));
    m.update(Y, P, ones(4));
    close(m.result(), 0.5);
    m.reset();
    m.update(Y, P, ones(4), f32([3, 1, 1, 1]));
    close(m.result(), 4 / 6);
    m.reset();
    m.update(Y, P, f32([1, 0, 1, 1]));
    close(m.result(), 2 / 3);
  });

  it('macro F1 averages over classes present in truth or prediction', () => {
    const m = new MacroF1();
    m.update(Y, P, ones(4));
    // class 0: TP1 FP1 → 2/3; class 1: TP0 FN2 → 0; class 2: TP1 FP1 → 2/3
    close(m.result(), 4 / 9);
    // a fourth class that never occurs does not count
    const y4 = f32([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
    const p4 = f32([0.7, 0.2, 0.1, 0, 0.1, 0.3, 0.6, 0, 0.2, 0.2, 0.6, 0, 0.5, 0.4, 0.1, 0]);
    const m4 = new MacroF1();
    m4.update(y4, p4, ones(4));
    close(m4.result(), 4 / 9);
    // weights: row 1 (true 1 → pred 2) weight 2
    const mw = new MacroF1();
    mw.update(Y, P, ones(4), f32([1, 2, 1, 1]));
    // class 0: TP1 FP1 → 2/3; class 1: FN 3 → 0; class 2: TP1 FP2 → 2/4
    close(mw.result(), (2 / 3 + 0 + 0.5) / 3);
    assert.throws(() => mw.update(f32([1, 0]), f32([1, 0]), ones(1)), RangeError, 'class count changes');
  });

  it('log loss with clipping', () => {
    const m = new LogLoss();
    assert.equal(m.higherIsBetter, false);
    m.update(Y, P, ones(4));
    close(m.result(), -(Math.log(0.7) + Math.log(0.3) + Math.log(0.6) + Math.log(0.4)) / 4, 1e-6);
    m.reset();
    m.update(f32([1, 0]), f32([0, 1]), ones(1));
    close(m.result(), -Math.log(1e-7), 1e-9);
    m.reset();
    m.update(Y, P, f32([0, 1, 0, 1]), f32([1, 3, 1, 1]));
    close(m.result(), -(3 * Math.log(0.3) + Math.log(0.4)) / 4, 1e-6);
  });

  it('ignores masked rows even when they hold NaN', () => {
    const m = new Accuracy();
    m.update(f32([NaN, NaN, 0, 1]), f32([NaN, NaN, 0.2, 0.8]), f32([0, 1]));
    close(m.result(), 1);
    const l = new LogLoss();
    l.update(f32([NaN, NaN, 0, 1]), f32([NaN, NaN, 0.5, 0.5]), f32([0, 1]));
    close(l.result(), Math.log(2), 1e-7);
  });
});
