/**
 * Faults of a distributed sweep, each against a real redis-server and real
 * worker processes (short lock and stall intervals so that a dead worker's
 * run is taken over within seconds): a worker killed mid-run, a run that
 * throws, Redis restarted mid-sweep, the coordinator killed and restarted,
 * data (a table file, an image) changed after queueing.
 */
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PENGUINS, PENGUINS_CONFIG, tempDir } from '../helpers.js';
import { background, finishedRuns, startRedis } from './redis-server.js';
import { pngBytes, writeImageFolder } from '../images/image-folder.js';

const FAST_STALL = ['--lock-duration', '2000', '--stalled-interval', '1000'];
const sweep = (url: string, epochs: number, extra: string[] = []) => [
  'compare',
  '--config',
  PENGUINS_CONFIG,
  '--epochs',
  String(epochs),
  '--no-early-stopping',
  '--methods',
  'equal,famo',
  '--seeds',
  '2',
  '--queue',
  url,
  ...extra,
];
const runsOf = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { runs: { key: string }[] }).runs.map((r) => r.key);

describe('distributed sweep faults', { timeout: 900_000 }, () => {
  it('a worker killed with SIGKILL mid-run: its run stalls and another worker finishes it, counted once; SIGTERM lets a worker finish its run', async () => {
    const redis = await startRedis();
    const dir = tempDir();
    try {
      const a = background(['worker', '--queue', redis.url, ...FAST_STALL]);
      const coordinator = background(sweep(redis.url, 60, ['--json', join(dir, 'r.json')]));
      await a.waitFor(/run [0-9a-f]{20} \(separate, seed 4\) started/);
      a.child.kill('SIGKILL');
      await a.exited;
      const killedRun = /run ([0-9a-f]{20}) \(separate, seed 4\) started/.exec(a.out().stderr)?.[1];
      assert.ok(killedRun);
      assert.ok(!finishedRuns(a.out().stderr).includes(killedRun), 'killed before it finished');
      const b = background(['worker', '--queue', redis.url, ...FAST_STALL]);
      // SIGTERM while B trains: B finishes that run, takes no other, and exits 0.
      await b.waitFor(/run [0-9a-f]{20} \([^)]*\) started/);
      const current = /run ([0-9a-f]{20}) \([^)]*\) started/.exec(b.out().stderr)?.[1] as string;
      b.child.kill('SIGTERM');
      const bDone = await b.exited;
      assert.equal(bDone.code, 0, bDone.stderr);
      assert.deepEqual(finishedRuns(bDone.stderr), [current], 'B finished its current run and started no other');
      const c = background(['worker', '--queue', redis.url, ...FAST_STALL]);
      const done = await coordinator.exited;
      assert.equal(done.code, 0, done.stderr);
      c.child.kill('SIGTERM');
      const bLog = bDone.stderr + (await c.exited).stderr;
      assert.ok(finishedRuns(bLog).includes(killedRun), 'another worker finished the killed run');
      assert.equal(finishedRuns(bLog).length, 6, 'each run trained to the end once');
      const keys = runsOf(join(dir, 'r.json'));
      assert.equal(keys.length, 6);
      assert.equal(new Set(keys).size, 6, 'each run counted once');
      assert.doesNotMatch(done.stdout, /failed/);
    } finally {
      await redis.stop();
    }
  });

  it('a worker stopped while it holds a short run in reserve hands that run back: another worker trains it, once', async () => {
    const redis = await startRedis();
    const dir = tempDir();
    try {
      const a = background(['worker', '--queue', redis.url]);
      const coordinator = background([...sweep(redis.url, 1, ['--json', join(dir, 'r.json')]), '--seeds', '3']);
      // After two short runs A holds the next job in reserve while it trains the third.
      await a.waitFor(/(run [0-9a-f]{20} \([^)]*\) finished[\s\S]*){2}run [0-9a-f]{20} \([^)]*\) started/);
      a.child.kill('SIGTERM');
      const aDone = await a.exited;
      assert.equal(aDone.code, 0, aDone.stderr);
      const handedBack = /run ([0-9a-f]{20}) handed back to the queue \(stopping\)/.exec(aDone.stderr)?.[1];
      assert.ok(handedBack, aDone.stderr);
      assert.ok(!finishedRuns(aDone.stderr).includes(handedBack), 'A never trained the run it handed back');
      const b = background(['worker', '--queue', redis.url]);
      const done = await coordinator.exited;
      assert.equal(done.code, 0, done.stderr);
      b.child.kill('SIGTERM');
      const bLog = (await b.exited).stderr;
      assert.ok(finishedRuns(bLog).includes(handedBack), 'B trained the run A handed back');
      const trained = [...finishedRuns(aDone.stderr), ...finishedRuns(bLog)];
      assert.equal(trained.length, 9);
      assert.equal(new Set(trained).size, 9, 'no run trained twice');
      assert.equal(new Set(runsOf(join(dir, 'r.json'))).size, 9);
      assert.doesNotMatch(done.stdout, /failed/i);
    } finally {
      await redis.stop();
    }
  });

  it('a run that throws is retried up to --attempts, then reported failed in the table; the sweep completes', async () => {
    const redis = await startRedis();
    const dir = tempDir();
    try {
      const w = background(['worker', '--queue', redis.url]);
      // A learning rate of 1e30 makes the loss NaN at the first steps: those runs throw on every attempt.
      const c = background([
        ...sweep(redis.url, 3, [
          '--json',
          join(dir, 'r.json'),
          '--attempts',
          '2',
          '--learning-rates',
          '0.005,1e30',
          '--approaches',
          'separate,joint',
          '--seeds',
          '1',
        ]),
      ]);
      const done = await c.exited;
      w.child.kill('SIGTERM');
      const wLog = (await w.exited).stderr;
      assert.equal(done.code, 0, done.stderr);
      // 2 separate + 2 methods × 2 learning rates = 6 runs; the 3 at 1e30 fail.
      assert.match(done.stdout, /separate models · lr 1e\+30 \(1\/1 seeds failed\)/);
      assert.match(done.stdout, /joint famo · lr 1e\+30 \(1\/1 seeds failed\)/);
      assert.match(done.stdout, /Failed: joint equal · lr 1e\+30, seed 4 \(run [0-9a-f]{20}, 2 attempts\): .*loss became NaN/);
      assert.doesNotMatch(done.stdout, /joint equal · lr 0\.005 \(/);
      assert.equal((wLog.match(/failed \(attempt 2\)/g) ?? []).length, 3, wLog);
      assert.equal((wLog.match(/failed \(attempt 3\)/g) ?? []).length, 0);
      assert.equal(runsOf(join(dir, 'r.json')).length, 3);
      assert.match(done.stderr, /3 runs failed/);
    } finally {
      await redis.stop();
    }
  });

  it('Redis restarted mid-sweep: workers and the coordinator reconnect and the sweep completes', async () => {
    const redis = await startRedis();
    const dir = tempDir();
    try {
      const w = background(['worker', '--queue', redis.url]);
      const c = background(sweep(redis.url, 20, ['--json', join(dir, 'r.json')]));
      await c.waitFor(/\[2\/6\]/);
      await redis.stop();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await redis.start();
      const done = await c.exited;
      w.child.kill('SIGTERM');
      await w.exited;
      assert.equal(done.code, 0, done.stderr);
      const keys = runsOf(join(dir, 'r.json'));
      assert.equal(keys.length, 6);
      assert.equal(new Set(keys).size, 6);
    } finally {
      await redis.stop();
    }
  });

  it('the coordinator killed and restarted: no finished run is redone', async () => {
    const redis = await startRedis();
    const dir = tempDir();
    try {
      const w = background(['worker', '--queue', redis.url]);
      const first = background(sweep(redis.url, 20));
      await first.waitFor(/\[2\/6\]/);
      first.child.kill('SIGKILL');
      await first.exited;
      const second = background(sweep(redis.url, 20, ['--json', join(dir, 'r.json')]));
      const done = await second.exited;
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stderr, /6 runs queued, [2-6] already finished \(reused\)/);
      w.child.kill('SIGTERM');
      const wLog = (await w.exited).stderr;
      const trained = finishedRuns(wLog);
      assert.equal(trained.length, 6, wLog);
      assert.equal(new Set(trained).size, 6, 'no run trained twice');
      assert.equal(runsOf(join(dir, 'r.json')).length, 6);
      // SIGTERM let the worker finish and stop cleanly.
      assert.match(wLog, /SIGTERM: finishing the current run, then stopping/);
      assert.match(wLog, /stopped/);
    } finally {
      await redis.stop();
    }
  });

  it('a data file changed after queueing: workers fail its runs with the reason, and --resume refuses', async () => {
    const redis = await startRedis();
    const dir = tempDir();
    const data = join(dir, 'penguins.json');
    copyFileSync(PENGUINS, data);
    try {
      const c = background([
        'compare',
        '--config',
        PENGUINS_CONFIG,
        '--data',
        data,
        '--epochs',
        '2',
        '--methods',
        'equal',
        '--seeds',
        '1',
        '--attempts',
        '1',
        '--queue',
        redis.url,
      ]);
      await c.waitFor(/runs queued/);
      const sweepId = /sweep ([0-9a-f]{12}) on/.exec(c.out().stderr)?.[1];
      appendFileSync(data, '\n');
      const w = background(['worker', '--queue', redis.url]);
      const done = await c.exited;
      w.child.kill('SIGTERM');
      await w.exited;
      assert.equal(done.code, 0, done.stderr);
      assert.match(
        done.stdout,
        /Failed: separate models, seed 4 \(run [0-9a-f]{20}, 1 attempt\): the data file .*penguins\.json on .* is not the sweep's \(fingerprint/,
      );
      assert.match(done.stderr, /2 runs failed/);
      const resumed = background(['compare', '--queue', redis.url, '--resume', sweepId as string]);
      const r = await resumed.exited;
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^multiloss: --resume [0-9a-f]{12}: .*penguins\.json has changed since the sweep was queued\n$/);
    } finally {
      await redis.stop();
    }
  });

  it('an image changed after queueing: workers fail its runs with the reason, and --resume refuses', async () => {
    const redis = await startRedis();
    const dir = tempDir();
    writeImageFolder(join(dir, 'images'), { n: 24 });
    const config = join(dir, 'images.yaml');
    writeFileSync(config, 'data: { images: images, labels: images/labels.csv, channels: 1 }\ntargets: [{ name: vertical, kind: classification }]\ntraining: { epochs: 1 }\n');
    try {
      const c = background(['compare', '--config', config, '--methods', 'equal', '--seeds', '1', '--no-tuned-static', '--attempts', '1', '--queue', redis.url]);
      await c.waitFor(/runs queued/);
      const sweepId = /sweep ([0-9a-f]{12}) on/.exec(c.out().stderr)?.[1];
      writeFileSync(join(dir, 'images', 'img-003.png'), pngBytes(8, 8, (x, y) => [x * 30, y * 30, 0]));
      const w = background(['worker', '--queue', redis.url]);
      const done = await c.exited;
      w.child.kill('SIGTERM');
      await w.exited;
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /Failed: separate models, seed 42 \(run [0-9a-f]{20}, 1 attempt\): the image data .*images on .* are not the sweep's \(fingerprint/);
      assert.match(done.stderr, /2 runs failed/);
      const r = await background(['compare', '--queue', redis.url, '--resume', sweepId as string]).exited;
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^multiloss: --resume [0-9a-f]{12}: .*images has changed since the sweep was queued\n$/);
    } finally {
      await redis.stop();
    }
  });
});
