/**
 * Memory proportional to the data (issue 22): `multiloss train` in memory (no
 * --stream) on the generated 1,000,000-row table of bench/synthetic-table.ts
 * (40 MB of CSV) keeps its peak RSS far below what main's row-major tables
 * took for the same file and configuration, measured above the process's own
 * baseline. Slow (about a minute): a baseline process and one CLI process,
 * each one's peak RSS read at exit. Figures beside pandas:
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

const BASELINE = join(import.meta.dirname, '..', '..', 'bench', 'baseline-rss.ts');
const ROWS = 1_000_000;
/**
 * Peak RSS above the process's own baseline (library and backend loaded, no data: bench/baseline-rss.ts).
 * Main (row-major Cell[][]) took 1,640 MB above it on this run; columnar tables 158–257 MB in
 * the runs of BENCHMARKS.md ("Columnar tables"), the spread being when V8 collects. The bound
 * leaves about 35% above the worst of those for another machine's garbage-collection timing.
 */
const LIMIT_ABOVE_BASELINE_MB = 350;

describe('memory of a large table read whole', { timeout: 900_000 }, () => {
  const dir = tempDir('multiloss-table-memory-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`trains a ${ROWS.toLocaleString('en')}-row CSV in memory with a peak RSS less than ${LIMIT_ABOVE_BASELINE_MB} MB above the baseline`, async () => {
    const data = join(dir, 'table.csv');
    writeTableCsv(data, ROWS);
    const config = join(dir, 'config.json');
    const out = join(dir, 'model');
    writeTableConfig(config, data, out);
    const baseline = await maxRssRunner(dir, BASELINE)([]);
    assert.equal(baseline.code, 0, baseline.stderr);
    const r = await maxRssRunner(dir)(['train', '--config', config]);
    rmSync(data);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /1000000 rows from .*table\.csv/);
    const above = r.maxRssMb - baseline.maxRssMb;
    assert.ok(above < LIMIT_ABOVE_BASELINE_MB, `peak RSS ${r.maxRssMb.toFixed(0)} MB, ${above.toFixed(0)} MB above the ${baseline.maxRssMb.toFixed(0)} MB baseline (limit ${LIMIT_ABOVE_BASELINE_MB} MB), ${r.seconds.toFixed(0)} s`);
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
