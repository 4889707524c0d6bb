/**
 * `compare --auto --queue` against a real redis-server and a real `multiloss
 * worker` process: every rung's runs (and the tuned-static trials, on their
 * own budget) travel as jobs, and the selection equals the local pool's; on
 * image data too (the worker reads the image folder and checks its fingerprint).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AutoBalanceResult } from '../../src/compare/auto/auto-balance.js';
import { cli, PENGUINS_CONFIG, tempDir } from '../helpers.js';
import { background, startRedis, type Background, type TestRedis } from './redis-server.js';
import { writeImageFolder } from '../images/image-folder.js';

const AUTO = ['compare', '--config', PENGUINS_CONFIG, '--auto', '--methods', 'equal,pcgrad', '--epochs', '4', '--seeds', '1', '--tuned-static-trials', '2', '--quiet'];

describe('compare --auto on a queue: the same selection as on the local pool', { timeout: 600_000 }, () => {
  let redis: TestRedis;
  let worker: Background;
  const dir = tempDir();
  let local: AutoBalanceResult;
  let queued: AutoBalanceResult;
  // Image data: 48 images of 8×8, two heads; candidates equal and pcgrad:rep (one rung of 1 epoch, the winner on 3).
  const imagesConfig = join(dir, 'images.yaml');
  writeImageFolder(join(dir, 'images'), { n: 48 });
  writeFileSync(
    imagesConfig,
    `data: { images: images, labels: images/labels.csv, channels: 1 }
targets: [{ name: vertical, kind: classification }, { name: horizontal, kind: classification }]
training: { epochs: 3, seed: 2 }
`,
  );
  const AUTO_IMAGES = ['compare', '--config', imagesConfig, '--auto', '--methods', 'equal,pcgrad:rep', '--seeds', '1', '--no-tuned-static', '--quiet'];
  let localImages: AutoBalanceResult;
  let queuedImages: AutoBalanceResult;
  before(async () => {
    redis = await startRedis();
    worker = background(['worker', '--queue', redis.url, '--concurrency', '2']);
    /** The same --auto command on the local pool (`local` the --workers flag) and through the queue: both results. */
    const localAndQueued = async (args: string[], local: string[], name: string): Promise<[AutoBalanceResult, AutoBalanceResult]> => {
      const l = cli([...args, ...local, '--json', join(dir, `${name}-local.json`)]);
      assert.equal(l.status, 0, l.stderr);
      const q = await background([...args, '--queue', redis.url, '--json', join(dir, `${name}-queue.json`)]).exited;
      assert.equal(q.code, 0, q.stderr);
      const read = (which: string) => JSON.parse(readFileSync(join(dir, `${name}-${which}.json`), 'utf8')) as AutoBalanceResult;
      return [read('local'), read('queue')];
    };
    [local, queued] = await localAndQueued(AUTO, ['--workers', '2'], 'table');
    [localImages, queuedImages] = await localAndQueued(AUTO_IMAGES, ['--workers', '0'], 'images');
  });
  after(async () => {
    worker.child.kill('SIGTERM');
    await worker.exited;
    await redis.stop();
  });
  it('trains every rung on the worker process, with each rung’s budget, and chooses as the local pool does', () => {
    assert.ok(queued.runs.length > 0);
    assert.ok(queued.runs.every((r) => r.machine !== undefined), 'every run was trained by the worker');
    assert.deepEqual(
      queued.rungs.map((r) => [r.epochs, r.rows.map((x) => x.label), r.promoted]),
      local.rungs.map((r) => [r.epochs, r.rows.map((x) => x.label), r.promoted]),
    );
    for (const [i, rung] of queued.rungs.entries()) {
      for (const [k, row] of rung.rows.entries()) assert.ok(Math.abs(row.deltaM.mean - local.rungs[i].rows[k].deltaM.mean) < 1e-6, `${row.label} at rung ${i + 1}`);
    }
    assert.deepEqual(queued.chosen, local.chosen);
    assert.deepEqual(queued.tunedStatic?.trials.map((t) => [t.key, t.epochs]), local.tunedStatic?.trials.map((t) => [t.key, t.epochs]));
    assert.ok(Math.abs(queued.final.rows[1].deltaM.mean - local.final.rows[1].deltaM.mean) < 1e-6);
  });
  it('on image data: the worker trains every run on the images and the selection equals the local pool’s', () => {
    assert.ok(queuedImages.runs.length > 0);
    assert.ok(queuedImages.runs.every((r) => r.machine !== undefined), 'every run was trained by the worker');
    assert.deepEqual(
      queuedImages.rungs.map((r) => [r.epochs, r.rows.map((x) => [x.label, x.deltaM.mean.toFixed(6)]), r.promoted]),
      localImages.rungs.map((r) => [r.epochs, r.rows.map((x) => [x.label, x.deltaM.mean.toFixed(6)]), r.promoted]),
    );
    assert.deepEqual(queuedImages.chosen, localImages.chosen);
    assert.deepEqual(queuedImages.final.split, { train: 38, validation: 10, seed: 2 });
    assert.equal(queuedImages.final.rows[1].deltaM.mean.toFixed(6), localImages.final.rows[1].deltaM.mean.toFixed(6));
  });
});
