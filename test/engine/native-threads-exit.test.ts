/**
 * Several Node environments on the native kernels at once (issue 20): two worker threads train
 * while the main thread trains too, the workers are terminated in the middle of their training,
 * and the process stays healthy (the kernels keep giving the right numbers, on as many threads as
 * before). Then child processes do the same and leave by worker termination and by
 * process.exit() while the workers are mid-step: exit code 0, no signal.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import process from 'node:process';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { multilossRate, w1Data } from '../../bench/w1.js';
import { startTrainingWorker } from '../../bench/stress/native-child.js';
import { initBackend } from '../../src/engine/backend.js';
import { configureNative, nativeStatus } from '../../src/engine/native/index.js';
import { Rng } from '../../src/util/rng.js';

const CHILD = fileURLToPath(new URL('../../bench/stress/native-child.ts', import.meta.url));

before(async () => {
  const info = await initBackend('wasm');
  assert.equal(info.native.active, true, `native kernels inactive: ${info.native.reason ?? ''}`);
});

/** A 96 x 200 by 200 x 72 product on the native gemm against float64 sums (relative error). */
function gemmError(seed: number): number {
  const rng = new Rng(seed);
  const [m, k, n] = [96, 200, 72];
  const a = Float32Array.from({ length: m * k }, () => rng.next() * 2 - 1);
  const b = Float32Array.from({ length: k * n }, () => rng.next() * 2 - 1);
  const got = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])).dataSync());
  let worst = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      worst = Math.max(worst, Math.abs(got[i * n + j] - s) / (Math.abs(s) + 1));
    }
  return worst;
}

// Timeouts: a pool that deadlocks under several environments (seen with the kernel lock removed from gemm) hangs.
test('two worker threads train on the native kernels while this thread trains, are terminated mid-step, and this thread goes on', { timeout: 300_000 }, async () => {
  const threads = nativeStatus().threads;
  // 1000 rounds: they train until terminated, however fast the machine.
  const workers = [startTrainingWorker('w1', 1, 1000), startTrainingWorker('w2', 2, 1000)];
  const errors: Error[] = [];
  for (const w of workers) w.on('error', (e) => errors.push(e));
  await Promise.all(workers.map((w) => new Promise<void>((resolve) => w.once('message', () => resolve()))));
  // This thread trains while they do; they are terminated 300 ms in (each trains for seconds).
  const stop = new Promise<number[]>((resolve) => setTimeout(() => resolve(Promise.all(workers.map((w) => w.terminate()))), 300));
  const rate = await multilossRate(w1Data(1024, new Rng(5)), 1, 128, false);
  const codes = await stop;
  assert.deepEqual(errors, []);
  // terminate() resolves with exit code 1 for a worker stopped before its end.
  assert.deepEqual(codes, [1, 1]);
  assert.ok(Number.isFinite(rate) && rate > 0);
  // Healthy afterwards: the pool restarts its workers and the kernels are right on every thread count.
  for (const t of [threads ?? 2, 1, 3, threads ?? 2]) {
    configureNative({ threads: t });
    assert.ok(gemmError(t) < 1e-5, `gemm on ${t} threads after the workers were terminated`);
  }
  assert.ok(Number.isFinite(await multilossRate(w1Data(512, new Rng(6)), 1, 128, false)));
});

function child(exit: 'terminate' | 'exit', seed: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const c = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CHILD, 'threads', exit, String(seed)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

test('a process whose worker threads are terminated mid-step, or that calls process.exit() while they train, exits with code 0', { timeout: 300_000 }, async () => {
  const [terminated, exited] = await Promise.all([child('terminate', 3), child('exit', 4)]);
  for (const [what, r] of [
    ['workers terminated', terminated],
    ['process.exit()', exited],
  ] as const) {
    assert.equal(r.signal, null, `${what}: killed by ${r.signal}\n${r.stderr.slice(-2000)}`);
    assert.equal(r.code, 0, `${what}: exit code ${r.code}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /^training$/m);
  }
  assert.match(terminated.stdout, /^done$/m);
});
