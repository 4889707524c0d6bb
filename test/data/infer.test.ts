import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseNumber, parseBoolean, inferColumnType, columnValues } from '../../src/data/infer.js';
import { isDecimalText } from '../../src/data/cell.js';
import { parseCsv } from '../../src/data/csv.js';
import { throwsMultiloss } from './helpers.js';

describe('parseNumber', () => {
  it('accepts finite decimal numbers after trimming', () => {
    assert.equal(parseNumber('1e3'), 1000);
    assert.ok(Object.is(parseNumber('-0'), -0));
    assert.equal(parseNumber('.5'), 0.5);
    assert.equal(parseNumber(' 42 '), 42);
    assert.equal(parseNumber('+2.5E-1'), 0.25);
    assert.equal(parseNumber('5.'), 5);
    assert.equal(parseNumber(3.5), 3.5);
  });
  it('rejects everything else', () => {
    for (const bad of ['1,000', '1e309', '-1e309', '0x1F', '', '   ', 'NaN', 'Infinity', '-Infinity', '1 2', 'e3', '.', '1e', 'abc', '1_000']) {
      assert.equal(parseNumber(bad), null, JSON.stringify(bad));
    }
    assert.equal(parseNumber(true), null);
    assert.equal(parseNumber(false), null);
    assert.equal(parseNumber(null), null);
    assert.equal(parseNumber(Number.NaN), null);
    assert.equal(parseNumber(Number.POSITIVE_INFINITY), null);
  });
});

describe('isDecimalText (the scan parseNumber uses)', () => {
  it('accepts exactly the strings of the decimal grammar /^[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?$/, over 200,000 random strings of its alphabet', () => {
    const grammar = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
    const alphabet = ['0', '1', '9', '.', 'e', 'E', '+', '-', ' ', 'x', '\u00a0'];
    let state = 7;
    const rand = (n: number) => (state = (state * 1103515245 + 12345) % 2 ** 31) % n;
    let accepted = 0;
    for (let k = 0; k < 200_000; k++) {
      let s = '';
      const length = 1 + rand(7);
      for (let i = 0; i < length; i++) s += alphabet[rand(alphabet.length)];
      assert.equal(isDecimalText(s), grammar.test(s), JSON.stringify(s));
      if (grammar.test(s)) accepted++;
      // parseNumber: the trimmed text in the grammar, read as a finite number.
      const t = s.trim();
      assert.equal(parseNumber(s), grammar.test(t) && Number.isFinite(Number(t)) ? Number(t) : null, JSON.stringify(s));
    }
    assert.ok(accepted > 10_000, `${accepted} strings of the grammar drawn`);
  });
});

describe('parseBoolean', () => {
  it('reads JS booleans and true/false in any case', () => {
    assert.equal(parseBoolean(true), true);
    assert.equal(parseBoolean(' TRUE '), true);
    assert.equal(parseBoolean('False'), false);
    assert.equal(parseBoolean('yes'), null);
    assert.equal(parseBoolean(1), null);
  });
});

describe('inferColumnType', () => {
  it('numeric when every non-null value is a number', () => {
    assert.equal(inferColumnType(['1', null, '-0', '.5', 2, '1e3']), 'numeric');
  });
  it('categorical for overflow, NaN text, thousands separators or mixed values', () => {
    assert.equal(inferColumnType(['1', '1e309']), 'categorical');
    assert.equal(inferColumnType(['1', 'NaN']), 'categorical');
    assert.equal(inferColumnType(['1,000', '2']), 'categorical');
    assert.equal(inferColumnType(['1', 'true']), 'categorical');
    assert.equal(inferColumnType([1, true]), 'categorical');
  });
  it('boolean for JS booleans and true/false strings in any case', () => {
    assert.equal(inferColumnType([true, 'FALSE', null, 'True']), 'boolean');
    assert.equal(inferColumnType(['0', '1']), 'numeric');
  });
  it('categorical when every value is missing', () => {
    assert.equal(inferColumnType([null, null]), 'categorical');
    assert.equal(inferColumnType([]), 'categorical');
  });
});

describe('columnValues', () => {
  it('returns the column and lists the available columns when absent', () => {
    const t = parseCsv('a,b\n1,2\n3,\n', 't.csv');
    assert.deepEqual(columnValues(t, 'b'), ['2', null]);
    throwsMultiloss(() => columnValues(t, 'c'), 'data', /^t\.csv: no column "c"; available columns: "a", "b"$/);
  });
});
