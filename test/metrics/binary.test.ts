import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BinaryAccuracy, BinaryF1, RocAuc } from '../../src/metrics/binary.js';
import { close, f32, ones } from './helpers.js';

const Y = f32([1, 0, 1, 0, 1]);
const P = f32([0.9, 0.4, 0.4, 0.2, 0.6]);

describe('binary metrics', () => {
  it('accuracy and F1 at the default and a custom threshold', () => {
    const acc = new BinaryAccuracy();
    const f = new BinaryF1();
    acc.update(Y, P, ones(5));
    f.update(Y, P, ones(5));
    close(acc.result(), 4 / 5);
    close(f.result(), 0.8); // TP2 FP0 FN1
    const acc3 = new BinaryAccuracy(0.3);
    const f3 = new BinaryF1(0.3);
    acc3.update(Y, P, ones(5));
    f3.update(Y, P, ones(5));
    close(acc3.result(), 4 / 5);
    close(f3.result(), 6 / 7); // TP3 FP1 FN0
    assert.equal(acc.name, 'accuracy');
    assert.equal(f.name, 'f1');
  });

  it('weights and masks', () => {
    const acc = new BinaryAccuracy();
    acc.update(Y, P, f32([1, 1, 1, 1, 0]), f32([1, 1, 3, 1, 5]));
    close(acc.result(), 3 / 6);
    const f = new BinaryF1();
    f.update(Y, P, ones(5), f32([1, 1, 3, 1, 1]));
    close(f.result(), 4 / 7); // TP 2, FN 3
    assert.ok(Number.isNaN(new BinaryF1().result()));
    const none = new BinaryF1();
    none.update(f32([0, 0]), f32([0.1, 0.2]), ones(2));
    assert.ok(Number.isNaN(none.result()), 'no positive anywhere: F1 is 0/0');
  });

  it('ROC AUC is exact with ties (average rank)', () => {
    const auc = new RocAuc();
    auc.update(Y, P, ones(5));
    close(auc.result(), 5.5 / 6);
    auc.reset();
    auc.update(Y, P, ones(5), f32([1, 1, 1, 2, 1]));
    close(auc.result(), 8.5 / 9);
    auc.reset();
    auc.update(f32([1, 0, 1, 0]), f32([0.5, 0.5, 0.5, 0.5]), ones(4));
    close(auc.result(), 0.5);
    auc.reset();
    auc.update(f32([0, 1]), f32([0.9, 0.1]), ones(2));
    close(auc.result(), 0);
  });

  it('ROC AUC is NaN with one class, masked rows ignored', () => {
    const auc = new RocAuc();
    auc.update(f32([1, 1, 0]), f32([0.2, 0.3, 0.9]), f32([1, 1, 0]));
    assert.ok(Number.isNaN(auc.result()));
    auc.update(f32([0]), f32([0.25]), ones(1));
    close(auc.result(), 0.5);
    assert.ok(Number.isNaN(new RocAuc().result()));
  });

  it('ROC AUC keeps growing past its initial buffer', () => {
    const n = 5000;
    const y = new Float32Array(n);
    const p = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 2;
      p[i] = i % 2 === 1 ? 0.75 : 0.25;
    }
    const auc = new RocAuc();
    auc.update(y.subarray(0, 1000), p.subarray(0, 1000), ones(1000));
    auc.update(y.subarray(1000), p.subarray(1000), ones(n - 1000));
    close(auc.result(), 1);
  });

  it('ROC AUC equals the pairwise count exactly, with ties, weights that start mid-stream and batches of any size', () => {
    // Scores on a coarse grid (many ties), negative zero beside zero, weights from the third batch on.
    let state = 7;
    const rand = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const n = 3000;
    const y = new Float32Array(n);
    const p = new Float32Array(n);
    const w = new Float32Array(n).fill(1);
    const mask = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = rand() < 0.4 ? 1 : 0;
      p[i] = i % 50 === 0 ? -0 : Math.round((y[i] ? 0.55 : 0.45) * 20 + (rand() - 0.5) * 12) / 20;
      mask[i] = i % 13 === 0 ? 0 : 1;
      if (i >= 1000) w[i] = [1, 0.5, 2.25, 3][i % 4];
    }
    let area = 0;
    let pw = 0;
    let nw = 0;
    for (let a = 0; a < n; a++) {
      if (!mask[a] || !y[a]) continue;
      pw += w[a];
      for (let b = 0; b < n; b++) {
        if (!mask[b] || y[b]) continue;
        area += w[a] * w[b] * (p[a] > p[b] ? 1 : p[a] === p[b] ? 0.5 : 0);
      }
    }
    for (let b = 0; b < n; b++) if (mask[b] && !y[b]) nw += w[b];
    const auc = new RocAuc();
    for (const [start, end] of [[0, 1], [1, 700], [700, 1000], [1000, 2999], [2999, 3000]]) {
      auc.update(y.subarray(start, end), p.subarray(start, end), mask.subarray(start, end), start >= 1000 ? w.subarray(start, end) : undefined);
    }
    close(auc.result(), area / (pw * nw), 1e-12);
    // result() may be read mid-stream and the stream go on.
    auc.update(f32([1]), f32([2]), ones(1));
    close(auc.result(), (area + nw) / ((pw + 1) * nw), 1e-12);
  });

  it('ROC AUC keeps 4 bytes a row for unweighted rows', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // V8 frees array buffers' memory on a background thread after a collection: on a busy machine
    // one gc() and an immediate read still counts garbage (CI once saw 12 MB). Read until settled.
    const settledArrayBuffers = async (): Promise<number> => {
      let last = Infinity;
      for (let i = 0; i < 50; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
        const now = process.memoryUsage().arrayBuffers;
        if (now >= last) return now;
        last = now;
      }
      return last;
    };
    const n = 1_000_000;
    const y = new Float32Array(n).map((_, i) => i % 2);
    const p = new Float32Array(n).map((_, i) => (i % 1000) / 1000);
    const before = await settledArrayBuffers();
    const auc = new RocAuc();
    for (let start = 0; start < n; start += 10_000) auc.update(y.subarray(start, start + 10_000), p.subarray(start, start + 10_000), ones(10_000));
    const held = (await settledArrayBuffers()) - before;
    // Two classes of 500,000 rows in buffers of 2^19 floats: 4 MiB (17 bytes a row before: 17 MB).
    assert.ok(held < 5 * 2 ** 20, `held ${held} bytes`);
    assert.ok(auc.result() > 0.45 && auc.result() < 0.55);
  });

  it('ROC AUC past exactRows goes on in fixed bins: memory stays flat and the area stays within 1e-4 of the exact one', () => {
    // Overlapping classes with continuous scores (a seeded LCG), weights and a masked row per 97.
    let state = 12345;
    const rand = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const n = 60_000;
    const y = new Float32Array(n);
    const p = new Float32Array(n);
    const w = new Float32Array(n);
    const mask = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = rand() < 0.3 ? 1 : 0;
      p[i] = Math.min(1, Math.max(0, (y[i] ? 0.6 : 0.4) + (rand() - 0.5) * 0.8));
      w[i] = 0.5 + rand();
      mask[i] = i % 97 === 0 ? 0 : 1;
    }
    const exact = new RocAuc('auc', { exactRows: n });
    const binned = new RocAuc('auc', { exactRows: 10_000, bins: 4096 });
    for (let start = 0; start < n; start += 7_000) {
      const end = Math.min(n, start + 7_000);
      for (const m of [exact, binned]) m.update(y.subarray(start, end), p.subarray(start, end), mask.subarray(start, end), w.subarray(start, end));
      if (end > 10_000) assert.ok(binned.binned, 'switched to bins once past exactRows');
    }
    assert.ok(!exact.binned);
    const a = exact.result();
    assert.ok(a > 0.6 && a < 0.9, `a plausible area: ${a}`);
    assert.ok(Math.abs(binned.result() - a) < 1e-4, `binned ${binned.result()} vs exact ${a}`);
    // Ties in one bin count one half, as exact ties do; reset goes back to the exact mode.
    binned.reset();
    assert.ok(!binned.binned);
    binned.update(f32([1, 0, 1, 0]), f32([0.5, 0.5, 0.5, 0.5]), ones(4));
    close(binned.result(), 0.5);
  });

  it('rejects wrong shapes and thresholds', () => {
    assert.throws(() => new BinaryAccuracy().update(f32([1, 0]), f32([1, 0]), ones(1)), RangeError);
    assert.throws(() => new BinaryAccuracy(1.5), RangeError);
    assert.throws(() => new RocAuc().update(f32([1]), f32([1]), ones(1), f32([-1])), RangeError);
  });
});
