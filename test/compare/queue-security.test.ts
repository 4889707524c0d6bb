/**
 * A distributed sweep over TLS (rediss://, a self-signed certificate trusted
 * through NODE_EXTRA_CA_CERTS), models saved to --models-dir, and jobs that
 * are not valid sweep jobs: failed at once by the worker, never retried,
 * never run.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { PENGUINS_CONFIG, tempDir } from '../helpers.js';
import { background, startRedis, type Background, type TestRedis } from './redis-server.js';

describe('compare --queue over rediss:// (TLS), with --models-dir', { timeout: 600_000 }, () => {
  let redis: TestRedis;
  let worker: Background;
  let env: Record<string, string>;
  const dir = tempDir();
  const models = join(dir, 'models');
  let result: { code: number | null; stdout: string; stderr: string };

  before(async () => {
    redis = await startRedis({ tls: true });
    env = { NODE_EXTRA_CA_CERTS: redis.ca as string };
    worker = background(['worker', '--queue', redis.url, '--models-dir', models], env);
    const c = background(
      ['compare', '--config', PENGUINS_CONFIG, '--epochs', '2', '--methods', 'equal', '--seeds', '1', '--queue', redis.url, '--json', join(dir, 'r.json')],
      env,
    );
    result = await c.exited;
  });
  after(async () => {
    worker.child.kill('SIGTERM');
    await worker.exited;
    await redis.stop();
  });

  it("trains the sweep through TLS and saves each run's model under its run id", () => {
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /on rediss:\/\/127\.0\.0\.1:\d+\/0/);
    const runs = (JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { runs: { key: string; approach: string }[] }).runs;
    assert.equal(runs.length, 2);
    assert.deepEqual(readdirSync(models).sort(), runs.map((r) => r.key).sort());
    const joint = runs.find((r) => r.approach === 'joint');
    assert.ok(joint && existsSync(join(models, joint.key, 'model.json')));
    const info = background(['info', join(models, joint.key), '--json']);
    return info.exited.then((r) => {
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { approach: string }).approach, 'joint');
    });
  });

  it('fails a job of another sweep format version, or not matching the schema, at once and without running it', async () => {
    const connection = new Redis({ host: '127.0.0.1', port: redis.port, tls: { ca: readFileSync(redis.ca as string) }, maxRetriesPerRequest: null });
    const queue = new Queue('runs', { connection, prefix: 'multiloss' });
    try {
      const good = (await queue.getJobs(['completed']))[0] as Job;
      const data = good.data as Record<string, unknown>;
      const bad: [string, unknown, RegExp][] = [
        ['version', { ...data, version: 2 }, /sweep format version 2; this worker runs version 1/],
        ['schema', { ...data, variant: { approach: 'joint', balance: { method: 'equal' }, code: 'process.exit(1)' } }, /not a valid job: variant: /],
        ['config', { ...data, config: { ...(data.config as object), training: { epochs: -1 } } }, /training\.epochs/],
        ['id', { ...data, seed: 999 }, /resolves to run [0-9a-f]{20} here/],
      ];
      for (const [name, payload] of bad) {
        const job = await queue.add('bad', payload, { jobId: `bad-${name}`, attempts: 3 });
        const failed = await new Promise<Job>((resolve) => {
          const poll = async () => {
            // The state first, then the job: a job read before it failed has no failedReason yet.
            const state = await queue.getJobState(job.id as string);
            const j = state === 'failed' || state === 'completed' ? await queue.getJob(job.id as string) : undefined;
            if (j) resolve(j);
            else setTimeout(() => void poll(), 100);
          };
          void poll();
        });
        assert.match(failed.failedReason, bad.find((b) => b[0] === name)?.[2] as RegExp, `${name}: ${await failed.getState()}: ${failed.failedReason}`);
        assert.equal(failed.attemptsMade, 1, `${name}: not retried`);
      }
      assert.doesNotMatch(worker.out().stderr, /\(equal, seed 999\) started/);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
