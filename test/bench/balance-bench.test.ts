// `npm run bench -- balance` must keep working: a small run of the real bench (both paths this
// process has, a few methods, the concurrent per-step timing) gives one row per method and path
// with positive figures, static's ratio exactly 1, and every method's expectation attached.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBalance } from '../../bench/balance.js';

describe('balance bench (smoke)', () => {
  it('runs static, gradnorm, famo and pcgrad:rep concurrently and reports per-step figures and ratios', async () => {
    const r = await runBalance({ rows: 512, epochs: 1, rounds: 1, methods: ['gradnorm', 'famo', 'pcgrad:rep'] });
    assert.deepEqual(
      r.rows.filter((row) => row.path === r.paths[0]).map((row) => `${row.method}:${row.mode}`),
      ['static:-', 'famo:-', 'gradnorm:-', 'pcgrad:rep'],
    );
    assert.equal(r.rows.length, 4 * r.paths.length);
    for (const row of r.rows) {
      assert.ok(row.samplesPerSecond > 0 && Number.isFinite(row.samplesPerSecond), `${row.path} ${row.method}: ${row.samplesPerSecond}`);
      assert.ok(row.stepMs > 0 && Math.abs(row.samplesPerSecond - 128000 / row.stepMs) < 1e-6 * row.samplesPerSecond);
      assert.equal(row.rounds.length, 1);
      if (row.method === 'static') assert.equal(row.ratio, 1);
      else assert.ok(row.ratio > 0 && row.ratio < 5, `${row.path} ${row.method}: ratio ${row.ratio}`);
    }
    assert.equal(r.rows.find((row) => row.method === 'famo')?.expected, 0.75);
    assert.equal(r.rows.find((row) => row.method === 'gradnorm')?.expected, 0.9);
    assert.equal(r.rows.find((row) => row.method === 'pcgrad')?.expected, 0.6);
  });
});
