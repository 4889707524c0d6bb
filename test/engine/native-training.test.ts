/**
 * The native path end to end: a 64-step W1 training run with the native kernels and the native
 * Adam matches the wasm path (fixed wasm kernels + tf.train.adam) to rounding; heap growth
 * (> 1 GB) before and during kernel calls keeps results correct; MULTILOSS_NATIVE=0 forces the
 * wasm path (child process).
 *
 * On x86-64 the addon MUST be built: these tests fail if it did not load.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { w1Data, w1Heads } from '../../bench/w1.js';
import { createStrategy } from '../../src/balancing/index.js';
import { initBackend } from '../../src/engine/backend.js';
import { loadAddon, nativeAdamActive, nativeKernelsRegistered, registerNativeKernels, unregisterNativeKernels } from '../../src/engine/native/index.js';
import type { WasmBackend } from '../../src/engine/wasm-kernels/internals.js';
import { MultiHeadNetwork } from '../../src/model/network.js';
import { Rng } from '../../src/util/rng.js';
import { Trainer } from '../../src/training/trainer.js';

const REQUIRED = process.arch === 'x64';

before(async () => {
  await initBackend('wasm');
});

test('the native addon is built and active (required on x86-64, where CI builds it)', async () => {
  const info = await initBackend('wasm');
  if (!REQUIRED) return;
  const load = loadAddon();
  assert.ok(load.addon !== undefined, `the native addon must load on x86-64: ${load.reason ?? ''} (build: node native/build.mjs)`);
  assert.equal(info.native.active, true, `native kernels inactive: ${info.native.reason ?? ''}`);
  assert.ok(nativeKernelsRegistered());
});

/** One W1 epoch of 64 steps (8192 rows, batch 128); per-step total losses and the final weights. */
async function w1Run(): Promise<{ losses: number[]; weights: Float32Array[]; optimizer: string }> {
  const train = w1Data(8192, new Rng(7));
  const heads = w1Heads();
  const network = MultiHeadNetwork.create(
    784,
    [
      { units: 256, activation: 'relu' },
      { units: 256, activation: 'relu' },
    ],
    heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })),
    new Rng(1),
  );
  const strategy = createStrategy({ method: 'static' }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: h.spec.weight ?? 1 })));
  const trainer = new Trainer(network, heads, strategy, { epochs: 1, batchSize: 128, seed: 1, optimizer: { name: 'adam', learningRate: 1e-3 }, trainMetrics: false });
  const optimizer = (trainer as unknown as { optimizer: { optimizer: object } }).optimizer.optimizer.constructor.name;
  const losses: number[] = [];
  await trainer.fit(train, undefined, { onBatchEnd: (log) => losses.push(log.loss) });
  const weights = network.trainableVariables.map((v) => Float32Array.from(v.dataSync()));
  trainer.dispose();
  network.dispose();
  return { losses, weights, optimizer };
}

