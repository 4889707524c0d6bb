/**
 * Property-based tests of the feature preprocessing (FeaturePreprocessor.fit /
 * transform / toJSON / fromJSON, with normalizeMissing and type inference in
 * front as training does): random tables and feature specs, and mutated saved
 * state, end in a finite input matrix or a MultilossError — never another
 * exception and never a NaN or infinity handed to the network.
 */
import { tableFromRows, tableRows } from '../../src/data/table-build.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as fc from 'fast-check';
import { FeaturePreprocessor, normalizeMissing, DEFAULT_MISSING, type Cell, type ColumnType, type Table, type FeatureSpec } from '../../src/data/index.js';
import { outcome, runs, SEED, summary } from './helpers.js';

const counts: Record<string, number> = {};
const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);

const COLUMNS = ['a', 'b', 'c', 'd'];
const cellArb: fc.Arbitrary<Cell> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('1', ' 2.5 ', '-0', '0', '.5', '5.', '1e3', '1e309', '-1e309', '1e38', '3.5e38', '1e39', '1e300', '-1e308', 'NaN', 'nan', 'Infinity', '-Infinity', '1,000', '1 000', '0x10', '١٢', 'true', 'FALSE', 'yes', '', '  ', 'a', 'A', ' a ', 'NA', '?', 'null', '<unknown>') },
  { weight: 2, arbitrary: fc.double() }, // includes NaN, ±Infinity, -0, ±1.7e308: tables built by library callers
  { weight: 1, arbitrary: fc.constantFrom(1.7976931348623157e308, -1.7976931348623157e308, 5e-324, 3.4028234663852886e38, 3.5e38) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.string({ maxLength: 5 }) },
);

/** A column of one flavour (so that numeric and boolean columns are common), or a mix. */
const columnArb = (n: number): fc.Arbitrary<Cell[]> =>
  fc.oneof(
    fc.array(cellArb, { minLength: n, maxLength: n }),
    fc.array(fc.oneof(fc.double({ noNaN: true }), fc.constant(null), fc.constantFrom('1e309', ' 3 ', '')), { minLength: n, maxLength: n }),
    fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(null)), { minLength: n, maxLength: n }),
    fc.array(fc.constantFrom<Cell>(true, false, 'true', 'False', '1', '0', 1, 0, null, ''), { minLength: n, maxLength: n }),
    fc.array(fc.constantFrom<Cell>('x', 'y', 'X', ' y', 'z ', '', null, 1, true), { minLength: n, maxLength: n }),
  );

const tableArb: fc.Arbitrary<Table> = fc.integer({ min: 0, max: 9 }).chain((n) =>
  fc.tuple(fc.subarray(COLUMNS, { minLength: 1 }), fc.array(columnArb(n), { minLength: 4, maxLength: 4 })).map(([columns, cols]) =>
    tableFromRows({
      columns,
      rows: Array.from({ length: n }, (_, i) => columns.map((_, j) => cols[j][i])),
      source: 't.csv',
      lines: Array.from({ length: n }, (_, i) => i + 2),
    }),
  ),
);

const specsArb: fc.Arbitrary<FeatureSpec[]> = fc.array(
  fc.record({ name: fc.constantFrom(...COLUMNS, 'missing', ''), type: fc.constantFrom<ColumnType | undefined>(undefined, undefined, 'numeric', 'categorical', 'boolean') }, { requiredKeys: ['name'] }),
  { maxLength: 4 },
);

function checkMatrix(x: Float32Array, rows: number, width: number): void {
  assert.equal(x.length, rows * width);
  for (let i = 0; i < x.length; i++) assert.ok(Number.isFinite(x[i]), `input ${i} (row ${Math.floor(i / width)}) is ${x[i]}`);
}

/** Sets `path` (a list of keys / indices, chosen by fractions) of a JSON value to `value`, or deletes it. */
function mutateJson(json: unknown, picks: number[], value: unknown, del: boolean): unknown {
  const root = JSON.parse(JSON.stringify(json)) as unknown;
  let node = root as Record<string, unknown> | unknown[];
  for (let d = 0; d < picks.length; d++) {
    const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    const k = keys[Math.floor(picks[d] * keys.length)];
    const child = (node as Record<string | number, unknown>)[k];
    const last = d === picks.length - 1 || child === null || typeof child !== 'object';
    if (last) {
      if (del) {
        if (Array.isArray(node)) node.splice(k as number, 1);
        else delete (node as Record<string, unknown>)[k as string];
      } else {
        (node as Record<string | number, unknown>)[k] = value;
      }
      return root;
    }
    node = child as Record<string, unknown> | unknown[];
  }
  return value;
}

const jsonValueArb = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1, 1e308, -1e308, 5e-324, 1e-300, 3.5e38, 'numeric', 'categorical', 'boolean', '', 'a', [], {}, [1], ['a', 'a']),
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
);

describe('fuzz: preprocessing', { timeout: 120_000 }, () => {
  const t0 = performance.now();

  it('fit / transform on random tables: a finite matrix or a MultilossError; fitted state round-trips through JSON', () => {
    fc.assert(
      fc.property(tableArb, tableArb, specsArb, fc.boolean(), (train, other, specs, normalize) => {
        count('fit/transform');
        const t = normalize ? normalizeMissing(train, DEFAULT_MISSING) : train;
        const fitted = outcome(() => FeaturePreprocessor.fit(t, specs), 'fit');
        if (!fitted.ok) return;
        const p = fitted.value;
        const x = outcome(() => p.transform(t), 'transform(train)');
        if (x.ok) checkMatrix(x.value, t.length, p.outputSize);
        const y = outcome(() => p.transform(normalize ? normalizeMissing(other, DEFAULT_MISSING) : other), 'transform(other)');
        if (y.ok) checkMatrix(y.value, other.length, p.outputSize);
        const again = FeaturePreprocessor.fromJSON(JSON.parse(JSON.stringify(p.toJSON())));
        const x2 = outcome(() => again.transform(t), 'transform(train) after JSON');
        assert.equal(x2.ok, x.ok);
        if (x.ok && x2.ok) assert.deepEqual(x2.value, x.value);
      }),
      { numRuns: runs(20_000), seed: SEED + 10 },
    );
  });

  it('fromJSON on mutated saved state, then transform: a finite matrix or a MultilossError', () => {
    const base = FeaturePreprocessor.fit(
      tableFromRows({ columns: ['a', 'b', 'c'], rows: [[1, 'x', true], [3, 'y', null], [null, 'x', false]], source: 'base' }),
      [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
    ).toJSON();
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 4 }),
        jsonValueArb,
        fc.boolean(),
        tableArb,
        (picks, value, del, table) => {
          count('fromJSON');
          const json = mutateJson(base, picks, value, del);
          const p = outcome(() => FeaturePreprocessor.fromJSON(json), 'fromJSON');
          if (!p.ok) {
            assert.equal(p.error.kind, 'model');
            return;
          }
          const t: Table = tableFromRows({ ...table, columns: ['a', 'b', 'c'], rows: tableRows(table).map((r) => [r[0] ?? null, r[1] ?? null, r[2] ?? null]), lines: table.lines && Array.from(table.lines) });
          const x = outcome(() => p.value.transform(t), 'transform');
          if (x.ok) checkMatrix(x.value, t.length, p.value.outputSize);
        },
      ),
      { numRuns: runs(10_000), seed: SEED + 11 },
    );
  });

  it('summary', () => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    summary('preprocessing', counts, performance.now() - t0);
    assert.ok(total >= runs(10_000), `${total} cases`);
  });
});
