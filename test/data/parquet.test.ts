/**
 * Parquet input: files written by DuckDB (an independent writer) read to the same tables as the
 * bundled JSON / CSV they were copied from, under every codec DuckDB writes; column types come
 * from the schema; streaming reads one row group at a time.
 */
import { tableRows } from '../../src/data/table-build.js';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { inferColumnTypes, parseNumber } from '../../src/data/infer.js';
import { normalizeMissing } from '../../src/data/missing.js';
import { FeaturePreprocessor } from '../../src/data/preprocess.js';
import { StreamingPreprocessorFit } from '../../src/data/preprocess-stream.js';
import { tableFromColumnValues } from '../../src/data/columns.js';
import { ParquetSource, readParquet, type AsyncBuffer } from '../../src/data/parquet.js';
import type { Cell, Table } from '../../src/data/table.js';
import { openTableStream } from '../../src/io/stream-table.js';
import { readDataFile, readTableFile } from '../../src/io/table-file.js';
import { penguins, tempDir } from '../helpers.js';
import { throwsMultiloss } from './helpers.js';
import { duckdbParquet, penguinsParquet, WEATHER_TRAIN, weatherParquet } from './duckdb.js';

function bufferOf(path: string): ArrayBuffer {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

/** A CSV table's cells as the Parquet copy holds them: numbers in `numeric` columns, the text otherwise. */
function typedLike(csv: Table, numeric: readonly string[]): Cell[][] {
  const at = numeric.map((c) => csv.columns.indexOf(c));
  return tableRows(csv).map((r) => r.map((v, j) => (at.includes(j) && v !== null ? parseNumber(v) : v)));
}

describe('Parquet input (files written by DuckDB)', () => {
  const dir = tempDir();
  let penguinsFile: string;
  let weatherFile: string;
  before(async () => {
    penguinsFile = await penguinsParquet(dir);
    weatherFile = await weatherParquet(WEATHER_TRAIN, join(dir, 'weather-2012-2014.parquet'), 'ROW_GROUP_SIZE 100');
  });

  it('penguins: the same table as data/penguins.json (strings, doubles, BIGINTs, nulls)', async () => {
    const json = penguins();
    const parquet = await readDataFile(penguinsFile);
    assert.deepEqual(parquet.columns, json.columns);
    assert.equal(tableRows(parquet).length, 344);
    assert.deepEqual(tableRows(parquet), tableRows(json));
    assert.equal(parquet.source, penguinsFile);
    // The synchronous text reader points to the one that reads Parquet.
    throwsMultiloss(() => readTableFile(penguinsFile), 'usage', `${penguinsFile}: a Parquet file is read by readDataFile (asynchronous), not readTableFile`);
  });

  it('weather 2012–2014: the same table as its CSV (DATE as its ISO text, DOUBLE as numbers), over several row groups', async () => {
    const csv = readTableFile(WEATHER_TRAIN);
    const parquet = await readDataFile(weatherFile);
    const source = await ParquetSource.open(bufferOf(weatherFile), weatherFile);
    assert.ok(source.rowGroups.length >= 2, `DuckDB wrote ${source.rowGroups.length} row groups (at least 2048 rows each)`);
    assert.deepEqual(parquet.columns, csv.columns);
    assert.deepEqual(tableRows(parquet), typedLike(csv, ['precipitation', 'temp_max', 'temp_min', 'wind']));
  });

  for (const codec of ['uncompressed', 'snappy', 'gzip', 'zstd', 'brotli', 'lz4']) {
    it(`reads DuckDB's ${codec} compression`, async () => {
      const file = await duckdbParquet(`SELECT * FROM read_parquet('${penguinsFile}')`, join(dir, `penguins-${codec}.parquet`), `COMPRESSION ${codec}`);
      assert.deepEqual(tableRows(await readDataFile(file)), tableRows(penguins()));
    });
  }

  it('types come from the schema: integers, decimals, floats, strings, enums, booleans, dates and timestamps; null and NaN are missing', async () => {
    const file = await duckdbParquet(
      `SELECT * FROM (VALUES
        (1::TINYINT, 2::BIGINT, 1.25::DECIMAL(10,2), 12345678901.5::DECIMAL(20,1), 0.5::FLOAT, 'x', 'a'::ENUM('a','b'), true, DATE '2020-01-02', TIMESTAMP '2020-01-02 03:04:05', 1.0::DOUBLE),
        (NULL, -7, -0.5, NULL, NULL, NULL, 'b', false, NULL, NULL, 'nan'::DOUBLE),
        (-3, NULL, NULL, -1.5, 2.0, '', NULL, NULL, DATE '1969-12-31', TIMESTAMP '1960-06-01 00:00:00', 2.5)
      ) t(i8, i64, dec, bigdec, f32, s, e, b, d, ts, dbl)`,
      join(dir, 'types.parquet'),
    );
    const t = await readDataFile(file);
    assert.deepEqual(t.columns, ['i8', 'i64', 'dec', 'bigdec', 'f32', 's', 'e', 'b', 'd', 'ts', 'dbl']);
    assert.deepEqual(tableRows(t), [
      [1, 2, 1.25, 12345678901.5, 0.5, 'x', 'a', true, '2020-01-02', '2020-01-02T03:04:05.000Z', 1],
      [null, -7, -0.5, null, null, null, 'b', false, null, null, null],
      [-3, null, null, -1.5, 2, '', null, null, '1969-12-31', '1960-06-01T00:00:00.000Z', 2.5],
    ]);
  });

  it('a struct or a map column is refused, naming the file and the column', async () => {
    const struct = await duckdbParquet("SELECT 1 AS a, {'k': 1} AS point", join(dir, 'struct.parquet'));
    await assert.rejects(readDataFile(struct), { message: `${struct}: column "point" is a struct (nested) column; multiloss reads flat columns of numbers, strings, booleans, dates and timestamps` });
    const map = await duckdbParquet("SELECT 1 AS a, MAP {'k': 1} AS m", join(dir, 'map.parquet'));
    await assert.rejects(readDataFile(map), { message: /map\.parquet: column "m" is a map \(nested\) column/ });
    assert.deepEqual(tableRows(await readDataFile(map, undefined, { columns: ['a'] })), [[1]]);
  });

  it('a text column keeps the schema\'s type: digits stay categories (the same text in a CSV is inferred numeric)', async () => {
    const file = await duckdbParquet("SELECT * FROM (VALUES ('1', '02134', 'x', 1.5), ('2.5', NULL, 'y', 2)) t(digits, zip, word, x)", join(dir, 'text.parquet'));
    const t = await readDataFile(file);
    assert.deepEqual(tableRows(t), [['1', '02134', 'x', 1.5], ['2.5', null, 'y', 2]]);
    assert.deepEqual(inferColumnTypes(t), { digits: 'categorical', zip: 'categorical', word: 'categorical', x: 'numeric' });
    const csv = join(dir, 'text.csv');
    writeFileSync(csv, 'digits,zip,word,x\n1,02134,x,1.5\n2.5,,y,2\n');
    assert.deepEqual(inferColumnTypes(readTableFile(csv)), { digits: 'numeric', zip: 'numeric', word: 'categorical', x: 'numeric' });
    // Preprocessing fits them as categories, read whole or streamed row group by row group; a feature's type: still overrides.
    const features = [{ name: 'digits' }, { name: 'zip' }, { name: 'x' }];
    const whole = FeaturePreprocessor.fit(t, features).toJSON();
    assert.deepEqual(whole.features.map((f) => f.type), ['categorical', 'categorical', 'numeric']);
    assert.deepEqual(FeaturePreprocessor.fit(t, [{ name: 'digits', type: 'numeric' }]).toJSON().features[0].type, 'numeric');
    const streamed = new StreamingPreprocessorFit(features, () => true);
    const reader = await openTableStream(file, { batchSize: 1 });
    try {
      for (let batch = await reader.next(); batch; batch = await reader.next()) streamed.add(normalizeMissing(batch));
    } finally {
      reader.close();
    }
    assert.deepEqual(streamed.finish(file, t.columns).toJSON(), whole);
  });

  it('a 64-bit integer beyond ±(2^53 − 1) is an error naming the file, column and row, never a rounded number', async () => {
    const file = await duckdbParquet('SELECT * FROM (VALUES (9007199254740991::BIGINT, -9007199254740991::BIGINT, 1.5), (9007199254740993::BIGINT, 1::BIGINT, 2.5)) t(id, ok, x)', join(dir, 'int64.parquet'));
    await assert.rejects(readDataFile(file), {
      message: `${file}: row 2, column "id": the 64-bit integer 9007199254740993 is beyond ±(2^53 − 1), the largest a number holds exactly (leave the column out of the features, or store it as a string)`,
    });
    // The largest exact integers read exactly; without the column the file reads.
    assert.deepEqual(tableRows(await readDataFile(file, undefined, { columns: ['ok', 'x'] })), [[-9007199254740991, 1.5], [1, 2.5]]);
    const first = await duckdbParquet('SELECT 9007199254740991::BIGINT AS id', join(dir, 'int64-max.parquet'));
    assert.deepEqual(tableRows(await readDataFile(first)), [[9007199254740991]]);
  });

  it('columns: reads only those asked for, in the file order', async () => {
    const t = await readParquet(bufferOf(penguinsFile), 'p.parquet', { columns: ['Sex', 'Species'] });
    assert.deepEqual(t.columns, ['Species', 'Sex']);
    assert.deepEqual(tableRows(t)[0], ['Adelie', 'MALE']);
  });

  it('--stream reads one row group at a time: each read stays inside its row group, batches number the file rows', async () => {
    const streamed = await duckdbParquet("SELECT i, i * 0.5 AS x, 'c' || (i % 7) AS s FROM range(20000) t(i)", join(dir, 'range.parquet'), 'ROW_GROUP_SIZE 2048');
    const bytes = bufferOf(streamed);
    const slices: [number, number][] = [];
    const file: AsyncBuffer = { byteLength: bytes.byteLength, slice: (start, end) => (slices.push([start, end ?? bytes.byteLength]), bytes.slice(start, end)) };
    const source = await ParquetSource.open(file, 'w.parquet');
    const groups = source.rowGroups;
    const whole = await readParquet(bytes, 'w.parquet');
    for (let g = 0; g < groups.length; g++) {
      slices.length = 0;
      const columns = await source.readColumns(groups[g][0], groups[g][1]);
      assert.equal(columns[0].values.length, groups[g][1] - groups[g][0]);
      // 10 row groups: reading one takes its own column chunks, well under a quarter of the file.
      const span = slices.reduce((a, [s, e]) => a + (e - s), 0);
      assert.ok(span > 0 && span < bytes.byteLength / 4, `row group ${g}: read ${span} of ${bytes.byteLength} bytes`);
    }
    assert.equal(groups.length, 10);
    // A range inside a row group: hyparquet decodes the whole group, only the rows asked for are kept.
    const inside = await source.readColumns(5000, 5010);
    assert.deepEqual(tableRows(tableFromColumnValues(inside, { source: 'w.parquet', rows: 10 })), tableRows(whole).slice(5000, 5010));
    const reader = await openTableStream(streamed, { batchSize: 1000 });
    const rows: Cell[][] = [];
    const numbers: number[] = [];
    for (let b = await reader.next(); b !== null; b = await reader.next()) {
      assert.ok(tableRows(b).length <= 1000);
      rows.push(...tableRows(b));
      numbers.push(...(b.rowNumbers ?? tableRows(b).map((_, i) => i + 1)));
    }
    assert.deepEqual(rows, tableRows(whole));
    assert.deepEqual(numbers, tableRows(whole).map((_, i) => i + 1));
    assert.equal(reader.rows, 20000);
  });
});