describe('native training path', () => {
  test('64 W1 steps: native kernels + native Adam match the wasm path to rounding', async () => {
    await tf.setBackend('wasm');
    const native = await w1Run();
    unregisterNativeKernels();
    let wasm;
    try {
      assert.equal(nativeAdamActive(), false);
      wasm = await w1Run();
    } finally {
      registerNativeKernels();
    }
    if (REQUIRED) assert.equal(native.optimizer, 'NativeAdamOptimizer');
    assert.equal(wasm.optimizer, 'AdamOptimizer');
    assert.equal(native.losses.length, 64);
    assert.equal(wasm.losses.length, 64);
    // Different summation orders only (measured: ~3e-7 relative over all 64 steps).
    const rel = native.losses.map((l, i) => Math.abs(l - wasm.losses[i]) / Math.abs(wasm.losses[i]));
    const first = Math.max(...rel.slice(0, 4));
    const all = Math.max(...rel);
    assert.ok(first < 1e-5, `first steps: rel loss diff ${first.toExponential(2)}`);
    assert.ok(all < 1e-4, `64 steps: rel loss diff ${all.toExponential(2)}`);
    let num = 0;
    let den = 0;
    native.weights.forEach((w, i) => {
      for (let j = 0; j < w.length; j++) {
        num += (w[j] - wasm.weights[i][j]) ** 2;
        den += wasm.weights[i][j] ** 2;
      }
    });
    const wRel = Math.sqrt(num / den);
    assert.ok(wRel < 1e-4, `final weights: relative distance ${wRel.toExponential(2)}`);
    console.log(`# W1 native vs wasm: rel loss diff first 4 steps ${first.toExponential(2)}, all 64 ${all.toExponential(2)}; weights ${wRel.toExponential(2)}`);
  });

  test('heap growth of > 1 GB before and during kernel calls keeps results correct', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as WasmBackend & { wasm: { _malloc(n: number): number; _free(p: number): void } };
    const rng = new Rng('growth');
    const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1), shape);
    const a = rand([67, 129]);
    const b = rand([129, 45]);
    const bias = rand([45]);
    const x = rand([3, 9, 9, 4]);
    const f = rand([3, 3, 4, 5]);
    const ops = (): tf.Tensor[] => [
      tf.matMul(a, b),
      tf.matMul(b, a, true, true),
      tf.fused.matMul({ a, b, bias, activation: 'relu' }),
      tf.sum(a, 0),
      tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'),
    ];
    const want = ops().map((t) => {
      const d = Float32Array.from(t.dataSync());
      t.dispose();
      return d;
    });
    const check = (got: tf.Tensor[], what: string) => {
      got.forEach((t, i) => {
        const d = t.dataSync();
        for (let j = 0; j < d.length; j++) assert.ok(Math.abs(d[j] - want[i][j]) <= 1e-5 * (1 + Math.abs(want[i][j])), `${what}: op ${i}`);
      });
      tf.dispose(got);
    };
    const heapMb = () => backend.wasm.HEAPU8.buffer.byteLength / 2 ** 20;
    const start = heapMb();
    // 1. Growth between calls: a 1.1 GB tensor.
    const big = tf.zeros([275_000_000]);
    assert.ok(heapMb() - start > 1000, `heap grew ${heapMb() - start} MB`);
    check(ops(), 'after growth');
    big.dispose();
    // 2. Growth inside the calls: the output allocation grows the heap (makeOutput first mallocs
    //    1.1 GB more, so the buffer the kernel saw before its output existed is detached).
    const makeOutput = backend.makeOutput.bind(backend);
    const blocks: number[] = [];
    let grownInside = 0;
    backend.makeOutput = (shape, dtype, offset) => {
      if (offset === undefined && blocks.length < 8) {
        const before = backend.wasm.HEAPU8.buffer;
        blocks.push(backend.wasm._malloc(275_000_000 * 4));
        if (before.byteLength === 0 || before !== backend.wasm.HEAPU8.buffer) grownInside++;
      }
      return makeOutput(shape, dtype, offset);
    };
    try {
      check(ops(), 'growth inside the kernel calls');
    } finally {
      backend.makeOutput = makeOutput;
      for (const p of blocks) backend.wasm._free(p);
    }
    assert.ok(grownInside >= 1, 'the heap grew inside a kernel call');
    // Native Adam after growth.
    const v = tf.variable(tf.ones([1000]));
    const { createNativeAdam } = await import('../../src/engine/native/index.js');
    const opt = createNativeAdam(0.1);
    const blk = backend.wasm._malloc(300_000_000 * 4);
    tf.tidy(() => opt.applyGradients([{ name: v.name, tensor: tf.ones([1000]) }]));
    backend.wasm._free(blk);
    assert.ok(Math.abs(v.dataSync()[999] - 0.9) < 1e-6);
    tf.dispose([a, b, bias, x, f, v]);
    opt.dispose();
  });

  test('MULTILOSS_NATIVE=0 forces the wasm path (child processes)', () => {
    const script = `
      import { initBackend } from './src/engine/backend.ts';
      import { nativeKernelsRegistered } from './src/engine/native/index.ts';
      import { createOptimizer } from './src/training/optimizers.ts';
      import * as tf from '@tensorflow/tfjs-core';
      const info = await initBackend('wasm');
      const opt = createOptimizer({ name: 'adam', learningRate: 0.01 });
      const y = tf.matMul(tf.ones([3, 4]), tf.ones([4, 2])).dataSync();
      console.log(JSON.stringify({ native: info.native, registered: nativeKernelsRegistered(), optimizer: opt.optimizer.constructor.name, y: Array.from(y) }));
    `;
    const run = (env: Record<string, string | undefined>) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: new URL('../..', import.meta.url).pathname,
        env: { ...process.env, ...env },
        encoding: 'utf8',
        timeout: 300_000, // generous: the machine may be shared
      });
      assert.equal(r.status, 0, r.stderr);
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      assert.ok(line, r.stdout);
      return JSON.parse(line) as { native: { active: boolean; reason?: string }; registered: boolean; optimizer: string; y: number[] };
    };
    const off = run({ MULTILOSS_NATIVE: '0' });
    assert.equal(off.native.active, false);
    assert.match(off.native.reason ?? '', /MULTILOSS_NATIVE=0/);
    assert.equal(off.registered, false);
    assert.equal(off.optimizer, 'AdamOptimizer');
    assert.deepEqual(off.y, [4, 4, 4, 4, 4, 4]);
    const on = run({ MULTILOSS_NATIVE: undefined });
    if (REQUIRED) {
      assert.equal(on.native.active, true, on.native.reason);
      assert.equal(on.registered, true);
      assert.equal(on.optimizer, 'NativeAdamOptimizer');
    }
    assert.deepEqual(on.y, [4, 4, 4, 4, 4, 4]);
    assert.ok(nativeKernelsRegistered() || !REQUIRED);
  });
});
