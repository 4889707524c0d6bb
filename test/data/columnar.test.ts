/**
 * Columnar tables: numbers in Float64Arrays with a missing mask, labels and
 * categories dictionary-encoded, cells handed back exactly as read; tables
 * built from columns (tableFromColumns, what Parquet / Arrow readers use) or
 * from rows (tableFromRows, what library callers may pass) train the same
 * models; and the weights are those of the row-major tables this replaced
 * (hashes recorded from main's code before the change, CLI defaults).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { DictionaryColumn, NumberColumn } from '../../src/data/column.js';
import { normalizeMissing, parseCsv } from '../../src/data/index.js';
import { tableFromColumns, tableFromRows, tableRows } from '../../src/data/table-build.js';
import type { Table } from '../../src/data/table.js';
import { readConfigFile } from '../../src/io/config-file.js';
import { readTableFile } from '../../src/io/table-file.js';
import { trainFromTable } from '../../src/training/train-from-table.js';
import { cli, penguins, PENGUINS_CONFIG, ROOT, tempDir, useDefaultBackend } from '../helpers.js';

const WEATHER_CONFIG = join(ROOT, 'examples', 'weather.yaml');
const WEATHER = join(ROOT, 'data', 'weather-2012-2014.csv');

/** sha256 (first 16 hex digits) of weights.bin after `multiloss train --config <example> --epochs 3 [--stream]`, from main's row-major code (commit b6a5395). */
const MAIN_WEIGHTS: Record<string, string> = {
  'penguins memory': '3f40660383dc7f34',
  'penguins stream': '6777611dc06d93c6',
  'weather memory': 'e438434c4b252466',
  'weather stream': '70331938fe41730c',
};

async function weightsOf(config: Record<string, unknown>, table: Table | { columns: string[]; rows: ReturnType<typeof tableRows>; source: string }): Promise<Float32Array[]> {
  const model = await trainFromTable({ ...config, training: { ...(config.training as object), epochs: 2 } }, { table });
  try {
    return model.network.model.getWeights().map((w) => w.dataSync() as Float32Array);
  } finally {
    model.dispose();
  }
}

describe('columnar tables', () => {
  before(useDefaultBackend);

  it('stores numbers as Float64Array + missing mask and labels as codes, and hands back each cell exactly as read', () => {
    // Past its first 64 odd cells, a column whose cells are mostly not numbers turns into a dictionary.
    const more = Array.from({ length: 80 }, (_, i) => `${i},${'abc'[i % 3]},${i}`).join('\n');
    const t = parseCsv(`x,label,odd\n1.5,a,1\n,b,1e3\n-2,a, 7\n0.25,,NA\n${more}\n`, 't.csv');
    const [x, label, odd] = t.data;
    assert.ok(x instanceof NumberColumn && x.text);
    assert.deepEqual([...x.values.subarray(0, 5)], [1.5, 0, -2, 0.25, 0]);
    assert.deepEqual([...x.missing.subarray(0, 5)], [0, 1, 0, 0, 0]);
    assert.ok(label instanceof DictionaryColumn);
    assert.deepEqual([...label.codes.subarray(0, 6)], [0, 1, 0, -1, 0, 1]);
    assert.deepEqual(label.dictionary, ['a', 'b', 'c']);
    // Text that does not read back from its number ("1e3", " 7") is kept as text beside the numbers.
    assert.ok(odd instanceof NumberColumn);
    assert.deepEqual([...odd.others.keys()], [1, 2, 3]);
    assert.deepEqual(tableRows(t).slice(0, 5), [
      ['1.5', 'a', '1'],
      [null, 'b', '1e3'],
      ['-2', 'a', ' 7'],
      ['0.25', null, 'NA'],
      ['0', 'a', '0'],
    ]);
    assert.deepEqual(tableRows(normalizeMissing(t, ['NA', '-2'])).slice(0, 4), [
      ['1.5', 'a', '1'],
      [null, 'b', '1e3'],
      [null, 'a', ' 7'],
      ['0.25', null, null],
    ]);
  });

  it('tableFromColumns: typed numbers with a missing mask and cell arrays give the table of the same rows', () => {
    const t = tableFromColumns('cols', [
      { name: 'x', values: new Float32Array([1, 2.5, 3]), missing: new Uint8Array([0, 1, 0]) },
      { name: 'n', values: new Int32Array([7, -1, 0]) },
      { name: 's', values: ['a', null, 'b'] },
      { name: 'b', values: [true, false, null] },
      { name: 'inf', values: new Float64Array([Infinity, 1, NaN]) },
    ]);
    assert.equal(t.length, 3);
    assert.deepEqual(t.columns, ['x', 'n', 's', 'b', 'inf']);
    assert.deepEqual(tableRows(t), tableRows(tableFromRows({ columns: t.columns, rows: [[1, 7, 'a', true, Infinity], [null, -1, null, false, 1], [3, 0, 'b', null, NaN]], source: 'rows' })));
    assert.deepEqual(tableRows(t)[1], [null, -1, null, false, 1]);
    assert.throws(() => tableFromColumns('f.parquet', [{ name: 'a', values: [1, 2] }, { name: 'b', values: [1] }]), /^MultilossError: f\.parquet: column "b" has 1 values, column "a" 2$/);
    assert.throws(() => tableFromColumns('f.parquet', [{ name: 'a', values: [1] }, { name: 'a', values: [2] }]), /duplicate column name "a"/);
  });

  it('rows and columns train identical models (same seed → same weights) on penguins and the weather data', async () => {
    for (const [configPath, table] of [
      [PENGUINS_CONFIG, penguins()],
      [WEATHER_CONFIG, readTableFile(WEATHER)],
    ] as const) {
      const config = readConfigFile(configPath);
      const columnar = await weightsOf(config, table);
      const rows = await weightsOf(config, { columns: table.columns, rows: tableRows(table), source: table.source });
      assert.equal(rows.length, columnar.length);
      rows.forEach((w, k) => assert.deepEqual(w, columnar[k], `${configPath}: weight ${k}`));
    }
  });

  it('the CLI trains the weights main trained from its row-major tables, in memory and streamed', () => {
    const dir = tempDir('multiloss-columnar-');
    for (const [name, config] of [
      ['penguins', PENGUINS_CONFIG],
      ['weather', WEATHER_CONFIG],
    ] as const) {
      for (const mode of ['memory', 'stream'] as const) {
        const out = join(dir, `${name}-${mode}`);
        const r = cli(['train', '--config', config, '--epochs', '3', '--out', out, '--quiet', ...(mode === 'stream' ? ['--stream'] : [])]);
        assert.equal(r.status, 0, r.stderr);
        const hash = createHash('sha256').update(readFileSync(join(out, 'weights.bin'))).digest('hex').slice(0, 16);
        assert.equal(hash, MAIN_WEIGHTS[`${name} ${mode}`], `${name} ${mode}`);
      }
    }
  });
});
