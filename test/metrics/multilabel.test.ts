import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MacroF1, MicroF1 } from '../../src/metrics/multilabel.js';
import { close, f32, ones } from './helpers.js';

const Y = f32([1, 0, 1, 0, 1, 0, 1, 1, 0]);
const P = f32([0.9, 0.2, 0.4, 0.1, 0.8, 0.6, 0.7, 0.3, 0.1]);

describe('multilabel metrics', () => {
  it('micro and macro F1 at 0.5', () => {
    const micro = new MicroF1();
    const macro = new MacroF1();
    micro.update(Y, P, ones(3));
    macro.update(Y, P, ones(3));
    close(micro.result(), 2 / 3); // TP3 FP1 FN2
    close(macro.result(), 5 / 9); // 1, 2/3, 0
    assert.equal(micro.name, 'micro_f1');
    assert.equal(macro.name, 'macro_f1');
  });

  it('custom threshold', () => {
    const micro = new MicroF1(0.35);
    const macro = new MacroF1(0.35);
    micro.update(Y, P, ones(3));
    macro.update(Y, P, ones(3));
    close(micro.result(), 0.8);
    close(macro.result(), 7 / 9);
  });

  it('macro ignores labels absent in truth and prediction; weights and masks apply', () => {
    const y4 = f32([1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0]);
    const p4 = f32([0.9, 0.2, 0.4, 0, 0.1, 0.8, 0.6, 0, 0.7, 0.3, 0.1, 0]);
    const macro = new MacroF1();
    macro.update(y4, p4, ones(3));
    close(macro.result(), 5 / 9);
    const micro = new MicroF1();
    micro.update(Y, P, f32([1, 1, 0]), f32([2, 1, 9]));
    // row 0 (w2): label0 TP, label2 FN; row 1 (w1): label1 TP, label2 FP
    close(micro.result(), (2 * 3) / (2 * 3 + 1 + 2));
    assert.ok(Number.isNaN(new MicroF1().result()));
  });
});
