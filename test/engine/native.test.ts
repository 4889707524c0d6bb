/**
 * Native kernels (src/engine/native, issue 7) against the tfjs `cpu` backend: BatchMatMul,
 * _FusedMatMul, Sum, Conv2D / FusedConv2D and both conv backprops, forward values and gradients,
 * on >= 100 seeded random shapes per kernel (sizes 1, odd, not multiples of the micro-tile, empty),
 * max error <= 1e-4 relative to max(|cpu value|, rms of the cpu output). Also: the addon's bounds
 * checks (a detached or too short heap throws, never touches memory) and unaligned offsets.
 *
 * On x86-64 the addon MUST be built (CI builds it): these tests fail if it did not load.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// The tfjs-core node bundle registers no gradients; tfjs-layers registers them all.
import '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import {
  configureNative,
  gramOfTensors,
  loadAddon,
  nativeKernelsRegistered,
  nativeStatus,
  registerNativeKernels,
  weightedSumOfTensors,
  type NativeIsa,
} from '../../src/engine/native/index.js';
import { fallbackCounts } from '../../src/engine/native/kernels.js';
import { convBlock } from '../../src/model/architectures/conv-block.js';
import type { WasmBackend } from '../../src/engine/wasm-kernels/internals.js';
import { Rng } from '../../src/util/rng.js';

const TOL = 1e-4;
type Shape4 = [number, number, number, number];
const REQUIRED = process.arch === 'x64';

interface Arg {
  data: Float32Array;
  shape: number[];
}

function f32(rng: Rng, shape: number[], scale = 1): Arg {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (rng.next() * 2 - 1) * scale;
  return { data, shape };
}

const int = (rng: Rng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1);
/** A dimension: often 1 or small and odd, sometimes 0 (when allowed), up to `max`. */
function dim(rng: Rng, max: number, zero = true): number {
  const r = rng.next();
  if (zero && r < 0.04) return 0;
  if (r < 0.15) return 1;
  if (r < 0.45) return int(rng, 2, 9);
  return int(rng, 2, max);
}

async function runOn(backend: string, args: Arg[], fn: (...ts: tf.Tensor[]) => tf.Tensor[]): Promise<{ data: Float32Array[]; shapes: number[][] }> {
  await tf.setBackend(backend);
  const outs = tf.tidy(() => fn(...args.map((a) => tf.tensor(a.data, a.shape, 'float32'))));
  const data = outs.map((t) => Float32Array.from(t.dataSync()));
  const shapes = outs.map((t) => t.shape.slice());
  tf.dispose(outs);
  return { data, shapes };
}

function relErr(w: Float32Array, c: Float32Array): number {
  assert.equal(w.length, c.length, 'output sizes differ');
  let ss = 0;
  for (let i = 0; i < c.length; i++) ss += c[i] * c[i];
  const rms = Math.sqrt(ss / Math.max(1, c.length)) || 1e-12;
  let worst = 0;
  for (let i = 0; i < c.length; i++) {
    const e = Math.abs(w[i] - c[i]) / Math.max(Math.abs(c[i]), rms);
    if (!(e <= worst)) worst = e; // also catches NaN
  }
  return worst;
}

