import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, type MetricKind, BinaryAccuracy, MultilabelMacroF1 } from '../../src/metrics/index.js';
import { Rng } from '../../src/util/rng.js';
import { close, feedInBatches } from './helpers.js';

const KINDS: Record<MetricKind, { names: string[]; units: number }> = {
  classification: { names: ['accuracy', 'macro_f1', 'log_loss'], units: 4 },
  binary: { names: ['accuracy', 'f1', 'roc_auc'], units: 1 },
  multilabel: { names: ['micro_f1', 'macro_f1'], units: 3 },
  regression: { names: ['rmse', 'mae', 'r2'], units: 1 },
  count: { names: ['mae', 'poisson_deviance'], units: 1 },
};

function randomData(kind: MetricKind, n: number, units: number, rng: Rng) {
  const yTrue = new Float32Array(n * units);
  const yPred = new Float32Array(n * units);
  for (let i = 0; i < n; i++) {
    if (kind === 'classification') {
      yTrue[i * units + rng.int(units)] = 1;
      let sum = 0;
      for (let k = 0; k < units; k++) sum += yPred[i * units + k] = rng.next() + 0.01;
      for (let k = 0; k < units; k++) yPred[i * units + k] /= sum;
    } else {
      for (let k = 0; k < units; k++) {
        const j = i * units + k;
        if (kind === 'regression') {
          yTrue[j] = rng.normal() * 10 + 100;
          yPred[j] = yTrue[j] + rng.normal();
        } else if (kind === 'count') {
          yTrue[j] = rng.int(6);
          yPred[j] = rng.next() * 5 + 0.1;
        } else {
          yTrue[j] = rng.next() < 0.4 ? 1 : 0;
          yPred[j] = Math.round(rng.next() * 10) / 10; // many ties
        }
      }
    }
  }
  const mask = new Float32Array(n);
  const weight = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    mask[i] = rng.next() < 0.85 ? 1 : 0;
    weight[i] = rng.int(4) * 0.5;
  }
  return { yTrue, yPred, mask, weight };
}

describe('createMetrics', () => {
  it('creates the named metrics per kind', () => {
    for (const [kind, { names }] of Object.entries(KINDS) as [MetricKind, { names: string[] }][]) {
      assert.deepEqual(createMetrics(kind).map((m) => m.name), names, kind);
    }
  });

  it('passes the threshold on', () => {
    const [acc] = createMetrics('binary', { threshold: 0.7 });
    assert.ok(acc instanceof BinaryAccuracy);
    assert.equal(acc.threshold, 0.7);
    const [, macro] = createMetrics('multilabel', { threshold: 0.2 });
    assert.ok(macro instanceof MultilabelMacroF1);
    assert.equal(macro.threshold, 0.2);
  });

  it('streaming over several batches equals all at once (weighted, masked)', () => {
    const rng = new Rng(11);
    for (const [kind, { units }] of Object.entries(KINDS) as [MetricKind, { units: number }][]) {
      const { yTrue, yPred, mask, weight } = randomData(kind, 200, units, rng);
      for (const w of [undefined, weight]) {
        const once = createMetrics(kind);
        const batched = createMetrics(kind);
        for (const m of once) m.update(yTrue, yPred, mask, w);
        for (const m of batched) feedInBatches(m, yTrue, yPred, mask, w, [1, 37, 38, 120]);
        once.forEach((m, k) => {
          const r = m.result();
          assert.ok(Number.isFinite(r), `${kind}/${m.name} finite`);
          close(batched[k].result(), r, 1e-9, `${kind}/${m.name}`);
        });
        // reset gives a fresh metric
        for (const m of batched) {
          m.reset();
          assert.ok(Number.isNaN(m.result()), `${kind}/${m.name} after reset`);
          m.update(yTrue, yPred, mask, w);
        }
        once.forEach((m, k) => close(batched[k].result(), m.result(), 1e-12, `${kind}/${m.name} after reset`));
      }
    }
  });
});
