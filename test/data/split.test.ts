import { tableRows } from '../../src/data/table-build.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { splitTrainValidation, selectRows, ValidationSelector, validationShare } from '../../src/data/split.js';
import { parseCsv } from '../../src/data/csv.js';
import { throwsMultiloss } from './helpers.js';

describe('splitTrainValidation', () => {
  it('is deterministic, disjoint, complete and sorted', () => {
    const a = splitTrainValidation(100, 0.2, 7);
    const b = splitTrainValidation(100, 0.2, 7);
    assert.deepEqual(a, b);
    assert.equal(a.validation.length, 20);
    assert.equal(a.train.length, 80);
    assert.deepEqual([...a.train, ...a.validation].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(a.train, [...a.train].sort((x, y) => x - y));
    assert.deepEqual(a.validation, [...a.validation].sort((x, y) => x - y));
    const c = splitTrainValidation(100, 0.2, 8);
    assert.notDeepEqual(c.validation, a.validation);
  });

  it('stratifies: each stratum contributes round(fraction * size), null is its own group', () => {
    const strata: (string | null)[] = [
      ...Array<string>(50).fill('a'),
      ...Array<string>(30).fill('b'),
      ...Array<string | null>(15).fill(null),
      ...Array<string>(5).fill('null'),
    ];
    // interleave deterministically so strata are not contiguous
    const order = Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
    const mixed = order.map((i) => strata[i]);
    const s = splitTrainValidation(100, 0.2, 3, mixed);
    const count = (idx: number[], key: string | null) => idx.filter((i) => mixed[i] === key).length;
    assert.equal(count(s.validation, 'a'), 10);
    assert.equal(count(s.validation, 'b'), 6);
    assert.equal(count(s.validation, null), 3);
    assert.equal(count(s.validation, 'null'), 1);
    assert.equal(s.validation.length + s.train.length, 100);
    assert.deepEqual(splitTrainValidation(100, 0.2, 3, mixed), s);
  });

  it('handles edge fractions and rejects bad arguments', () => {
    assert.deepEqual(splitTrainValidation(3, 0, 1), { train: [0, 1, 2], validation: [] });
    assert.deepEqual(splitTrainValidation(0, 0.5, 1), { train: [], validation: [] });
    throwsMultiloss(() => splitTrainValidation(10, 1, 1), 'config', 'fraction');
    throwsMultiloss(() => splitTrainValidation(10, -0.1, 1), 'config', 'fraction');
    throwsMultiloss(() => splitTrainValidation(10, 0.2, 1, ['a']), 'config', '1 strata given for 10 rows');
  });
});

describe('the split rule: selection sampling on a seeded hash of the row index', () => {
  it('takes exactly round(fraction · size) rows of every stratum, whatever the size, fraction and seed', () => {
    for (let size = 0; size <= 40; size++) {
      for (const fraction of [0.05, 0.2, 0.25, 0.5, 0.9]) {
        const seed = size * 31 + Math.round(fraction * 100);
        const strata = Array.from({ length: 2 * size }, (_, i) => (i % 2 ? 'a' : 'b'));
        const s = splitTrainValidation(2 * size, fraction, seed, strata);
        for (const k of ['a', 'b']) assert.equal(s.validation.filter((i) => strata[i] === k).length, validationShare(fraction, size), `size ${size}, fraction ${fraction}, stratum ${k}`);
      }
    }
  });

  it('holds out every row equally often over seeds (each with probability k / size)', () => {
    const size = 10;
    const seeds = 20_000;
    const held = new Array<number>(size).fill(0);
    for (let seed = 0; seed < seeds; seed++) for (const i of splitTrainValidation(size, 0.3, seed).validation) held[i]++;
    for (const count of held) assert.ok(Math.abs(count / seeds - 0.3) < 0.015, `share ${count / seeds}`);
  });

  it('rows without a stratum take no part; rows must come in order and as counted', () => {
    const s = splitTrainValidation(6, 0.5, 1, ['a', undefined, 'a', 'a', undefined, 'a']);
    assert.deepEqual([...s.train, ...s.validation].sort(), [0, 2, 3, 5]);
    assert.equal(s.validation.length, 2);
    const selector = new ValidationSelector({ fraction: 0.5, seed: 1 }, new Map([['a', 1]]));
    selector.isValidation(3, 'a');
    assert.throws(() => selector.isValidation(2, 'a'), RangeError);
    throwsMultiloss(() => selector.isValidation(4, 'a'), 'data', 'more rows of stratum "a" than the first pass counted');
    throwsMultiloss(() => new ValidationSelector({ fraction: 0.5, seed: 1 }, new Map()).isValidation(0, 'b'), 'data', 'stratum "b"');
  });
});

describe('selectRows', () => {
  it('keeps lines and source', () => {
    const t = parseCsv('a\n1\n"2\n2"\n3\n', 's.csv');
    const s = selectRows(t, [2, 0]);
    assert.deepEqual(tableRows(s), [['3'], ['1']]);
    assert.deepEqual([...(s.lines ?? [])], [5, 2]);
    assert.equal(s.source, 's.csv');
    assert.throws(() => selectRows(t, [3]), RangeError);
  });
});