/** fn on wasm (native kernels) vs `ref` (default: fn) on cpu; returns the worst error. */
async function compare(
  label: string,
  args: Arg[],
  fn: (...ts: tf.Tensor[]) => tf.Tensor[],
  ref: (...ts: tf.Tensor[]) => tf.Tensor[] = fn,
): Promise<number> {
  const c = await runOn('cpu', args, ref);
  let w: Awaited<ReturnType<typeof runOn>>;
  try {
    w = await runOn('wasm', args, fn);
  } catch (e) {
    throw new Error(`${label}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  assert.equal(w.data.length, c.data.length, `${label}: number of outputs`);
  let worst = 0;
  for (let i = 0; i < c.data.length; i++) {
    assert.deepEqual(w.shapes[i], c.shapes[i], `${label}: shape of output ${i}`);
    assert.equal(w.data[i].length, c.data[i].length, `${label}: size of output ${i}`);
    const e = relErr(w.data[i], c.data[i]);
    assert.ok(e <= TOL, `${label}: output ${i} max rel err ${e.toExponential(2)} > ${TOL}`);
    worst = Math.max(worst, e);
  }
  return worst;
}

/** Calls that went to the previous (non-native) kernel; Identity/Cast fall back by design for other dtypes. */
const COMPUTE_KERNELS = ['BatchMatMul', '_FusedMatMul', 'Sum', 'Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPool', 'MaxPoolGrad'];
const fallbacks = (): number => COMPUTE_KERNELS.reduce((a, name) => a + (fallbackCounts.get(name) ?? 0), 0);

/** Counts kernel calls by name on 'wasm' while `fn` runs (to prove the native kernels ran). */
function kernelCalls(fn: () => void): Map<string, number> {
  const calls = new Map<string, number>();
  const saved = COMPUTE_KERNELS.map((n) => tf.getKernel(n, 'wasm'));
  for (const cfg of saved) {
    if (cfg === undefined) continue;
    tf.unregisterKernel(cfg.kernelName, 'wasm');
    tf.registerKernel({
      ...cfg,
      kernelFunc: (args) => {
        calls.set(cfg.kernelName, (calls.get(cfg.kernelName) ?? 0) + 1);
        return cfg.kernelFunc(args);
      },
    });
  }
  try {
    fn();
  } finally {
    for (const cfg of saved) {
      if (cfg === undefined) continue;
      tf.unregisterKernel(cfg.kernelName, 'wasm');
      tf.registerKernel(cfg);
    }
  }
  return calls;
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

describe('native registration', () => {
  test('initBackend reports the native path, its instruction set and threads', async () => {
    const info = await initBackend('wasm');
    if (!REQUIRED && !info.native.active) {
      assert.equal(typeof info.native.reason, 'string');
      return;
    }
    assert.equal(info.native.active, true);
    assert.ok((process.arch === 'arm64' ? ['neon', 'scalar'] : ['avx512', 'avx2', 'scalar']).includes(info.native.isa ?? ''), info.native.isa);
    assert.ok((info.native.threads ?? 0) >= 1);
    const addonInfo = loadAddon().addon?.info();
    assert.equal(info.native.isa, addonInfo?.bestIsa, 'the best instruction set is chosen by default');
    assert.deepEqual(registerNativeKernels(), nativeStatus(), 'registering again is harmless');
    assert.ok(nativeKernelsRegistered());
  });

  test('cpu backend reports native inactive', async () => {
    const info = await initBackend('cpu');
    assert.equal(info.native.active, false);
    assert.match(info.native.reason ?? '', /wasm/);
    await initBackend('wasm');
  });
});

/** Kernel suites run under every instruction set the CPU has; the default (best) one gets all cases. */
function isaVariants(): { isa: NativeIsa; threads: number; share: number }[] {
  const best = loadAddon().addon?.info().bestIsa;
  if (best === undefined) return [{ isa: 'scalar', threads: 1, share: 1 }];
  const out: { isa: NativeIsa; threads: number; share: number }[] = [{ isa: best, threads: 2, share: 1 }];
  if (best === 'avx512') out.push({ isa: 'avx2', threads: 1, share: 0.25 });
  out.push({ isa: 'scalar', threads: 2, share: 0.15 });
  return out;
}

describe('BatchMatMul and _FusedMatMul', () => {
  test('>= 100 random shapes per ISA: forward and gradients (dA, dB)', async () => {
    for (const { isa, threads, share } of isaVariants()) {
      configureNative({ isa, threads });
      const rng = new Rng(`matmul-${isa}`);
      const cases = Math.ceil(120 * share);
      const before = fallbacks();
      let worst = 0;
      for (let c = 0; c < cases; c++) {
        const m = dim(rng, 140);
        const n = dim(rng, 140);
        const k = dim(rng, c % 10 === 0 ? 800 : 300);
        const ta = rng.next() < 0.5;
        const tb = rng.next() < 0.5;
        // Batch dims: none, equal, or broadcast (1 vs n, [2,1] x [1,3]).
        const kind = rng.int(5);
        let outerA: number[] = [];
        let outerB: number[] = [];
        if (kind === 1) outerA = outerB = [int(rng, 2, 3)];
        if (kind === 2) outerA = [int(rng, 2, 3)];
        if (kind === 3) outerB = [int(rng, 2, 3)];
        if (kind === 4) {
          outerA = [2, 1];
          outerB = [1, 3];
        }
        const a = f32(rng, [...outerA, ...(ta ? [k, m] : [m, k])]);
        const b = f32(rng, [...outerB, ...(tb ? [n, k] : [k, n])]);
        const batch = outerA.length >= outerB.length ? outerA.map((d, i) => Math.max(d, outerB[i - outerA.length + outerB.length] ?? 1)) : outerB.map((d, i) => Math.max(d, outerA[i - outerB.length + outerA.length] ?? 1));
        const r = f32(rng, [...batch, m, n]);
        const label = `${isa}/t${threads} matMul ${a.shape}x${b.shape} tA=${ta} tB=${tb}`;
        worst = Math.max(
          worst,
          await compare(label, [a, b, r], (ta_, tb_, r_) => {
            const y = tf.matMul(ta_, tb_, ta, tb);
            // tfjs 4.22 has no BatchMatMul gradient for broadcast batch dims (on any backend).
            if (kind >= 2) return [y];
            const [da, db] = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, w, ta, tb), r_)))([ta_, tb_]);
            return [y, da, db];
          }, kind !== 4 ? undefined : (ta_, tb_) => {
            // The cpu backend gets [2,1] x [1,3] batch broadcasting wrong: broadcast explicitly.
            const full = (t: tf.Tensor) => tf.broadcastTo(t, [2, 3, ...t.shape.slice(2)]);
            return [tf.matMul(full(ta_), full(tb_), ta, tb)];
          }),
        );
      }
      assert.equal(fallbacks(), before, 'every float32 matmul ran natively');
      assert.ok(worst <= TOL);
    }
    configureNative({ isa: loadAddon().addon?.info().bestIsa ?? 'scalar', threads: 2 });
  });

  test('fused: >= 100 random shapes, every bias layout and activation; forward and gradients (dA, dB, dBias)', async () => {
    const rng = new Rng('fused');
    const acts = ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid', 'prelu'] as const;
    const before = fallbacks();
    for (let c = 0; c < 105; c++) {
      const m = dim(rng, 130);
      const n = dim(rng, 130);
      const k = dim(rng, 260);
      const ta = rng.next() < 0.5;
      const tb = rng.next() < 0.5;
      const batched = rng.next() < 0.25;
      const outer = batched ? [int(rng, 2, 3)] : [];
      const activation = acts[c % acts.length];
      // Bias: [n], [1, n], scalar, [m, 1], [m, n], per batch [b, m, n], or none.
      const biasKind = rng.int(7);
      const biasShape = [[n], [1, n], [], [m, 1], [m, n], [...outer, m, n], undefined][biasKind];
      const a = f32(rng, [...outer, ...(ta ? [k, m] : [m, k])]);
      const b = f32(rng, [...outer, ...(tb ? [n, k] : [k, n])]);
      const r = f32(rng, [...outer, m, n]);
      const args = [a, b, r];
      if (biasShape !== undefined) args.push(f32(rng, biasShape));
      const prelu = activation === 'prelu' ? f32(rng, [n], 0.5) : undefined;
      if (prelu) args.push(prelu);
      const label = `fused ${a.shape}x${b.shape} tA=${ta} tB=${tb} bias=${biasShape === undefined ? 'none' : `[${biasShape}]`} ${activation}`;
      await compare(label, args, (ta_, tb_, r_, ...rest) => {
        const bias = biasShape === undefined ? undefined : rest[0];
        const alpha = prelu ? rest[rest.length - 1] : undefined;
        const f = (x: tf.Tensor, w: tf.Tensor, bb?: tf.Tensor) =>
          tf.fused.matMul({ a: x, b: w, transposeA: ta, transposeB: tb, bias: bb, activation, preluActivationWeights: alpha, leakyreluAlpha: 0.15 });
        const y = f(ta_, tb_, bias);
        // tfjs's Add gradient cannot reshape an empty gradient (any backend): forward only.
        if (m * n * k === 0) return [y];
        const xs = bias === undefined ? [ta_, tb_] : [ta_, tb_, bias];
        // Sigmoid/elu have no fused gradient in tfjs; the tape runs them unfused.
        const grads = tf.grads((...v: tf.Tensor[]) => tf.sum(tf.mul(f(v[0], v[1], v[2]), r_)))(xs);
        return [y, ...grads];
      });
    }
    assert.equal(fallbacks(), before, 'every float32 fused matmul ran natively');
  });

  test('the training path uses the native kernels (no XNNPACK matmul sees the weights)', async () => {
    await tf.setBackend('wasm');
    const before = fallbacks();
    const calls = kernelCalls(() => {
      tf.tidy(() => {
        const x = tf.randomUniform([16, 20]);
        const w = tf.variable(tf.randomUniform([20, 8]));
        const bias = tf.variable(tf.zeros([8]));
        const { grads } = tf.variableGrads(() => tf.sum(tf.relu(tf.add(tf.matMul(x, w), bias))) as tf.Scalar, [w, bias]);
        tf.dispose(Object.values(grads));
        w.dispose();
        bias.dispose();
      });
    });
    if (!REQUIRED && !nativeKernelsRegistered()) return;
    assert.ok((calls.get('BatchMatMul') ?? 0) >= 2, 'forward and dW matmuls');
    assert.ok((calls.get('Sum') ?? 0) >= 1, 'bias gradient');
    assert.equal(fallbacks(), before);
  });
});

describe('Sum', () => {
  test('>= 100 random shapes and axis sets: forward, and as bias gradients', async () => {
    const rng = new Rng('sum');
    const before = fallbacks();
    for (let c = 0; c < 120; c++) {
      const rank = int(rng, 1, 4);
      const shape = Array.from({ length: rank }, () => dim(rng, rank <= 2 ? 600 : 40));
      // A contiguous block of axes, sometimes a set of separate runs.
      let axes: number[];
      if (rank >= 3 && rng.next() < 0.2) {
        axes = rank === 4 && rng.next() < 0.5 ? [0, 2, 3] : [0, rank - 1];
      } else {
        const a0 = rng.int(rank);
        const a1 = int(rng, a0, rank - 1);
        axes = Array.from({ length: a1 - a0 + 1 }, (_, i) => a0 + i);
      }
      const keepDims = rng.next() < 0.3;
      const negative = rng.next() < 0.2;
      const x = f32(rng, shape);
      const ax = negative ? axes.map((d) => d - rank) : axes;
      await compare(`sum [${shape}] axes ${ax} keepDims=${keepDims}`, [x], (t) => [tf.sum(t, ax, keepDims)]);
    }
    // Bias gradients: d/db sum(r * (x + b)) with b broadcast along leading (and middle) axes.
    for (let c = 0; c < 100; c++) {
      const rows = dim(rng, 300);
      const mid = rng.next() < 0.3 ? int(rng, 1, 5) : 0;
      const cols = dim(rng, 300, false);
      const xShape = mid ? [rows, mid, cols] : [rows, cols];
      const bShape = mid && rng.next() < 0.5 ? [mid, 1] : [cols];
      const x = f32(rng, xShape);
      const b = f32(rng, bShape);
      const r = f32(rng, xShape);
      await compare(`bias gradient x[${xShape}] b[${bShape}]`, [x, b, r], (xt, bt, rt) => [tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.add(xt, v), rt)))(bt)]);
    }
    assert.equal(fallbacks(), before, 'every float32 sum ran natively');
  });
});

describe('Conv2D', () => {
  test('>= 100 random convolutions: forward (plain and fused), dx and dFilter', async () => {
    const rng = new Rng('conv');
    const before = fallbacks();
    for (let c = 0; c < 105; c++) {
      // Larger batches take the per-thread image-group path.
      const batch = rng.next() < 0.05 ? 0 : c % 4 === 1 ? int(rng, 8, 24) : int(rng, 1, 3);
      const h = int(rng, 1, 14);
      const w = int(rng, 1, 14);
      const inC = int(rng, 1, 9);
      const outC = int(rng, 1, 11);
      const fh = int(rng, 1, Math.min(4, h));
      const fw = int(rng, 1, Math.min(4, w));
      const stride: [number, number] = [int(rng, 1, 3), int(rng, 1, 3)];
      const padKind = rng.int(3);
      // A number pads both dims, but tfjs then sizes the output with the filter height for both
      // (any backend): numeric padding only with square filters.
      const pad = padKind === 0 ? 'same' : padKind === 1 || fh !== fw ? 'valid' : int(rng, 0, 2);
      const dilated = rng.next() < 0.2 && stride[0] === 1 && stride[1] === 1;
      const dilation: [number, number] = dilated ? [int(rng, 1, 2), int(rng, 1, 2)] : [1, 1];
      // A filter larger than the (padded) input has no output: undefined in tfjs, skipped.
      const padded = typeof pad === 'number' ? 2 * pad : pad === 'valid' ? 0 : Infinity;
      if ((fh - 1) * dilation[0] + 1 > h + padded || (fw - 1) * dilation[1] + 1 > w + padded) continue;
      const x = f32(rng, [batch, h, w, inC]);
      const f = f32(rng, [fh, fw, inC, outC]);
      const bias = f32(rng, [outC]);
      const label = `conv x[${x.shape}] f[${f.shape}] s=${stride} pad=${pad} d=${dilation}`;
      const y0 = tf.tidy(() => tf.conv2d(tf.zeros<tf.Rank.R4>(x.shape as Shape4), tf.zeros<tf.Rank.R4>(f.shape as Shape4), stride, pad, 'NHWC', dilation).shape.slice());
      assert.ok(y0.every((d) => d >= 0), `${label}: output shape ${y0}`);
      const r = f32(rng, y0);
      await compare(label, [x, f, bias, r], (xt, ft, bt, rt) => {
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad, 'NHWC', dilation);
        const y = conv(xt, ft);
        const fused = tf.fused.conv2d({ x: xt as tf.Tensor4D, filter: ft as tf.Tensor4D, strides: stride, pad, dilations: dilation, bias: bt, activation: 'relu' });
        if (dilated) return [y, fused]; // tfjs has no conv gradients for dilation > 1
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), rt)))([xt, ft]);
        return [y, fused, dx, df];
      });
    }
    assert.equal(fallbacks(), before, 'every NHWC float32 conv ran natively');
  });
});

describe('MaxPool and MaxPoolGrad', () => {
  test('>= 100 random poolings: the maximum, and the gradient goes to the first maximum (ties, all-negative windows, padding)', async () => {
    const rng = new Rng('maxpool');
    const before = fallbacks();
    for (let c = 0; c < 105; c++) {
      const batch = rng.next() < 0.05 ? 0 : int(rng, 1, 3);
      const h = int(rng, 1, 13);
      const w = int(rng, 1, 13);
      const ch = c % 10 === 0 ? int(rng, 250, 300) : int(rng, 1, 9);
      const size: [number, number] = [int(rng, 1, Math.min(3, h)), int(rng, 1, Math.min(3, w))];
      const stride: [number, number] = [int(rng, 1, 3), int(rng, 1, 3)];
      const pad = rng.next() < 0.5 ? 'same' : 'valid';
      // Values on a coarse grid, mostly negative: ties and all-negative windows are common.
      const x = f32(rng, [batch, h, w, ch]);
      x.data.forEach((v, i) => (x.data[i] = Math.round(v * 3) - 1));
      const y0 = tf.tidy(() => tf.maxPool(tf.zeros<tf.Rank.R4>(x.shape as Shape4), size, stride, pad).shape.slice());
      const r = f32(rng, y0);
      await compare(`maxPool x[${x.shape}] size ${size} stride ${stride} ${pad}`, [x, r], (xt, rt) => [
        tf.maxPool(xt as tf.Tensor4D, size, stride, pad),
        tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, size, stride, pad), rt)))(xt),
      ]);
    }
    assert.equal(fallbacks(), before, 'every float32 max pool and its gradient ran natively');
  });
});

describe('conv block (conv + bias + relu/linear + max pool as one tape node)', () => {
  test('>= 60 random blocks: value and the gradients w.r.t. input, kernel and bias against the plain ops on cpu (odd sizes, strides, padding, pooling)', async () => {
    const rng = new Rng('conv-block');
    let cases = 0;
    while (cases < 64) {
      const batch = int(rng, 1, 3);
      const h = int(rng, 1, 13);
      const w = int(rng, 1, 13);
      const cin = rng.next() < 0.4 ? 1 : int(rng, 2, 11);
      const cout = rng.next() < 0.3 ? int(rng, 17, 40) : int(rng, 1, 16);
      const k: [number, number] = [int(rng, 1, 5), int(rng, 1, 5)];
      const strides: [number, number] = [int(rng, 1, 2), int(rng, 1, 2)];
      const padding = rng.next() < 0.5 ? 'same' : 'valid';
      const activation = rng.next() < 0.7 ? 'relu' : 'linear';
      const pool = rng.next() < 0.8 ? { size: [int(rng, 1, 3), int(rng, 1, 3)] as [number, number], strides: [int(rng, 1, 3), int(rng, 1, 3)] as [number, number], padding: rng.next() < 0.7 ? ('valid' as const) : ('same' as const) } : undefined;
      const inputGradient = rng.next() < 0.7;
      const oh = padding === 'same' ? Math.ceil(h / strides[0]) : Math.ceil((h - k[0] + 1) / strides[0]);
      const ow = padding === 'same' ? Math.ceil(w / strides[1]) : Math.ceil((w - k[1] + 1) / strides[1]);
      if (oh < 1 || ow < 1 || (pool && pool.padding === 'valid' && (oh < pool.size[0] || ow < pool.size[1]))) continue;
      cases++;
      const x = f32(rng, [batch, h, w, cin]);
      const f = f32(rng, [k[0], k[1], cin, cout]);
      const b = f32(rng, [cout], 0.3);
      const outShape = tf.tidy(() => {
        const y = tf.conv2d(tf.zeros<tf.Rank.R4>([batch, h, w, cin]), tf.zeros<tf.Rank.R4>([k[0], k[1], cin, cout]), strides, padding);
        return (pool ? tf.maxPool(y, pool.size, pool.strides, pool.padding) : y).shape.slice();
      });
      const dy = f32(rng, outShape);
      const options = { strides, padding, activation, pool, inputGradient } as const;
      const plain = (xt: tf.Tensor, ft: tf.Tensor, bt: tf.Tensor): tf.Tensor4D => {
        const z = tf.add(tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, strides, padding), bt);
        const y = (activation === 'relu' ? tf.relu(z) : z) as tf.Tensor4D;
        return pool ? tf.maxPool(y, pool.size, pool.strides, pool.padding) : y;
      };
      const run = (block: boolean) => (xt: tf.Tensor, ft: tf.Tensor, bt: tf.Tensor, dyt: tf.Tensor): tf.Tensor[] => {
        const forward = (xx: tf.Tensor, ff: tf.Tensor, bb: tf.Tensor): tf.Tensor =>
          block ? convBlock(xx as tf.Tensor4D, ff as tf.Tensor4D, bb as tf.Tensor1D, options) : plain(xx, ff, bb);
        const loss = (xx: tf.Tensor, ff: tf.Tensor, bb: tf.Tensor): tf.Scalar => tf.sum(tf.mul(forward(xx, ff, bb), dyt));
        const grads = inputGradient ? tf.grads(loss)([xt, ft, bt]) : tf.grads((ff: tf.Tensor, bb: tf.Tensor) => loss(xt, ff, bb))([ft, bt]);
        return [forward(xt, ft, bt), ...grads];
      };
      const label = `block x[${x.shape}] f[${f.shape}] stride ${strides} ${padding} ${activation} pool ${pool ? `${pool.size}/${pool.strides} ${pool.padding}` : 'none'} dx ${inputGradient}`;
      await compare(label, [x, f, b, dy], run(true), run(false));
      // On the native path the pooling and relu gradients are one native call (no MaxPoolGrad or
      // Step kernel runs), and so are the filter and bias gradients (no Conv2DBackpropFilter).
      if (nativeKernelsRegistered()) {
        await tf.setBackend('wasm');
        const info = await tf.profile(() => tf.tidy(() => {
          const [xt, ft, bt, dyt] = [x, f, b, dy].map((a) => tf.tensor(a.data, a.shape));
          return run(true)(xt, ft, bt, dyt);
        }));
        for (const name of pool ? ['MaxPoolGrad', 'Step', 'Conv2DBackpropFilter'] : ['Conv2DBackpropFilter']) {
          assert.ok(!info.kernelNames.includes(name), `${label}: ${name} ran (${info.kernelNames.join(', ')})`);
        }
      }
    }
  });
});

describe('Gram and weighted sum of per-head gradients (trainer param mode)', () => {
  test('>= 100 random cases per ISA against a double-precision reference (sizes 1, odd, empty, missing gradients, heap growth)', async () => {
    await tf.setBackend('wasm');
    if (loadAddon().addon === undefined) {
      assert.ok(!REQUIRED);
      return;
    }
    const rng = new Rng('gram-kernel');
    let cases = 0;
    for (const { isa, threads, share } of isaVariants()) {
      configureNative({ isa, threads });
      for (let c = 0; c < Math.ceil(120 * share); c++) {
        const T = int(rng, 1, 4);
        const V = int(rng, 0, 4);
        const sizes = Array.from({ length: V }, () => (rng.next() < 0.1 ? int(rng, 20000, 70000) : dim(rng, 3000)));
        const data: (Float32Array | undefined)[][] = [];
        const perHead: (tf.Tensor | undefined)[][] = [];
        for (let t = 0; t < T; t++) {
          data.push(sizes.map((n) => (rng.next() < 0.15 ? undefined : f32(rng, [n]).data)));
          perHead.push(data[t].map((d) => (d ? tf.tensor1d(d) : undefined)));
          // Heap growth between allocations: earlier tensors move to a new ArrayBuffer.
          if (rng.next() < 0.2) tf.dispose(tf.zeros([int(rng, 1, 4) << 20]));
        }
        const gram = gramOfTensors(perHead);
        assert.ok(gram !== undefined, 'native gram runs on wasm');
        for (let a = 0; a < T; a++) {
          for (let b = 0; b < T; b++) {
            let want = 0;
            for (let i = 0; i < V; i++) {
              const x = data[a][i];
              const y = data[b][i];
              if (x && y) for (let j = 0; j < sizes[i]; j++) want += x[j] * y[j];
            }
            const got = gram[a * T + b];
            assert.ok(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${isa} T=${T} sizes=${sizes.join(',')} (${a},${b}): ${got} vs ${want}`);
          }
        }
        if (V > 0) {
          const i = int(rng, 0, V - 1);
          const w = Array.from({ length: T }, () => (rng.next() < 0.2 ? 0 : rng.next() * 4 - 2));
          if (rng.next() < 0.3) tf.dispose(tf.zeros([int(rng, 1, 4) << 20])); // grow the heap again
          const out = weightedSumOfTensors(
            perHead.map((row) => row[i]),
            w,
            [sizes[i]],
          );
          assert.ok(out !== undefined, 'native weighted sum runs on wasm');
          assert.deepEqual(out.shape, [sizes[i]]);
          const want = new Float32Array(sizes[i]);
          for (let j = 0; j < sizes[i]; j++) {
            let v = 0;
            for (let t = 0; t < T; t++) v += w[t] * (data[t][i]?.[j] ?? 0);
            want[j] = v;
          }
          const e = relErr(Float32Array.from(out.dataSync()), want);
          assert.ok(e <= 1e-6, `${isa} weighted sum of ${sizes[i]}: rel err ${e}`);
          out.dispose();
        }
        tf.dispose(perHead.flat().filter((t): t is tf.Tensor => t !== undefined));
        cases++;
      }
    }
    configureNative({ isa: isaVariants()[0].isa, threads: 2 });
    assert.ok(cases >= 100);
  });

  test('undefined on the cpu backend (the caller runs tfjs ops); the addon bounds-checks', async () => {
    await tf.setBackend('cpu');
    const g = tf.ones([3]);
    assert.equal(gramOfTensors([[g]]), undefined);
    assert.equal(weightedSumOfTensors([g], [1], [3]), undefined);
    g.dispose();
    await tf.setBackend('wasm');
    const lib = loadAddon().addon;
    if (lib === undefined) return;
    const heap = new ArrayBuffer(4096);
    const out = new Float64Array(3);
    lib.gram(heap, Float64Array.of(2, 100, 0, 400), out);
    assert.throws(() => lib.gram(heap, Float64Array.of(2, 100, 0, 4000), out), RangeError, 'gram: past the end');
    assert.throws(() => lib.gram(heap, Float64Array.of(2, 100, 0, 2), out), RangeError, 'gram: unaligned');
    assert.throws(() => lib.gram(heap, Float64Array.of(2, 100, 0), out), RangeError, 'gram: short slots');
    assert.throws(() => lib.gram(heap, Float64Array.of(2, 100, 0, 400), new Float64Array(2)), RangeError, 'gram: short out');
    assert.throws(() => lib.weightedSum(heap, Float64Array.of(1, 100, 200, 1, 0)), RangeError, 'weightedSum: overlap');
    assert.throws(() => lib.weightedSum(heap, Float64Array.of(1, 100, 4000, 1, 0)), RangeError, 'weightedSum: out past the end');
    const detached = new ArrayBuffer(4096);
    structuredClone(detached, { transfer: [detached] });
    assert.throws(() => lib.gram(detached, Float64Array.of(1, 4, 0), new Float64Array(1)), RangeError);
    assert.throws(() => lib.weightedSum(detached, Float64Array.of(1, 4, 64, 1, 0)), RangeError);
  });
});

