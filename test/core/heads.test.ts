import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { parseCsv, rowsToTable } from '../../src/data/index.js';
import { fitHead } from '../../src/model/heads/index.js';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { fitModel } from '../../src/training/fit.js';
import { Rng } from '../../src/util/rng.js';
import { useDefaultBackend } from '../helpers.js';
import type { BinaryPrediction, MultilabelPrediction } from '../../src/model/heads/head.js';

describe('heads: encoding and decoding', () => {
  it('classification: one-hot, class weights (map and balanced), missing labels masked', () => {
    const t = rowsToTable([{ c: 'b' }, { c: 'a' }, { c: null }, { c: 'b' }, { c: 'b' }]);
    const h = fitHead({ name: 'c', column: 'c', kind: 'classification', classWeights: { a: 3 } }, t, t);
    const e = h.encode(t);
    assert.deepEqual([...e.y], [0, 1, 1, 0, 0, 0, 0, 1, 0, 1]);
    assert.deepEqual([...e.mask], [1, 1, 0, 1, 1]);
    assert.deepEqual([...e.weight], [1, 3, 0, 1, 1]);
    const balanced = fitHead({ name: 'c', column: 'c', kind: 'classification', classWeights: 'balanced' }, t, t).encode(t);
    assert.deepEqual([...balanced.weight], [4 / 6, 2, 0, 4 / 6, 4 / 6].map((v) => Math.fround(v)));
    assert.deepEqual(h.decode(new Float32Array([0.2, 0.8]), 0), { label: 'b', probabilities: { a: Math.fround(0.2), b: Math.fround(0.8) } });
    assert.throws(() => fitHead({ name: 'c', column: 'c', kind: 'classification', classWeights: { z: 1 } }, t, t), /classWeights names class "z"/);
  });

  it('classification: a label unseen in training is an error naming the row', () => {
    const train = rowsToTable([{ c: 'a' }, { c: 'b' }]);
    const h = fitHead({ name: 'c', column: 'c', kind: 'classification' }, train, train);
    assert.throws(() => h.encode(parseCsv('c\na\nzz\n', 'new.csv')), /new\.csv: line 3, column "c": class "zz" was not seen in training/);
  });

  it('classes differing only by case are refused', () => {
    const t = rowsToTable([{ c: 'Male' }, { c: 'male' }]);
    assert.throws(() => fitHead({ name: 'c', column: 'c', kind: 'classification' }, t, t), /differ only by case/);
  });

  it('binary: positive class rules, threshold, decoded probability of the predicted label', () => {
    const t = rowsToTable([{ s: 'no' }, { s: 'yes' }]);
    const h = fitHead({ name: 's', column: 's', kind: 'binary', threshold: 0.7 }, t, t);
    assert.deepEqual(h.toJSON().classes, ['no', 'yes']);
    const p = h.decode(new Float32Array([0.6]), 0) as BinaryPrediction;
    assert.equal(p.label, 'no');
    assert.ok(Math.abs(p.probability - 0.4) < 1e-6);
    const bools = rowsToTable([{ s: true }, { s: false }]);
    assert.deepEqual(fitHead({ name: 's', column: 's', kind: 'binary' }, bools, bools).toJSON().classes, ['false', 'true']);
    const named = rowsToTable([{ s: 'B' }, { s: 'A' }]);
    assert.deepEqual(fitHead({ name: 's', column: 's', kind: 'binary', positive: 'A' }, named, named).toJSON().classes, ['B', 'A']);
    const three = rowsToTable([{ s: 'a' }, { s: 'b' }, { s: 'c' }]);
    assert.throws(() => fitHead({ name: 's', column: 's', kind: 'binary' }, three, three), /exactly 2 classes.*has 3/);
  });

  it('multilabel: labels split on the separator, decoded by threshold', () => {
    const t = rowsToTable([{ m: 'x|y' }, { m: 'z' }, { m: null }, { m: ['y', 'z'] }]);
    const h = fitHead({ name: 'm', column: 'm', kind: 'multilabel' }, t, t);
    assert.deepEqual(h.toJSON().classes, ['x', 'y', 'z']);
    const e = h.encode(t);
    assert.deepEqual([...e.y], [1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1]);
    assert.deepEqual([...e.mask], [1, 1, 0, 1]);
    const p = h.decode(new Float32Array([0.9, 0.2, 0.6]), 0) as MultilabelPrediction;
    assert.deepEqual(p.labels, ['x', 'z']);
  });

  it('regression: standardized with training statistics, decoded in the original unit', () => {
    const t = rowsToTable([{ v: 10 }, { v: 20 }, { v: '30' }, { v: null }]);
    const h = fitHead({ name: 'v', column: 'v', kind: 'regression' }, t, t);
    const { mean, std } = h.toJSON();
    assert.equal(mean, 20);
    assert.ok(Math.abs((std as number) - Math.sqrt(200 / 3)) < 1e-9);
    const e = h.encode(t);
    assert.ok(Math.abs(e.y[0] + 10 / (std as number)) < 1e-6);
    assert.deepEqual([...e.mask], [1, 1, 1, 0]);
    assert.ok(Math.abs((h.decode(new Float32Array([1]), 0) as number) - (20 + (std as number))) < 1e-4);
  });

  it('count: non-negative, decoded as e^η', () => {
    const t = rowsToTable([{ n: 0 }, { n: 3 }]);
    const h = fitHead({ name: 'n', column: 'n', kind: 'count' }, t, t);
    assert.ok(Math.abs((h.decode(new Float32Array([Math.log(4)]), 0) as number) - 4) < 1e-6);
    const bad = rowsToTable([{ n: 1 }, { n: -2 }]);
    assert.throws(() => fitHead({ name: 'n', column: 'n', kind: 'count' }, bad, bad), /row 2, column "n": count -2 is negative/);
  });
});

