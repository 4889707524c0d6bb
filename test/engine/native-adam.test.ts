/**
 * The fused native Adam (src/engine/native/adam.ts): bit-identical to tf.train.adam over 100
 * steps (wasm and cpu), AdamW through createOptimizer, copy-on-write of shared buffers, stale
 * XNNPACK weights after in-place updates, getWeights/setWeights, the tfjs-ops fallback.
 *
 * On x86-64 the addon MUST be built: these tests fail if it did not load.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '@tensorflow/tfjs-core/dist/tensor_types.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import {
  createNativeAdam,
  loadAddon,
  nativeKernelsRegistered,
  nativeAdamActive,
  NativeAdamOptimizer,
  registerNativeKernels,
  unregisterNativeKernels,
} from '../../src/engine/native/index.js';
import { createOptimizer } from '../../src/training/optimizers.js';
import { Rng } from '../../src/util/rng.js';
import { assertBitsEqual, sparseValues } from '../helpers.js';

const REQUIRED = process.arch === 'x64';
// Sizes: scalar, odd, larger than one native chunk (16384), and a W1 kernel.
const SHAPES: number[][] = [[], [7], [33, 5], [70001], [784, 256], [256]];

let uid = 0;
function makeVars(rng: Rng, tag: string): tf.Variable[] {
  return SHAPES.map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return tf.variable(tf.tensor(sparseValues(rng, n, 1), shape), true, `${tag}_${uid++}_${i}`);
  });
}

/** `steps` Adam steps on two variable sets with the same seeded gradients; asserts identical bits. */
async function runPair(a: tf.Optimizer, aVars: tf.Variable[], b: tf.Optimizer, bVars: tf.Variable[], steps: number, seed: string, check: number[] = []): Promise<void> {
  const rng = new Rng(seed);
  for (let s = 1; s <= steps; s++) {
    const scale = s % 7 === 0 ? 1e-3 : s % 11 === 0 ? 30 : 1;
    const grads = aVars.map((v) => sparseValues(rng, v.size, scale));
    const step = (opt: tf.Optimizer, vars: tf.Variable[]) =>
      tf.tidy(() => opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: tf.tensor(grads[i], v.shape) }))));
    step(a, aVars);
    step(b, bVars);
    if (check.includes(s)) aVars.forEach((v, i) => assertBitsEqual(v, bVars[i], `step ${s}, variable ${SHAPES[i]}`));
  }
  aVars.forEach((v, i) => assertBitsEqual(v, bVars[i], `after ${steps} steps, variable [${SHAPES[i]}]`));
  const [wa, wb] = [await a.getWeights(), await b.getWeights()];
  assert.equal(wa.length, wb.length);
  for (let i = 0; i < wa.length; i++) {
    assert.equal(wa[i].name.replace(/^.*\//, ''), wb[i].name.replace(/^.*\//, ''));
    assertBitsEqual(wa[i].tensor, wb[i].tensor, `slot ${wa[i].name}`);
  }
  for (const w of [...wa, ...wb]) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
}

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

describe('native Adam', () => {
  test('bit-identical to tf.train.adam over 100 steps (wasm), including moments and beta powers', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng('adam-init');
    const nativeVars = makeVars(rng, 'n');
    const refVars = nativeVars.map((v, i) => tf.variable(v.clone(), true, `r_${uid++}_${i}`));
    const native = createNativeAdam(3e-3, 0.9, 0.999, 1e-7);
    const ref = tf.train.adam(3e-3, 0.9, 0.999, 1e-7);
    await runPair(native, nativeVars, ref, refVars, 100, 'adam-grads', [1, 2, 10, 50]);
    if (REQUIRED) assert.equal(native.nativeSteps, 100);
    assertBitsEqual(native.accBeta1, (ref as unknown as { accBeta1: tf.Tensor }).accBeta1, 'beta1^t');
    assertBitsEqual(native.accBeta2, (ref as unknown as { accBeta2: tf.Tensor }).accBeta2, 'beta2^t');
    // A learning rate changed between steps is used from the next step on (schedules).
    native.learningRate = 1e-4;
    (ref as unknown as { learningRate: number }).learningRate = 1e-4;
    await runPair(native, nativeVars, ref, refVars, 5, 'adam-lr');
    tf.dispose([...nativeVars, ...refVars]);
    native.dispose();
    ref.dispose();
  });

  test('bit-identical to tf.train.adam on the cpu backend too', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng('adam-cpu');
    const nativeVars = makeVars(rng, 'nc');
    const init = nativeVars.map((v) => Float32Array.from(v.dataSync()));
    const native = createNativeAdam(1e-3);
    const grads: Float32Array[][] = [];
    const g = new Rng('adam-cpu-grads');
    for (let s = 0; s < 30; s++) grads.push(nativeVars.map((v) => sparseValues(g, v.size, 1)));
    for (const gs of grads) tf.tidy(() => native.applyGradients(nativeVars.map((v, i) => ({ name: v.name, tensor: tf.tensor(gs[i], v.shape) }))));
    const got = nativeVars.map((v) => Float32Array.from(v.dataSync()));
    await tf.setBackend('cpu');
    const refVars = init.map((d, i) => tf.variable(tf.tensor(d, SHAPES[i]), true, `rc_${uid++}_${i}`));
    const ref = tf.train.adam(1e-3, 0.9, 0.999, 1e-7);
    for (const gs of grads) tf.tidy(() => ref.applyGradients(refVars.map((v, i) => ({ name: v.name, tensor: tf.tensor(gs[i], v.shape) }))));
    refVars.forEach((v, i) => assertBitsEqual(v, tf.tensor(got[i], v.shape), `cpu vs native, variable [${SHAPES[i]}]`));
    tf.dispose(refVars);
    ref.dispose();
    await tf.setBackend('wasm');
    tf.dispose(nativeVars);
    native.dispose();
  });

  test('AdamW through createOptimizer: native and tf.train.adam paths give the same bits', async () => {
    await tf.setBackend('wasm');
    const run = (tag: string) => {
      const optimizer = createOptimizer({ name: 'adamw', learningRate: 1e-2, weightDecay: 0.05 });
      const rng = new Rng('adamw');
      const vars = [
        tf.variable(tf.tensor(sparseValues(rng, 300, 1), [20, 15]), true, `${tag}/dense/kernel`),
        tf.variable(tf.tensor(sparseValues(rng, 15, 1), [15]), true, `${tag}/dense/bias`),
      ];
      const g = new Rng('adamw-grads');
      for (let s = 0; s < 20; s++) {
        tf.tidy(() => {
          const grads: tf.NamedTensorMap = {};
          for (const v of vars) grads[v.name] = tf.tensor(sparseValues(g, v.size, 1), v.shape);
          optimizer.apply(grads, vars);
        });
      }
      const out = vars.map((v) => tf.clone(v));
      const kind = optimizer.optimizer instanceof NativeAdamOptimizer ? 'native' : 'tfjs';
      tf.dispose(vars);
      optimizer.dispose();
      return { out, kind };
    };
    const native = run('a');
    unregisterNativeKernels();
    assert.equal(nativeAdamActive(), false);
    let ref;
    try {
      ref = run('b');
    } finally {
      registerNativeKernels();
    }
    if (REQUIRED) assert.equal(native.kind, 'native');
    assert.equal(ref.kind, 'tfjs');
    assert.ok(!(tf.train.adam(0.1) instanceof NativeAdamOptimizer), 'instanceof follows the prototype chain');
    native.out.forEach((t, i) => assertBitsEqual(t, ref.out[i], `adamw variable ${i}`));
    tf.dispose([...native.out, ...ref.out]);
  });

  test('copy-on-write: tensors sharing a variable buffer keep their values', async () => {
    await tf.setBackend('wasm');
    const source = tf.tensor([1, 2, 3, 4]);
    const v = tf.variable(source, true, `cow_${uid++}`); // shares source's buffer
    const other = tf.tensor([5, 6, 7, 8]);
    const w = tf.variable(tf.zeros([4]), true, `cow_${uid++}`);
    w.assign(other); // shares other's buffer
    const opt = createNativeAdam(0.1);
    const copyOfW = tf.clone(w); // zero-copy Identity on the native path: shares w's buffer too
    tf.tidy(() => opt.applyGradients([{ name: v.name, tensor: tf.ones([4]) }, { name: w.name, tensor: tf.ones([4]) }]));
    assert.deepEqual(Array.from(source.dataSync()), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(copyOfW.dataSync()), [5, 6, 7, 8]);
    assert.deepEqual(Array.from(other.dataSync()), [5, 6, 7, 8]);
    for (const [x, start] of [[v, 1], [w, 5]] as const) {
      const got = Array.from(x.dataSync());
      got.forEach((g, i) => assert.ok(Math.abs(g - (start + i - 0.1)) < 1e-5, `${g}`));
    }
    if (REQUIRED) assert.equal(opt.copies, 2);
    // Once private, later steps copy nothing.
    tf.tidy(() => opt.applyGradients([{ name: v.name, tensor: tf.ones([4]) }, { name: w.name, tensor: tf.ones([4]) }]));
    if (REQUIRED) assert.equal(opt.copies, 2);
    tf.dispose([source, other, v, w, copyOfW]);
    opt.dispose();
  });

  test('no stale weights: XNNPACK operators cached for a variable see its in-place update', async () => {
    await tf.setBackend('wasm');
    // With the native kernels unregistered, matmuls run through the fixed wasm kernels, which
    // cache XNNPACK operators (with pre-packed weights) by the weight tensor's id.
    unregisterNativeKernels();
    try {
      const rng = new Rng('stale');
      const x = tf.tensor(sparseValues(rng, 6 * 24, 1), [6, 24]);
      const init = tf.tensor(sparseValues(rng, 24 * 10, 1), [24, 10]);
      const w = tf.variable(init, true, `stale_${uid++}`);
      init.dispose(); // w's buffer is its own: the update really is in place (no copy-on-write)
      const before = tf.matMul(x, w); // caches an operator for w
      const opt = createNativeAdam(0.5);
      tf.tidy(() => opt.applyGradients([{ name: w.name, tensor: tf.tensor(sparseValues(rng, 240, 1), [24, 10]) }]));
      const after = tf.matMul(x, w);
      const wNow = Float32Array.from(w.dataSync());
      const xNow = Float32Array.from(x.dataSync());
      await tf.setBackend('cpu');
      const want = tf.matMul(tf.tensor(xNow, [6, 24]), tf.tensor(wNow, [24, 10]));
      const got = Float32Array.from(after.dataSync());
      const ref = want.dataSync();
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
      assert.ok(worst < 1e-4, `matmul after the update used stale weights (max diff ${worst})`);
      assert.ok(Math.abs(before.dataSync()[0] - got[0]) > 1e-3, 'the update changed the product');
      if (REQUIRED) assert.equal(opt.copies, 0, 'updated in place');
      want.dispose();
      await tf.setBackend('wasm');
      tf.dispose([x, w, before, after]);
      opt.dispose();
    } finally {
      registerNativeKernels();
    }
  });

  test('getWeights/setWeights interoperate with tf.train.adam; the tfjs-ops fallback on cpu is exact', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng('weights');
    const a = makeVars(rng, 'wa');
    const b = a.map((v, i) => tf.variable(v.clone(), true, `wb_${uid++}_${i}`));
    const native = createNativeAdam(1e-3);
    const ref = tf.train.adam(1e-3, 0.9, 0.999, 1e-7);
    await runPair(native, a, ref, b, 7, 'weights-1');
    // Swap optimizer states through getWeights/setWeights (slot names are per variable).
    const nativeSlots = await native.getWeights();
    const refSlots = await ref.getWeights();
    const rename = (slots: NamedTensor[], from: tf.Variable[], to: tf.Variable[]) =>
      slots.map((s) => {
        const i = from.findIndex((v) => s.name.startsWith(`${v.name}/`));
        return { name: i < 0 ? s.name : s.name.replace(from[i].name, to[i].name), tensor: s.tensor instanceof tf.Variable ? s.tensor.clone() : s.tensor };
      });
    const native2 = createNativeAdam(1e-3);
    const ref2 = tf.train.adam(1e-3, 0.9, 0.999, 1e-7);
    await native2.setWeights(rename(refSlots, b, a));
    await ref2.setWeights(rename(nativeSlots, a, b));
    await runPair(native2, a, ref2, b, 5, 'weights-2');
    // On the cpu backend the native optimizer runs tfjs ops: still tf.train.adam's bits.
    await tf.setBackend('cpu');
    const c = SHAPES.map((shape, i) => tf.variable(tf.tensor(sparseValues(new Rng(`c${i}`), shape.reduce((p, q) => p * q, 1), 1), shape), true, `wc_${uid++}_${i}`));
    const d = c.map((v, i) => tf.variable(v.clone(), true, `wd_${uid++}_${i}`));
    const onCpu = createNativeAdam(1e-3);
    const refCpu = tf.train.adam(1e-3, 0.9, 0.999, 1e-7);
    await runPair(onCpu, c, refCpu, d, 10, 'cpu-fallback');
    assert.equal(onCpu.fallbackSteps, 10);
    assert.equal(onCpu.nativeSteps, 0);
    tf.dispose([...c, ...d]);
    onCpu.dispose();
    refCpu.dispose();
    await tf.setBackend('wasm');
    tf.dispose([...a, ...b]);
    for (const o of [native, ref, native2, ref2]) o.dispose();
  });
});
