import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { splitTrainValidation, selectRows } from '../../src/data/split.js';
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

describe('selectRows', () => {
  it('keeps lines and source', () => {
    const t = parseCsv('a\n1\n"2\n2"\n3\n', 's.csv');
    const s = selectRows(t, [2, 0]);
    assert.deepEqual(s.rows, [['3'], ['1']]);
    assert.deepEqual(s.lines, [5, 2]);
    assert.equal(s.source, 's.csv');
    assert.throws(() => selectRows(t, [3]), RangeError);
  });
});
