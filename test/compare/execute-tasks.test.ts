/**
 * runTasks, the one way the compare layer runs a list of resolved runs
 * (compare's sweep, or a batch of it such as a successive-halving rung): in
 * this thread and on the worker-thread pool the results come back in task
 * order with the same figures, per-epoch history included; with an executor
 * (a queue) the tasks go to it as they are.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareBase, compareSplit, compareTasks, runTasks, type RunExecutor } from '../../src/compare/compare.js';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { readConfigFile } from '../../src/io/config-file.js';
import { penguins, PENGUINS_CONFIG } from '../helpers.js';

describe('runTasks', () => {
  const raw = readConfigFile(PENGUINS_CONFIG);
  raw.training = { ...(raw.training as object), epochs: 2, earlyStopping: false };
  const config = compareBase(resolveConfig(parseConfig(raw)));
  const data = compareSplit(config, { table: penguins() });
  const tasks = compareTasks(config, ['equal', 'pcgrad'], [3]);

  it('in this thread and on the pool: results in task order, the same figures and history', async () => {
    const here = await runTasks(tasks, data, { workers: 0 });
    const pool = await runTasks(tasks, data, { workers: 2 });
    assert.deepEqual(
      here.results.map((r) => r.key),
      tasks.map((t) => t.key),
    );
    assert.deepEqual(here.failed, []);
    for (const [i, r] of here.results.entries()) {
      const p = pool.results[i];
      assert.equal(p.key, r.key);
      assert.deepEqual({ ...p, seconds: 0 }.validation, r.validation);
      assert.equal(Object.values(r.history ?? {})[0]?.length, 2, 'two epochs of history');
      assert.deepEqual(
        JSON.stringify(p.history, (k, v: unknown) => (k === 'seconds' ? 0 : v)),
        JSON.stringify(r.history, (k, v: unknown) => (k === 'seconds' ? 0 : v)),
      );
    }
    assert.deepEqual(Object.keys(here.results[0].history ?? {}), ['species', 'sex', 'body_mass_g'], 'separate models: a history per head');
    assert.deepEqual(Object.keys(here.results[1].history ?? {}), ['joint']);
  });

  it('with an executor, the tasks go to it and its outcome comes back; no tasks, no work', async () => {
    const seen: string[] = [];
    const execute: RunExecutor = async (given) => {
      seen.push(...given.map((t) => t.key));
      return { results: [], failed: given.map((t) => ({ key: t.key, label: t.label, seed: t.seed, error: 'x', attempts: 1 })) };
    };
    const out = await runTasks(tasks.slice(1), data, { workers: 1, execute });
    assert.deepEqual(seen, [tasks[1].key, tasks[2].key]);
    assert.equal(out.failed.length, 2);
    assert.deepEqual(await runTasks([], data, { workers: 1, execute }), { results: [], failed: [] });
    assert.equal(seen.length, 2);
  });
});