describe('addon memory safety', () => {
  const addon = () => loadAddon().addon;

  test('a detached (stale) heap buffer or an out-of-range offset throws a RangeError', () => {
    const lib = addon();
    if (lib === undefined) {
      assert.ok(!REQUIRED);
      return;
    }
    const heap = new ArrayBuffer(4096);
    const p = new Float64Array(17);
    // 4x4 @ 4x4 at offsets 0, 64, 128
    p.set([1, 4, 4, 4, 0, 0, 0, 64, 128, -1, 0, 0, 0, 0, 0, 0, 0]);
    lib.gemm(heap, p);
    const cases: [string, (q: Float64Array) => void][] = [
      ['c past the end', (q) => (q[8] = 4096 - 32)],
      ['a past the end', (q) => (q[6] = 4096)],
      ['negative offset', (q) => (q[7] = -4)],
      ['unaligned offset', (q) => (q[6] = 2)],
      ['fractional dimension', (q) => (q[1] = 1.5)],
      ['huge dimension', (q) => (q[2] = 2 ** 40)],
      ['bias past the end', (q) => ((q[9] = 4092), (q[12] = 1))],
      ['output overlaps input', (q) => (q[8] = 32)],
      ['batch stride past the end', (q) => ((q[0] = 3), (q[10] = 1000))],
    ];
    for (const [what, edit] of cases) {
      const q = Float64Array.from(p);
      edit(q);
      assert.throws(() => lib.gemm(heap, q), RangeError, what);
    }
    assert.throws(() => lib.sumMiddle(heap, Float64Array.of(0, 4080, 1, 10, 10)), RangeError, 'sum: out past the end');
    assert.throws(() => lib.adam(heap, Float64Array.of(0, 400, 800, 1200, 200), new Float64Array(8)), RangeError, 'adam: moments overlap');
    assert.throws(() => lib.adam(heap, Float64Array.of(0, 1000, 2000, 3000, 300), new Float64Array(8)), RangeError, 'adam: past the end');
    // Detach the buffer: every call on it now throws instead of touching freed memory.
    const detached = new ArrayBuffer(4096);
    structuredClone(detached, { transfer: [detached] });
    assert.equal(detached.byteLength, 0);
    assert.throws(() => lib.gemm(detached, p), RangeError);
    assert.throws(() => lib.sumMiddle(detached, Float64Array.of(0, 64, 1, 4, 4)), RangeError);
    assert.throws(() => lib.gemm(new Uint8Array(16) as unknown as ArrayBuffer, p), TypeError);
    // Empty products touch nothing, so any offset inside the heap is fine.
    const empty = Float64Array.from(p);
    empty[1] = 0;
    lib.gemm(detached, empty);
  });

  test('unaligned tensors (4-byte offsets) on the wasm heap give the same results', async () => {
    if (addon() === undefined) return;
    const backend = tf.backend() as unknown as WasmBackend;
    const rng = new Rng('unaligned');
    const a = f32(rng, [37, 53]);
    const b = f32(rng, [53, 29]);
    const want = await runOn('cpu', [a, b], (x, y) => [tf.matMul(x, y)]);
    await tf.setBackend('wasm');
    for (const shift of [1, 2, 3]) {
      // A bigger tensor, and views of it starting `shift` floats in.
      const big = tf.tensor1d(new Float32Array(a.data.length + b.data.length + 8));
      const base = backend.dataIdMap.get(big.dataId)?.memoryOffset ?? 0;
      const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
      heap.set(a.data, base / 4 + shift);
      heap.set(b.data, base / 4 + shift + a.data.length);
      const av = backend.makeOutput(a.shape, 'float32', base + shift * 4);
      const bv = backend.makeOutput(b.shape, 'float32', base + (shift + a.data.length) * 4);
      const at = tf.engine().makeTensorFromTensorInfo(av);
      const bt = tf.engine().makeTensorFromTensorInfo(bv);
      const y = tf.matMul(at, bt);
      assert.ok(relErr(Float32Array.from(y.dataSync()), want.data[0]) <= TOL, `shift ${shift}`);
      // The views do not own memory: forget them without freeing.
      for (const t of [at, bt]) {
        const d = backend.dataIdMap.get(t.dataId);
        if (d) {
          backend.wasm.tfjs.disposeData(d.id);
          backend.dataIdMap.delete(t.dataId);
        }
      }
      tf.dispose([y, big]);
    }
  });
});
