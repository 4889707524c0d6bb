// trainLayersModel reads an iterable batch by batch: training on 10M rows from a generator
// keeps the resident set flat (it never holds the rows: their features alone would take
// 10M × 8 × 4 bytes = 320 MB). Measured in a child process (children/stream-rss.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const ROWS = 10_000_000;
const BATCH = 100_000;
const MB = 1024 * 1024;
/** Half of what the features alone would take in memory. */
const BOUND = (ROWS * 8 * 4) / 2;

test('training from a generator of 10M rows keeps the resident set flat', () => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(import.meta.dirname, 'children/stream-rss.ts'), String(ROWS), String(BATCH)], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const r = JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as { before: number; peak: number; batchesPerEpoch: number; batchesTrained: number; loss: number; finalLoss: number };
  // Every row was trained on, batch by batch.
  assert.equal(r.batchesPerEpoch, ROWS / BATCH);
  assert.equal(r.batchesTrained, ROWS / BATCH);
  assert.ok(r.finalLoss < r.loss, `the model learned: epoch loss ${r.loss}, final ${r.finalLoss}`);
  const growth = r.peak - r.before;
  assert.ok(growth < BOUND, `resident set grew by ${(growth / MB).toFixed(0)} MB (bound ${(BOUND / MB).toFixed(0)} MB)`);
});
