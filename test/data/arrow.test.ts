/**
 * Arrow IPC input: the file format (.arrow / .feather v2) and the stream format (.arrows), whole
 * and batch by batch. The files are written with apache-arrow's writer from penguins read as
 * JSON; the types (dictionary strings, int64, decimals, dates) come from the Arrow schema.
 */
import { tableRows } from '../../src/data/table-build.js';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Bool, DateDay, Decimal, Dictionary, makeData, makeVector, Float64, Int32, Int64, List, Field, Table as ArrowTable, tableToIPC, Utf8, vectorFromArray, type DataType, type Vector } from 'apache-arrow';
import { readArrow } from '../../src/data/arrow.js';
import { inferColumnTypes } from '../../src/data/infer.js';
import { FeaturePreprocessor } from '../../src/data/preprocess.js';
import type { Cell, Table } from '../../src/data/table.js';
import { openTableStream } from '../../src/io/stream-table.js';
import { readDataFile } from '../../src/io/table-file.js';
import { penguins, tempDir } from '../helpers.js';
import { rejectsMultiloss } from './helpers.js';

/** Penguins as an Arrow table of `batches` record batches: strings dictionary-encoded (one dictionary), the integer columns int64. */
function penguinsArrow(batches: number): ArrowTable {
  const json = penguins();
  const types: Record<string, DataType> = {
    Species: new Dictionary(new Utf8(), new Int32()),
    Island: new Utf8(),
    'Beak Length (mm)': new Float64(),
    'Beak Depth (mm)': new Float64(),
    'Flipper Length (mm)': new Int64(),
    'Body Mass (g)': new Int64(),
    Sex: new Dictionary(new Utf8(), new Int32()),
  };
  const column = (name: string): Vector => {
    const j = json.columns.indexOf(name);
    const values = tableRows(json).map((r) => r[j]);
    return vectorFromArray(types[name] instanceof Int64 ? values.map((v) => (v === null ? null : BigInt(v as number))) : values, types[name]);
  };
  const whole = new ArrowTable(Object.fromEntries(json.columns.map((c) => [c, column(c)])));
  const size = Math.ceil(tableRows(json).length / batches);
  return new ArrowTable(Array.from({ length: batches }, (_, b) => whole.slice(b * size, (b + 1) * size).batches).flat());
}

async function streamRows(path: string, batchSize: number): Promise<{ rows: Cell[][]; batches: number; rowNumbers: number[] }> {
  const reader = await openTableStream(path, { batchSize });
  const rows: Cell[][] = [];
  const rowNumbers: number[] = [];
  let batches = 0;
  for (let b: Table | null = await reader.next(); b !== null; b = await reader.next()) {
    assert.ok(tableRows(b).length <= batchSize);
    batches++;
    rows.push(...tableRows(b));
    rowNumbers.push(...(b.rowNumbers ?? tableRows(b).map((_, i) => i + 1)));
  }
  return { rows, batches, rowNumbers };
}

describe('Arrow IPC input', () => {
  const dir = tempDir();
  const json = penguins();
  const arrow = penguinsArrow(4);

  for (const [kind, ext] of [['file', 'arrow'], ['file', 'feather'], ['stream', 'arrows']] as const) {
    it(`the ${kind} format (.${ext}) reads to the same table as penguins.json, whole and batch by batch`, async () => {
      const path = join(dir, `penguins.${ext}`);
      writeFileSync(path, tableToIPC(arrow, kind));
      const whole = await readDataFile(path);
      assert.deepEqual(whole.columns, json.columns);
      assert.deepEqual(tableRows(whole), tableRows(json));
      const streamed = await streamRows(path, 50);
      assert.deepEqual(streamed.rows, tableRows(json));
      // 4 record batches of 86 rows, each handed out as 50 + 36.
      assert.equal(streamed.batches, 8);
      assert.deepEqual(streamed.rowNumbers, tableRows(json).map((_, i) => i + 1));
    });
  }

  it('booleans, dates, decimals, nulls and NaN follow the schema and the missing-value rules', async () => {
    // 128-bit decimals of scale 2 (little-endian words, two's complement): 12345 → 123.45, -5 → -0.05, 0 → 0.
    const words = new Uint32Array([12345, 0, 0, 0, 0xfffffffb, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0, 0, 0]);
    const t = new ArrowTable({
      dec: makeVector(makeData({ type: new Decimal(2, 10, 128), length: 3, nullCount: 0, data: words })),
      b: vectorFromArray([true, null, false], new Bool()),
      d: vectorFromArray([new Date('2020-01-02'), null, new Date('1969-12-31')], new DateDay()),
      x: vectorFromArray([1.5, NaN, null], new Float64()),
      s: vectorFromArray(['a', '', null], new Utf8()),
    });
    assert.deepEqual(tableRows(await readArrow(tableToIPC(t, 'stream'), 't.arrows')), [
      [123.45, true, '2020-01-02', 1.5, 'a'],
      [-0.05, null, null, null, ''],
      [0, false, '1969-12-31', null, null],
    ]);
  });

  it('a string column of digits stays categorical (the schema\'s type); an integer column is numeric', async () => {
    const t = new ArrowTable({
      code: vectorFromArray(['7', '010', null], new Utf8()),
      n: vectorFromArray([1, 2, 3], new Int32()),
    });
    const table = await readArrow(tableToIPC(t, 'file'), 't.arrow');
    assert.deepEqual(tableRows(table), [['7', 1], ['010', 2], [null, 3]]);
    assert.deepEqual(inferColumnTypes(table), { code: 'categorical', n: 'numeric' });
    assert.deepEqual(
      FeaturePreprocessor.fit(table, [{ name: 'code' }]).toJSON().features[0],
      { name: 'code', type: 'categorical', categories: ['010', '7'] },
    );
  });

  it('an Int64 value beyond ±(2^53 − 1) is an error naming the file, column and row', async () => {
    const t = new ArrowTable({ id: vectorFromArray([1n, -(2n ** 53n) - 5n], new Int64()) });
    await rejectsMultiloss(
      () => readArrow(tableToIPC(t, 'file'), 'big.arrow'),
      'data',
      'big.arrow: row 2, column "id": the 64-bit integer -9007199254740997 is beyond ±(2^53 − 1), the largest a number holds exactly (leave the column out of the features, or store it as a string)',
    );
  });

  it('a list column, an infinite number, a truncated file: one-line errors naming the file and column', async () => {
    const list = new ArrowTable({ a: vectorFromArray([1, 2], new Int32()), tags: vectorFromArray([['x'], ['y', 'z']], new List(new Field('item', new Utf8(), true))) });
    await rejectsMultiloss(() => readArrow(tableToIPC(list, 'file'), 'l.arrow'), 'data', 'l.arrow: column "tags" is a list (nested) column');
    assert.deepEqual(tableRows(await readArrow(tableToIPC(list, 'file'), 'l.arrow', { columns: ['a'] })), [[1], [2]]);
    const inf = new ArrowTable({ x: vectorFromArray([1, Infinity], new Float64()) });
    await rejectsMultiloss(() => readArrow(tableToIPC(inf, 'file'), 'i.arrow'), 'data', 'i.arrow: row 2, column "x": the number Infinity is not finite');
    const bytes = tableToIPC(arrow, 'file');
    await rejectsMultiloss(() => readArrow(bytes.subarray(0, bytes.length >> 1), 'cut.arrow'), 'data', 'cut.arrow: not a readable Arrow IPC file or stream');
    await rejectsMultiloss(() => readArrow(new Uint8Array(0), 'empty.arrow'), 'data', 'empty.arrow: the file is empty');
  });
});