describe('heads: training all five kinds together', () => {
  before(useDefaultBackend);

  it('learns multilabel and count targets alongside the others, and drops rows with no target', async () => {
    const rng = new Rng(5);
    const rows: Record<string, unknown>[] = [];
    for (let i = 0; i < 600; i++) {
      const a = rng.normal();
      const b = rng.normal();
      const labels = [a > 0 ? 'p' : '', b > 0 ? 'q' : '', a + b > 1 ? 'r' : ''].filter(Boolean);
      rows.push({
        a,
        b,
        cls: a > 0.5 ? 'hi' : a < -0.5 ? 'lo' : 'mid',
        flag: b > 0 ? 'yes' : 'no',
        tags: labels.length ? labels.join('|') : 'none',
        value: 3 * a - 2 * b + 0.1 * rng.normal(),
        events: Math.round(Math.exp(0.8 * a + 0.5)),
      });
    }
    rows.push({ a: 0, b: 0, cls: null, flag: null, tags: null, value: null, events: null });
    const warnings: string[] = [];
    const config = resolveConfig(
      parseConfig({
        features: ['a', 'b'],
        targets: [
          { name: 'cls', kind: 'classification' },
          { name: 'flag', kind: 'binary' },
          { name: 'tags', kind: 'multilabel' },
          { name: 'value', kind: 'regression' },
          { name: 'events', kind: 'count' },
        ],
        validation: { split: 0.25 },
        training: { epochs: 30, batchSize: 32, learningRate: 0.01, seed: 1 },
      }),
    );
    const model = await fitModel(config, { table: rowsToTable(rows) }, { warn: (m) => warnings.push(m) });
    assert.deepEqual(warnings, ['rows: dropped 1 row(s) in which every target is missing']);
    const v = model.meta.metrics.validation!.heads;
    assert.ok(v.cls.metrics.accuracy > 0.9, `cls ${v.cls.metrics.accuracy}`);
    assert.ok(v.flag.metrics.accuracy > 0.9, `flag ${v.flag.metrics.accuracy}`);
    assert.ok(v.tags.metrics.micro_f1 > 0.85, `tags ${v.tags.metrics.micro_f1}`);
    assert.ok(v.value.metrics.r2 > 0.95, `value ${v.value.metrics.r2}`);
    assert.ok(v.events.metrics.poisson_deviance < 0.6, `events deviance ${v.events.metrics.poisson_deviance}`);
    const [p] = model.predict([{ a: 2, b: -2 }]);
    assert.equal((p.cls as { label: string }).label, 'hi');
    assert.ok((p.tags as MultilabelPrediction).labels.includes('p'));
    assert.ok(Math.abs((p.value as number) - 10) < 1.5, `value ${p.value}`);
    assert.ok((p.events as number) > 3, `events ${p.events}`);
    model.dispose();
  });
});

describe('head names', () => {
  before(useDefaultBackend);
  it('any head name trains: names that are not valid tfjs layer names are made safe', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ x: i, '<b>x': i % 2 ? 'a' : 'b', '9 lives': i * 2 }));
    const config = resolveConfig(parseConfig({ features: ['x'], targets: [{ name: '<b>x', kind: 'binary' }, { name: '9 lives', kind: 'regression' }], training: { epochs: 1 } }));
    const model = await fitModel(config, { table: rowsToTable(rows) });
    assert.deepEqual(model.network.model.outputNames, ['h_b_x', '9_lives']);
    assert.deepEqual(Object.keys(model.predict([{ x: 3 }])[0]), ['<b>x', '9 lives']);
    model.dispose();
  });
});
