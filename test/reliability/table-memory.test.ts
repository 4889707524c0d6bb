/**
 * Memory proportional to the data (issue 22): `multiloss train` in memory (no
 * --stream) on the generated 1,000,000-row table of bench/synthetic-table.ts
 * (40 MB of CSV) stays far below the 1,837 MB peak RSS that main's row-major
 * tables took for the same file and configuration. Slow (about a minute): one
 * CLI process, its peak RSS read at exit. Figures beside pandas:
 * `npm run bench -- table-memory` (BENCHMARKS.md, "Columnar tables").
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { maxRssRunner } from '../../bench/max-rss.js';
import { writeTableConfig, writeTableCsv } from '../../bench/synthetic-table.js';
import { loadModel } from '../../src/io/model-dir.js';
import { useDefaultBackend, tempDir } from '../helpers.js';

const ROWS = 1_000_000;
/** Main (row-major Cell[][]) peaked at 1,837 MB on this run; columnar tables at about 470 MB. */
const LIMIT_MB = 800;

describe('memory of a large table read whole', { timeout: 900_000 }, () => {
  const dir = tempDir('multiloss-table-memory-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`trains a ${ROWS.toLocaleString('en')}-row CSV in memory with a peak RSS under ${LIMIT_MB} MB`, async () => {
    const data = join(dir, 'table.csv');
    writeTableCsv(data, ROWS);
    const config = join(dir, 'config.json');
    const out = join(dir, 'model');
    writeTableConfig(config, data, out);
    const r = await maxRssRunner(dir)(['train', '--config', config]);
    rmSync(data);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /1000000 rows from .*table\.csv/);
    assert.ok(r.maxRssMb < LIMIT_MB, `peak RSS ${r.maxRssMb.toFixed(0)} MB (limit ${LIMIT_MB} MB), ${r.seconds.toFixed(0)} s`);
    await useDefaultBackend();
    const model = await loadModel(out);
    try {
      const metrics = model.info().metrics.validation;
      assert.ok(metrics, 'validation metrics');
      assert.ok(metrics.heads.class.metrics.accuracy > 0.7, `class accuracy ${metrics.heads.class.metrics.accuracy}`);
      assert.ok(metrics.heads.y.metrics.r2 > 0.5, `y R² ${metrics.heads.y.metrics.r2}`);
    } finally {
      model.dispose();
    }
  });
});
