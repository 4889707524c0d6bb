/**
 * `compare --queue` against a real redis-server and real `multiloss worker`
 * processes: the sweep's figures equal the local pool's for the same seeds,
 * the password is never printed, the same command again reuses every
 * finished run (none is trained twice), and `--dry-run` lists stable run ids.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertRefused, cli, PENGUINS_CONFIG, tempDir } from '../helpers.js';
import { background, finishedRuns, startRedis, type Background, type TestRedis } from './redis-server.js';

const PASSWORD = 's3cret-Pa55word';
const SWEEP = ['compare', '--config', PENGUINS_CONFIG, '--epochs', '3', '--methods', 'equal,pcgrad', '--seeds', '2', '--quiet'];

interface RunJson {
  key: string;
  label: string;
  seed: number;
  validation: { heads: Record<string, { metrics: Record<string, number> }> };
  machine?: { host: string; pid: number };
  history?: Record<string, unknown[]>;
}

/** Timings (and where a run trained) differ between runs; every other figure agrees to 1e-6. */
const TIMING = new Set(['seconds', 'machine', 'id']);
function assertSameFigures(actual: unknown, expected: unknown, at: string): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    assert.ok(Math.abs(actual - expected) <= 1e-6, `${at}: ${actual} vs ${expected}`);
  } else if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object', `${at}: ${JSON.stringify(actual)} vs an object`);
    const keys = (o: object) => Object.keys(o).filter((k) => !TIMING.has(k)).sort();
    assert.deepEqual(keys(actual), keys(expected), at);
    for (const k of keys(expected)) assertSameFigures((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${at}.${k}`);
  } else {
    assert.equal(actual, expected, at);
  }
}

describe('compare --queue: a penguins sweep on two worker processes', { timeout: 600_000 }, () => {
  let redis: TestRedis;
  let workers: Background;
  const dir = tempDir();
  let local: { runs: RunJson[] };
  let queued: { runs: RunJson[]; sweep: string };
  let first: { stdout: string; stderr: string; code: number | null };

  before(async () => {
    redis = await startRedis({ password: PASSWORD });
    workers = background(['worker', '--queue', redis.url, '--concurrency', '2']);
    const local_ = cli([...SWEEP, '--workers', '1', '--json', join(dir, 'local.json')]);
    assert.equal(local_.status, 0, local_.stderr);
    local = JSON.parse(readFileSync(join(dir, 'local.json'), 'utf8')) as typeof local;
    const q = background([...SWEEP.filter((a) => a !== '--quiet'), '--queue', redis.url, '--json', join(dir, 'queue.json')]);
    first = await q.exited;
    assert.equal(first.code, 0, first.stderr);
    queued = JSON.parse(readFileSync(join(dir, 'queue.json'), 'utf8')) as typeof queued;
  });
  after(async () => {
    workers.child.kill('SIGTERM');
    await workers.exited;
    await redis.stop();
  });

  it('gives every run the figures of the local pool (1e-6), trained on the worker processes', () => {
    assert.equal(queued.runs.length, 6);
    assert.deepEqual(
      queued.runs.map((r) => r.key),
      local.runs.map((r) => r.key),
    );
    for (const [i, r] of queued.runs.entries()) {
      const l = local.runs[i];
      // Every figure of the run (validation, per-epoch history of each model, parameters, epochs) but its timings and machine.
      assertSameFigures(r, l, `${r.label} seed ${r.seed}`);
      assert.ok(l.history && Object.keys(l.history).length > 0, 'the local run has its per-epoch history');
      assert.equal(Object.values(r.history ?? {})[0]?.length, 3, 'three epochs of history');
      assert.ok(r.machine && r.machine.pid !== workers.child.pid, 'trained in a worker process');
    }
    assert.equal(new Set(queued.runs.map((r) => r.machine?.pid)).size, 2, 'both worker processes trained runs');
    assert.match(first.stdout, /joint pcgrad/);
    // Progress off a terminal: a line per finished run with the runs running and failed, and the time left.
    assert.match(first.stderr, /\[1\/6\] separate models, seed [45]: [\d.]+s; \d+% done after [\dhm]+s, about [\dhm]+s left; \d running, 0 failed\n/);
    assert.match(first.stderr, /\[6\/6\] .*; \d running, 0 failed\n/);
    // Running: runs being trained, at most one per worker process (a job a worker holds in reserve is not running yet).
    for (const m of first.stderr.matchAll(/; (\d+) running/g)) assert.ok(Number(m[1]) <= 2, first.stderr);
  });

  it('never prints the password (coordinator and workers), and shows the queue without it', () => {
    const all = `${first.stdout}${first.stderr}${workers.out().stdout}${workers.out().stderr}`;
    assert.ok(!all.includes(PASSWORD));
    assert.match(first.stderr, new RegExp(`redis://\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}/0`));
  });

  it('the same command again reuses every finished run: none is trained twice, the same table', async () => {
    const again = background([...SWEEP.filter((a) => a !== '--quiet'), '--queue', redis.url]);
    const r = await again.exited;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /6 runs queued, 6 already finished \(reused\)/);
    assert.equal(r.stdout, first.stdout);
    const done = finishedRuns(workers.out().stderr);
    assert.equal(done.length, 6);
    assert.equal(new Set(done).size, 6);
    // --resume by the sweep's id needs nothing but the queue.
    const resumed = background(['compare', '--queue', redis.url, '--resume', queued.sweep]);
    const rr = await resumed.exited;
    assert.equal(rr.code, 0, rr.stderr);
    assert.equal(rr.stdout, first.stdout);
    assert.equal(finishedRuns(workers.out().stderr).length, 6);
  });

  it('refuses a wrong password, and an unknown sweep, in one line without the password', () => {
    const wrong = redisUrlWith('other-pass', redis.port);
    const r = cli(['compare', '--queue', wrong, '--resume', queued.sweep]);
    assert.notEqual(r.status, 0);
    assert.ok(!r.stderr.includes('other-pass'));
    assertRefused(cli(['compare', '--queue', redis.url, '--resume', 'abcdefabcdef']), /--resume abcdefabcdef: no such sweep on redis:\/\/\*\*\*@127/);
  });
});

