import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FeaturePreprocessor, type PreprocessorJSON } from '../../src/data/preprocess.js';
import { parseCsv } from '../../src/data/csv.js';
import { normalizeMissing } from '../../src/data/missing.js';
import { rowsToTable } from '../../src/data/json.js';
import type { Table } from '../../src/data/table.js';
import { throwsMultiloss } from './helpers.js';

const TRAIN = normalizeMissing(
  parseCsv(
    ['x,color,flag,const', '1,red,true,5', '2,blue,false,5', '3,red,NA,5', 'NA,green,TRUE,5', ''].join('\n'),
    'train.csv',
  ),
);

function rowsOf(m: Float32Array, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.length; i += width) out.push(Array.from(m.subarray(i, i + width)));
  return out;
}

describe('FeaturePreprocessor', () => {
  const pre = FeaturePreprocessor.fit(TRAIN, [{ name: 'x' }, { name: 'color' }, { name: 'flag' }, { name: 'const' }]);

  it('infers types and lays out the outputs', () => {
    assert.deepEqual(pre.features, [
      { name: 'x', type: 'numeric' },
      { name: 'color', type: 'categorical' },
      { name: 'flag', type: 'boolean' },
      { name: 'const', type: 'numeric' },
    ]);
    assert.deepEqual(pre.outputNames, [
      'x',
      'x:missing',
      'color=blue',
      'color=green',
      'color=red',
      'color=<unknown>',
      'flag',
      'flag:missing',
      'const',
    ]);
    assert.equal(pre.outputSize, 9);
  });

  it('standardizes with the training mean/std, imputes, indicates missing, one-hots, handles constants', () => {
    const m = pre.transform(TRAIN);
    const std = Math.sqrt(2 / 3); // values 1,2,3: mean 2, population variance 2/3
    const expected = [
      [-1 / std, 0, 0, 0, 1, 0, 1, 0, 0],
      [0, 0, 1, 0, 0, 0, 0, 0, 0],
      [1 / std, 0, 0, 0, 1, 0, 0.5, 1, 0],
      [0, 1, 0, 1, 0, 0, 1, 0, 0],
    ];
    const got = rowsOf(m, 9);
    for (let i = 0; i < expected.length; i++) {
      for (let j = 0; j < 9; j++) assert.ok(Math.abs(got[i][j] - expected[i][j]) < 1e-6, `row ${i} col ${j}: ${got[i][j]}`);
    }
  });

  it('sends unseen and missing categories to the unknown bucket', () => {
    const test = normalizeMissing(parseCsv('color,x,flag,const\npurple,2,false,7\n NA ,2,false,5\n red ,2,false,5\n', 'test.csv'));
    const got = rowsOf(pre.transform(test), 9);
    assert.deepEqual(got.map((r) => r.slice(2, 6)), [
      [0, 0, 0, 1],
      [0, 0, 0, 1],
      [0, 0, 1, 0],
    ]);
    assert.equal(got[0][8], 2, 'constant column: std 1, so 7 - 5 = 2');
  });

  it('round-trips through JSON with identical outputs', () => {
    const json = JSON.parse(JSON.stringify(pre.toJSON())) as unknown;
    const again = FeaturePreprocessor.fromJSON(json);
    assert.deepEqual(again.toJSON(), pre.toJSON());
    assert.deepEqual(again.outputNames, pre.outputNames);
    assert.deepEqual(Array.from(again.transform(TRAIN)), Array.from(pre.transform(TRAIN)));
  });

  it('has no missing indicator when training had no missing values', () => {
    const p = FeaturePreprocessor.fit(rowsToTable([{ a: 1, b: true }, { a: 3, b: false }]), [{ name: 'a' }, { name: 'b' }]);
    assert.deepEqual(p.outputNames, ['a', 'b']);
    const m = p.transform(rowsToTable([{ a: null, b: null }]));
    assert.deepEqual(Array.from(m), [0, 0.5]);
  });

  it('honours an explicit type', () => {
    const p = FeaturePreprocessor.fit(rowsToTable([{ a: 1 }, { a: 2 }, { a: 1 }]), [{ name: 'a', type: 'categorical' }]);
    assert.deepEqual(p.outputNames, ['a=1', 'a=2', 'a=<unknown>']);
    const b = FeaturePreprocessor.fit(rowsToTable([{ a: '1' }, { a: 0 }]), [{ name: 'a', type: 'boolean' }]);
    assert.deepEqual(Array.from(b.transform(rowsToTable([{ a: 'true' }, { a: '0' }]))), [1, 0]);
  });

  it('sorts categories deterministically regardless of row order', () => {
    const a = FeaturePreprocessor.fit(rowsToTable([{ c: 'b' }, { c: 'a' }, { c: 'B' }]), [{ name: 'c' }]);
    const b = FeaturePreprocessor.fit(rowsToTable([{ c: 'B' }, { c: 'b' }, { c: 'a' }]), [{ name: 'c' }]);
    assert.deepEqual(a.toJSON(), b.toJSON());
    assert.deepEqual(a.outputNames, ['c=B', 'c=a', 'c=b', 'c=<unknown>']);
  });

  it('errors: non-numeric at transform names source, line, column and value', () => {
    const bad = parseCsv('x,color,flag,const\n1,red,true,5\noops,red,true,5\n', 'score.csv');
    throwsMultiloss(() => pre.transform(bad), 'data', /^score\.csv: line 3, column "x": value "oops" is not a number/);
    const rows: Table = rowsToTable([{ x: 1, color: 'red', flag: 'maybe', const: 5 }], 'api');
    throwsMultiloss(() => pre.transform(rows), 'data', /^api: row 1, column "flag": value "maybe" is not a boolean/);
  });

  it('errors: missing feature column at transform names it and the source', () => {
    const t = parseCsv('x,color,const\n1,red,5\n', 'score.csv');
    throwsMultiloss(() => pre.transform(t), 'data', /^score\.csv: feature column "flag" missing; available columns: "x", "color", "const"/);
  });

  it('errors at fit: absent feature, all-missing feature, bad numeric value', () => {
    throwsMultiloss(() => FeaturePreprocessor.fit(TRAIN, [{ name: 'nope' }]), 'data', /^train\.csv: feature column "nope" not found; available columns: "x", "color", "flag", "const"/);
    const allMissing = rowsToTable([{ a: null }, { a: '  ' }], 'm.json');
    throwsMultiloss(() => FeaturePreprocessor.fit(allMissing, [{ name: 'a' }]), 'data', /^m\.json: feature column "a" has no values/);
    throwsMultiloss(() => FeaturePreprocessor.fit(TRAIN, [{ name: 'color', type: 'numeric' }]), 'data', /^train\.csv: line 2, column "color": value "red" is not a number/);
    throwsMultiloss(() => FeaturePreprocessor.fit(TRAIN, [{ name: 'x' }, { name: 'x' }]), 'config', 'listed twice');
  });

  it('fromJSON rejects malformed state with a model error', () => {
    const good = pre.toJSON();
    const cases: unknown[] = [
      null,
      { version: 2, features: good.features },
      { version: 1, features: [] },
      { version: 1, features: [{ name: 'x', type: 'numeric', mean: 0, std: 0, missingIndicator: false }] },
      { version: 1, features: [{ name: 'x', type: 'numeric', mean: 'a', std: 1, missingIndicator: false }] },
      { version: 1, features: [{ name: 'x', type: 'date' }] },
      { version: 1, features: [{ name: 'c', type: 'categorical', categories: ['a', 'a'] }] },
      { version: 1, features: [good.features[0], good.features[0]] },
    ];
    for (const c of cases) throwsMultiloss(() => FeaturePreprocessor.fromJSON(c), 'model', /^invalid feature preprocessor: /);
    const ok: PreprocessorJSON = { version: 1, features: [{ name: 'c', type: 'categorical', categories: [] }] };
    assert.deepEqual(Array.from(FeaturePreprocessor.fromJSON(ok).transform(rowsToTable([{ c: 'z' }]))), [1]);
  });

  it('toJSON returns a copy', () => {
    const j = pre.toJSON();
    (j.features[1] as { categories: string[] }).categories.push('zzz');
    assert.equal(pre.outputSize, 9);
    assert.deepEqual((pre.toJSON().features[1] as { categories: string[] }).categories, ['blue', 'green', 'red']);
  });
});
