/**
 * Memory of a whole-file Parquet read (issue 22): reading the 1,000,000-row table of the memory
 * benchmark (bench/synthetic-table.ts) as Parquet written by DuckDB from its CSV (nullable
 * columns, as DuckDB writes them, in row groups of 65,536 rows) into a table
 * costs at most a bounded multiple of the table itself. The read decodes one column chunk at a
 * time from disk (src/data/parquet.ts, src/io/parquet-file.ts); decoding the whole file at once
 * from its bytes in memory held every row group's decoded arrays together. Measured in a child
 * process: its peak RSS (`process.resourceUsage().maxRSS`) before and after the read.
 * Figures: BENCHMARKS.md, "Columnar tables" (the Parquet read's memory).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { duckdbParquet, sqlString } from '../../bench/duckdb-parquet.js';
import { maxRssRunner } from '../../bench/max-rss.js';
import { writeTableCsv } from '../../bench/synthetic-table.js';
import { ROOT, tempDir } from '../helpers.js';

const ROWS = 1_000_000;
/**
 * Peak RSS growth of the read. The table holds 55 MB (6 numeric columns of 8 + 1 bytes a row,
 * one dictionary-coded column of 4); the read grew the peak by 123–125 MB here (sources through
 * tsx), the read that decoded the whole file at once from its bytes in memory by 322 MB. The
 * bound sits between, 60% above the former, for another machine's garbage-collection timing.
 */
const LIMIT_MB = 200;

describe('memory of a whole-file Parquet read', { timeout: 300_000 }, () => {
  const dir = tempDir('multiloss-parquet-memory-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`reads a ${ROWS.toLocaleString('en')}-row Parquet file with its peak RSS growing by less than ${LIMIT_MB} MB`, async (t) => {
    const csv = join(dir, 'table.csv');
    writeTableCsv(csv, ROWS);
    const file = await duckdbParquet(`SELECT * FROM read_csv(${sqlString(csv)})`, join(dir, 'table.parquet'), 'ROW_GROUP_SIZE 65536');
    rmSync(csv);
    const read = maxRssRunner(
      dir,
      join(ROOT, 'src', 'io', 'table-file.ts'),
      `const before = process.resourceUsage().maxRSS;
       const table = await entry.readDataFile(process.argv[2]);
       const after = process.resourceUsage().maxRSS;
       console.log(JSON.stringify({ rows: table.length, columns: table.columns, flagMissing: table.data[6].missing.reduce((a, b) => a + b, 0), grownMb: (after - before) / 1024 }));`,
    );
    const r = await read([file]);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { rows: number; columns: string[]; flagMissing: number; grownMb: number };
    assert.equal(got.rows, ROWS);
    assert.deepEqual(got.columns, ['x1', 'x2', 'x3', 'x4', 'class', 'y', 'flag']);
    assert.equal(got.flagMissing, Math.floor((ROWS - 4) / 7) + 1, 'the flag is missing in 1 row of 7');
    t.diagnostic(`peak RSS grown by ${got.grownMb.toFixed(0)} MB, ${r.seconds.toFixed(1)} s`);
    assert.ok(got.grownMb < LIMIT_MB, `the read grew the peak RSS by ${got.grownMb.toFixed(0)} MB (limit ${LIMIT_MB} MB)`);
  });
});
