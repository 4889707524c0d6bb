import { tableRows } from '../../src/data/table-build.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseJson, rowsToTable } from '../../src/data/json.js';
import { readTable, normalizeMissing, DEFAULT_MISSING, inferColumnType, columnValues } from '../../src/data/index.js';
import { throwsMultiloss } from './helpers.js';

describe('parseJson', () => {
  it('reads an array of objects with the union of keys in first-seen order', () => {
    const text = JSON.stringify([
      { a: 1, b: 'x' },
      { b: 'y', c: true },
      { a: null, d: 'NaN' },
    ]);
    const t = parseJson(text, 'rows.json');
    assert.deepEqual(t.columns, ['a', 'b', 'c', 'd']);
    assert.deepEqual(tableRows(t), [
      [1, 'x', null, null],
      [null, 'y', true, null],
      [null, null, null, 'NaN'],
    ]);
    assert.equal(t.lines, undefined);
  });

  it('joins arrays of primitives with "|" and rejects nested objects', () => {
    const t = parseJson('[{"tags": ["a", "b", 3, true, null]}, {"tags": []}]', 'tags.json');
    assert.deepEqual(tableRows(t), [['a|b|3|true'], ['']]);
    throwsMultiloss(() => parseJson('[{"a": 1}, {"a": {"x": 1}}]', 'n.json'), 'data', /^n\.json: row 2, key "a": nested object/);
    throwsMultiloss(() => parseJson('[{"a": [[1]]}]', 'n2.json'), 'data', /^n2\.json: row 1, key "a": array item 1 is an array/);
    throwsMultiloss(() => parseJson('[{"a": ["x|y"]}]', 'n3.json'), 'data', 'row 1', 'multilabel separator');
    throwsMultiloss(() => parseJson('[{"a": 1}, 5]', 'n4.json'), 'data', /^n4\.json: row 2 is a number/);
  });

  it('detects JSON lines, records lines, and names the line of a parse error', () => {
    const text = '{"a": 1, "b": "x"}\r\n\n{"b": "y"}\n';
    const t = parseJson(text, 'rows.jsonl');
    assert.deepEqual(t.columns, ['a', 'b']);
    assert.deepEqual(tableRows(t), [[1, 'x'], [null, 'y']]);
    assert.deepEqual([...(t.lines ?? [])], [1, 3]);
    throwsMultiloss(() => parseJson('{"a": 1}\n{"a": 2}\n{"a": oops}\n', 'bad.jsonl'), 'data', /^bad\.jsonl: line 3 is not valid JSON/);
    throwsMultiloss(() => parseJson('{"a": 1}\n{"a": {"b": 2}}\n', 'nest.jsonl'), 'data', /^nest\.jsonl: line 2, key "a"/);
  });

  it('names the line and column of an error in a JSON array', () => {
    throwsMultiloss(() => parseJson('[\n  {"a": 1},\n  {"a": 2,}\n]', 'bad.json'), 'data', /^bad\.json: invalid JSON at line 3/);
  });

  it('rejects empty input and non-array documents', () => {
    throwsMultiloss(() => parseJson('  \n', 'e.json'), 'data', /^e\.json: the file is empty/);
    throwsMultiloss(() => parseJson('"text"', 's.json'), 'data', /^s\.json: line 1: expected a JSON array/);
  });

  it('rowsToTable follows the same rules', () => {
    const t = rowsToTable([{ x: 1, y: ['p', 'q'] }, { z: false }]);
    assert.equal(t.source, 'rows');
    assert.deepEqual(t.columns, ['x', 'y', 'z']);
    assert.deepEqual(tableRows(t), [[1, 'p|q', null], [null, null, false]]);
    throwsMultiloss(() => rowsToTable([{ x: { y: 1 } }], 'mine'), 'data', /^mine: row 1, key "x"/);
    throwsMultiloss(() => rowsToTable([{ x: Infinity }], 'mine'), 'data', /^mine: row 1, key "x": the number Infinity is not finite/);
  });
});

describe('readTable', () => {
  it('dispatches on the format or the extension', () => {
    assert.deepEqual(readTable('a;b\n1;2\n', 'x.csv').columns, ['a', 'b']);
    assert.deepEqual(readTable('a,b\tc\n1,2\t3\n', 'x.tsv').columns, ['a,b', 'c']);
    assert.deepEqual(tableRows(readTable('a,b\n1,2\n', 'DATA.TXT')), [['1', '2']]);
    assert.deepEqual(tableRows(readTable('[{"a":1}]', 'x.json')), [[1]]);
    assert.deepEqual(tableRows(readTable('{"a":1}\n', 'x.json')), [[1]]);
    assert.deepEqual([...(readTable('{"a":1}\n{"a":2}\n', 'x.ndjson').lines ?? [])], [1, 2]);
    assert.deepEqual(tableRows(readTable('{"a":1}\n', 'x.jsonl')), [[1]]);
    assert.deepEqual(tableRows(readTable('a,b\n1,2\n', 'stdin', 'csv')), [['1', '2']]);
    assert.deepEqual(tableRows(readTable('{"a":1}\n', 'stdin', 'jsonl')), [[1]]);
    throwsMultiloss(() => readTable('a,b', 'x.parquet'), 'data', /^x\.parquet: cannot tell the data format/);
  });
});

describe('normalizeMissing', () => {
  it('turns the default tokens (after trim) into null and leaves numbers alone', () => {
    const t = readTable('a,b\nNA,1\n N/A ,?\nNaN,nan\nnull,NULL\nNone,x\n', 'm.csv');
    const n = normalizeMissing(t);
    assert.deepEqual(tableRows(n), [
      [null, '1'],
      [null, null],
      [null, null],
      [null, null],
      [null, 'x'],
    ]);
    assert.deepEqual(n.lines, t.lines);
    assert.equal(tableRows(t)[0][0], 'NA', 'input is not modified');
    assert.ok(DEFAULT_MISSING.includes(''));
    const custom = normalizeMissing(rowsToTable([{ a: '-', b: 0, c: '  ' }]), ['-']);
    assert.deepEqual(tableRows(custom), [[null, 0, '  ']]);
  });
});

describe('penguins', () => {
  it('reads data/penguins.json and infers the column types', () => {
    const text = readFileSync(new URL('../../data/penguins.json', import.meta.url), 'utf8');
    const t = normalizeMissing(parseJson(text, 'data/penguins.json'));
    assert.equal(t.length, 344);
    const expected: Record<string, string> = {
      Species: 'categorical',
      Island: 'categorical',
      Sex: 'categorical',
      'Beak Length (mm)': 'numeric',
      'Beak Depth (mm)': 'numeric',
      'Flipper Length (mm)': 'numeric',
      'Body Mass (g)': 'numeric',
    };
    assert.deepEqual([...t.columns].sort(), Object.keys(expected).sort());
    for (const [name, type] of Object.entries(expected)) {
      assert.equal(inferColumnType(columnValues(t, name)), type, name);
    }
  });
});