const redisUrlWith = (password: string, port: number) => `redis://:${password}@127.0.0.1:${port}/0`;

describe('compare --dry-run: the resolved runs of a grid, with stable ids', () => {
  const dir = tempDir();
  const grid = join(dir, 'grid.yaml');
  writeFileSync(
    grid,
    [
      'methods: [equal, "pcgrad:rep", { method: famo, gamma: 0.01 }]',
      'staticWeights: [{ species: 2, sex: 1, body_mass_g: 1 }]',
      'architectures: [shared, { kind: mmoe, experts: 2 }]',
      'learningRates: [0.005, 0.001]',
      'seeds: [7, 8]',
      '',
    ].join('\n'),
  );
  const lines = (stdout: string) => stdout.trim().split('\n').slice(1);

  it('lists approach × method (with options) × architecture × learning rate × seed, each run once', () => {
    const r = cli(['compare', '--config', PENGUINS_CONFIG, '--grid', grid, '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    // separate: 2 learning rates; joint: 4 methods × 2 architectures × 2 learning rates (18 rows); × 2 seeds.
    assert.match(r.stdout, /^sweep [0-9a-f]{12}: 36 runs \(18 rows × 2 seeds\)/);
    const runs = lines(r.stdout);
    assert.equal(runs.length, 36);
    assert.equal(new Set(runs.map((l) => l.split(' ')[0])).size, 36);
    assert.ok(
      runs.some((l) => / joint +famo\(gamma=0\.01\) · mmoe\(experts=2\) · lr 0\.001 +seed 8 +lr 0\.001 +mmoe$/.test(l)),
      r.stdout,
    );
    assert.ok(runs.some((l) => /static\(species=2, sex=1, body_mass_g=1\) · shared · lr 0\.005 +seed 7/.test(l)));
    assert.ok(runs.some((l) => / separate +separate · lr 0\.001 +seed 7/.test(l)));
    // The same grid again: the same ids; a run's id depends on its configuration, not on how the grid named it.
    assert.equal(cli(['compare', '--config', PENGUINS_CONFIG, '--grid', grid, '--dry-run']).stdout, r.stdout);
  });

  it('a run is identified by what it trains: the default learning rate spelt out gives the same ids', () => {
    const plain = cli(['compare', '--config', PENGUINS_CONFIG, '--methods', 'equal', '--seeds', '2', '--dry-run']);
    const spelt = cli(['compare', '--config', PENGUINS_CONFIG, '--methods', 'equal', '--seeds', '2', '--learning-rates', '0.005', '--dry-run']);
    assert.equal(plain.status, 0, plain.stderr);
    assert.deepEqual(
      lines(spelt.stdout).map((l) => l.split(' ')[0]),
      lines(plain.stdout).map((l) => l.split(' ')[0]),
    );
    const other = cli(['compare', '--config', PENGUINS_CONFIG, '--methods', 'equal', '--seeds', '2', '--learning-rates', '0.004', '--dry-run']);
    assert.notDeepEqual(
      lines(other.stdout).map((l) => l.split(' ')[0]),
      lines(plain.stdout).map((l) => l.split(' ')[0]),
    );
  });

  it("the README's example: architectures × learning rates from flags (2 separate + 8 methods × 2 × 2 rows, 3 seeds)", () => {
    const r = cli([
      'compare',
      '--config',
      PENGUINS_CONFIG,
      '--architectures',
      'shared,mmoe',
      '--learning-rates',
      '0.01,0.003',
      '--queue',
      'redis://:PASSWORD@HOST:6379/0',
      '--dry-run',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^sweep [0-9a-f]{12}: 102 runs \(34 rows × 3 seeds\)/);
    assert.match(r.stdout, / joint +upgrad · mmoe · lr 0\.003 +seed 6 +lr 0\.003 +mmoe\n/);
  });

  it('refuses a bad grid in one line naming the key', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'methods: [equal]\nlearningRate: [0.1]\n');
    assertRefused(cli(['compare', '--config', PENGUINS_CONFIG, '--grid', bad, '--dry-run']), /bad\.yaml: \(top level\): unknown key "learningRate"/);
    writeFileSync(bad, 'methods: [equal, nope]\n');
    assertRefused(cli(['compare', '--config', PENGUINS_CONFIG, '--grid', bad, '--dry-run']), /methods\[1\]: unknown balancing method "nope"/);
    writeFileSync(bad, 'staticWeights: [{ wings: 1 }]\n');
    assertRefused(cli(['compare', '--config', PENGUINS_CONFIG, '--grid', bad, '--dry-run']), /staticWeights\[0\]: unknown head "wings"/);
    assertRefused(cli(['compare', '--config', PENGUINS_CONFIG, '--queue', 'http://x', '--dry-run']), /--queue: unsupported scheme http:/);
  });
});
