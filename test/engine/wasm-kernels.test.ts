/**
 * The fixed wasm kernels against the tfjs `cpu` backend: forward values and gradients through
 * the public ops (tf.matMul, tf.fused.matMul, tf.conv2d, tf.gather, tf.maxPool), seeded random
 * inputs, max error <= 1e-4 relative to max(|cpu value|, rms of the cpu output).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// The tfjs-core node bundle registers no gradients; tfjs-layers registers them all.
import '@tensorflow/tfjs-layers';
import { backendInfo, initBackend } from '../../src/engine/backend.js';
import {
  FIXED_WASM_KERNELS,
  registerWasmKernelFixes,
  setConvColumnBudget,
  wasmKernelFixesRegistered,
} from '../../src/engine/wasm-kernels/index.js';
import { conv2DBackpropInputWasm } from '../../src/engine/wasm-kernels/conv2d-backprop-input.js';
import type { WasmBackend } from '../../src/engine/wasm-kernels/internals.js';
import { Rng } from '../../src/util/rng.js';

type Activation = 'linear' | 'relu' | 'relu6' | 'leakyrelu' | 'elu' | 'sigmoid' | 'prelu';

const TOL = 1e-4;

/** Seeded values in [-scale, scale). */
function values(rng: Rng, shape: number[], scale = 1): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.next() * 2 - 1) * scale;
  return out;
}

interface Arg {
  data: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}

function f32(rng: Rng, shape: number[], scale = 1): Arg {
  return { data: values(rng, shape, scale), shape, dtype: 'float32' };
}

function toTensor(a: Arg): tf.Tensor {
  return tf.tensor(a.data, a.shape, a.dtype);
}

/** Run `fn` on a backend; returns the outputs' values and shapes. No tensors survive. */
async function runOn(
  backend: string,
  args: Arg[],
  fn: (...ts: tf.Tensor[]) => tf.Tensor[],
): Promise<{ data: Float32Array[]; shapes: number[][] }> {
  await tf.setBackend(backend);
  const outs = tf.tidy(() => fn(...args.map(toTensor)));
  const data = outs.map((t) => Float32Array.from(t.dataSync()));
  const shapes = outs.map((t) => t.shape.slice());
  tf.dispose(outs);
  return { data, shapes };
}

/** max |w - c| / max(|c|, rms(c)); 0 for empty outputs. */
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

/**
 * Compare `fn` on wasm with `ref` (default: the same fn) on cpu. Returns the worst error so the
 * caller can report it; asserts it is within TOL.
 */
async function compare(
  label: string,
  args: Arg[],
  fn: (...ts: tf.Tensor[]) => tf.Tensor[],
  ref: (...ts: tf.Tensor[]) => tf.Tensor[] = fn,
): Promise<number> {
  const c = await runOn('cpu', args, ref);
  const w = await runOn('wasm', args, fn);
  assert.equal(w.data.length, c.data.length, `${label}: number of outputs`);
  let worst = 0;
  for (let i = 0; i < c.data.length; i++) {
    assert.deepEqual(w.shapes[i], c.shapes[i], `${label}: shape of output ${i}`);
    const e = relErr(w.data[i], c.data[i]);
    assert.ok(e <= TOL, `${label}: output ${i} max rel err ${e.toExponential(2)} > ${TOL}`);
    worst = Math.max(worst, e);
  }
  return worst;
}

/** Loss weights so gradients are not all ones: sum(y * r). */
function weightedSum(y: tf.Tensor, r: tf.Tensor): tf.Scalar {
  return tf.sum(tf.mul(y, r));
}

/** The shape of what `make` returns (its tensors are disposed). */
function outputShape(make: () => tf.Tensor): number[] {
  const before = tf.memory().numTensors;
  const y = tf.tidy(make);
  const shape = y.shape.slice();
  y.dispose();
  assert.equal(tf.memory().numTensors, before);
  return shape;
}

function broadcastShape(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    out.push(Math.max(x, y));
  }
  return out;
}

before(async () => {
  const info = await initBackend('wasm');
  assert.equal(info.name, 'wasm');
  registerWasmKernelFixes(); // a second call must be harmless
});

after(() => {
  setConvColumnBudget();
});

describe('registration and backend selection', () => {
  test('fixes are registered on wasm, idempotently', () => {
    assert.ok(wasmKernelFixesRegistered());
    for (const name of FIXED_WASM_KERNELS) assert.ok(tf.getKernel(name, 'wasm') !== undefined, name);
    registerWasmKernelFixes();
    assert.ok(wasmKernelFixesRegistered());
  });

  test('initBackend is idempotent and reports the backend', async () => {
    const a = await initBackend('wasm');
    const b = await initBackend('wasm');
    assert.deepEqual(a, b);
    assert.equal(a.fixedKernels, true);
    assert.equal(typeof a.simd, 'boolean');
    assert.deepEqual(backendInfo(), a);
    assert.equal(tf.getBackend(), 'wasm');
  });

  test("'tensorflow' fails cleanly without tfjs-node; 'auto' falls back to wasm", async () => {
    const saved = process.env.MULTILOSS_BACKEND;
    try {
      delete process.env.MULTILOSS_BACKEND;
      await assert.rejects(initBackend('tensorflow'), /tfjs-node/);
      const auto = await initBackend();
      assert.equal(auto.name, 'wasm');
      process.env.MULTILOSS_BACKEND = 'cpu';
      assert.equal((await initBackend()).name, 'cpu');
      process.env.MULTILOSS_BACKEND = 'nonsense';
      await assert.rejects(initBackend('auto'), /MULTILOSS_BACKEND/);
    } finally {
      if (saved === undefined) delete process.env.MULTILOSS_BACKEND;
      else process.env.MULTILOSS_BACKEND = saved;
      await initBackend('wasm');
    }
  });
});

describe('BatchMatMul', () => {
  const dims: Array<[number, number, number]> = [
    [1, 1, 1],
    [1, 7, 1],
    [5, 1, 3],
    [13, 17, 11],
    [33, 65, 31],
    [64, 130, 50],
    // n much larger than m: A B^T goes through (B A^T)^T
    [8, 40, 96],
    [1, 20, 64],
  ];
  const transposes: Array<[boolean, boolean]> = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ];

  test('2-D, all transpose combinations: forward and gradients', async () => {
    const rng = new Rng(101);
    for (const [m, k, n] of dims) {
      for (const [ta, tb] of transposes) {
        const a = f32(rng, ta ? [k, m] : [m, k]);
        const b = f32(rng, tb ? [n, k] : [k, n]);
        const r = f32(rng, [m, n]);
        await compare(`matMul ${m}x${k}x${n} tA=${ta} tB=${tb}`, [a, b, r], (ta_, tb_, r_) => {
          const y = tf.matMul(ta_, tb_, ta, tb);
          const [ga, gb] = tf.grads((x: tf.Tensor, w: tf.Tensor) => weightedSum(tf.matMul(x, w, ta, tb), r_))([
            ta_,
            tb_,
          ]);
          return [y, ga, gb];
        });
      }
    }
  });

  test('batched, same batch dims: forward and gradients', async () => {
    const rng = new Rng(102);
    const cases: Array<{ batch: number[]; m: number; k: number; n: number }> = [
      { batch: [3], m: 5, k: 7, n: 4 },
      { batch: [2, 3], m: 1, k: 9, n: 6 },
      { batch: [4], m: 17, k: 1, n: 13 },
      { batch: [1], m: 8, k: 8, n: 8 },
    ];
    for (const { batch, m, k, n } of cases) {
      for (const [ta, tb] of transposes) {
        const a = f32(rng, [...batch, ...(ta ? [k, m] : [m, k])]);
        const b = f32(rng, [...batch, ...(tb ? [n, k] : [k, n])]);
        const r = f32(rng, [...batch, m, n]);
        await compare(`batched ${batch} ${m}x${k}x${n} tA=${ta} tB=${tb}`, [a, b, r], (ta_, tb_, r_) => {
          const y = tf.matMul(ta_, tb_, ta, tb);
          const [ga, gb] = tf.grads((x: tf.Tensor, w: tf.Tensor) => weightedSum(tf.matMul(x, w, ta, tb), r_))([
            ta_,
            tb_,
          ]);
          return [y, ga, gb];
        });
      }
    }
  });

  test('batch broadcasting (forward; cpu reference on explicitly broadcast operands)', async () => {
    const rng = new Rng(103);
    const cases: Array<{ ba: number[]; bb: number[] }> = [
      { ba: [3], bb: [] },
      { ba: [], bb: [4] },
      { ba: [3], bb: [1] },
      { ba: [1], bb: [5] },
      { ba: [2, 1], bb: [1, 3] },
      { ba: [2, 3], bb: [3] },
    ];
    const [m, k, n] = [6, 11, 5];
    for (const { ba, bb } of cases) {
      for (const [ta, tb] of transposes) {
        const batch = broadcastShape(ba, bb);
        const aInner = ta ? [k, m] : [m, k];
        const bInner = tb ? [n, k] : [k, n];
        const a = f32(rng, [...ba, ...aInner]);
        const b = f32(rng, [...bb, ...bInner]);
        await compare(
          `broadcast [${ba}] x [${bb}] tA=${ta} tB=${tb}`,
          [a, b],
          (x, w) => [tf.matMul(x, w, ta, tb)],
          (x, w) => [tf.matMul(tf.broadcastTo(x, [...batch, ...aInner]), tf.broadcastTo(w, [...batch, ...bInner]), ta, tb)],
        );
      }
    }
  });

  test('a reshaped buffer reused as b with another shape (stock XNNPACK cache hazard)', async () => {
    const rng = new Rng(104);
    const w = f32(rng, [6, 4]);
    const x1 = f32(rng, [3, 6]);
    const x2 = f32(rng, [3, 4]);
    await compare('reshape reuse', [w, x1, x2], (w_, a1, a2) => [
      tf.matMul(a1, w_),
      tf.matMul(a2, tf.reshape(w_, [4, 6])),
      tf.matMul(a1, w_),
    ]);
  });
});

describe('_FusedMatMul', () => {
  const activations: Activation[] = ['linear', 'relu', 'leakyrelu', 'elu', 'relu6', 'sigmoid'];

  test('bias + activations, transposes, batches: forward (fused kernel) and gradients', async () => {
    const rng = new Rng(201);
    const shapes: Array<{ batchA: number[]; batchB: number[]; m: number; k: number; n: number }> = [
      { batchA: [], batchB: [], m: 1, k: 1, n: 1 },
      { batchA: [], batchB: [], m: 9, k: 23, n: 7 },
      { batchA: [], batchB: [], m: 32, k: 64, n: 16 },
      { batchA: [3], batchB: [3], m: 5, k: 6, n: 4 },
      { batchA: [3], batchB: [], m: 5, k: 6, n: 4 },
    ];
    for (const { batchA, batchB, m, k, n } of shapes) {
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as Array<[boolean, boolean]>) {
        for (const activation of activations) {
          for (const biasShape of [undefined, [n], [1, n]] as Array<number[] | undefined>) {
            const batch = broadcastShape(batchA, batchB);
            // Scale so that relu6 clips some outputs.
            const a = f32(rng, [...batchA, ...(ta ? [k, m] : [m, k])], 2);
            const b = f32(rng, [...batchB, ...(tb ? [n, k] : [k, n])], 2);
            const bias = f32(rng, biasShape ?? [n]);
            const r = f32(rng, [...batch, m, n]);
            const label = `fused ${batchA}|${batchB} ${m}x${k}x${n} tA=${ta} tB=${tb} ${activation} bias=${biasShape ?? 'none'}`;
            const withBias = biasShape !== undefined;
            // tfjs-core's fused matMul gradient does not reduce broadcast batch dims (on any
            // backend), so broadcast cases check the forward pass only.
            const broadcast = batchA.join() !== batchB.join();
            await compare(label, [a, b, bias, r], (a_, b_, bias_, r_) => {
              const y = tf.fused.matMul({
                a: a_,
                b: b_,
                transposeA: ta,
                transposeB: tb,
                bias: withBias ? bias_ : undefined,
                activation,
                leakyreluAlpha: 0.15,
              });
              const loss = (x: tf.Tensor, w: tf.Tensor, bb: tf.Tensor) =>
                weightedSum(
                  tf.fused.matMul({
                    a: x,
                    b: w,
                    transposeA: ta,
                    transposeB: tb,
                    bias: withBias ? bb : undefined,
                    activation,
                    leakyreluAlpha: 0.15,
                  }),
                  r_,
                );
              if (broadcast) return [y];
              const grads = withBias
                ? tf.grads(loss)([a_, b_, bias_])
                : tf.grads((x: tf.Tensor, w: tf.Tensor) => loss(x, w, bias_))([a_, b_]);
              return [y, ...grads];
            });
          }
        }
      }
    }
  });

  test('prelu weights and a full-shape bias (epilogue outside the kernel)', async () => {
    const rng = new Rng(202);
    const [m, k, n] = [7, 12, 5];
    for (const alphaShape of [[n], [m, n], [m, 1]]) {
      for (const biasShape of [[n], [m, n]]) {
        const a = f32(rng, [m, k]);
        const b = f32(rng, [k, n]);
        const bias = f32(rng, biasShape);
        const alpha = f32(rng, alphaShape);
        await compare(`prelu alpha=[${alphaShape}] bias=[${biasShape}]`, [a, b, bias, alpha], (a_, b_, bias_, al) => [
          tf.fused.matMul({ a: a_, b: b_, bias: bias_, activation: 'prelu', preluActivationWeights: al }),
        ]);
      }
    }
  });
});

describe('Conv2DBackpropFilter / Conv2DBackpropInput', () => {
  type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
  const cases: Array<{ x: number[]; f: number[]; s: number | [number, number]; pad: Pad }> = [
    { x: [2, 9, 8, 3], f: [3, 3, 3, 5], s: 1, pad: 'same' },
    { x: [2, 9, 8, 3], f: [3, 3, 3, 5], s: 1, pad: 'valid' },
    { x: [2, 9, 8, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' },
    { x: [2, 9, 8, 3], f: [3, 3, 3, 5], s: 2, pad: 'valid' },
    { x: [1, 7, 7, 1], f: [3, 3, 1, 4], s: 3, pad: 'valid' },
    { x: [3, 10, 7, 2], f: [2, 3, 2, 3], s: [2, 1], pad: 'same' },
    { x: [2, 6, 6, 4], f: [1, 1, 4, 6], s: 1, pad: 'valid' },
    { x: [2, 6, 6, 4], f: [1, 1, 4, 6], s: 2, pad: 'same' },
    { x: [1, 11, 9, 2], f: [5, 5, 2, 3], s: 2, pad: 1 },
    { x: [2, 8, 8, 3], f: [3, 3, 3, 2], s: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
    { x: [1, 1, 1, 1], f: [1, 1, 1, 1], s: 1, pad: 'valid' },
    { x: [1, 6, 5, 2], f: [3, 3, 2, 3], s: 1, pad: 3 },
    { x: [2, 8, 7, 1], f: [3, 3, 1, 4], s: 1, pad: 'same' },
    { x: [2, 7, 6, 3], f: [5, 3, 3, 4], s: 1, pad: 'same' },
    { x: [4, 5, 5, 3], f: [3, 3, 3, 7], s: 1, pad: 'same' },
  ];

  async function runCases(seed: number): Promise<void> {
    const rng = new Rng(seed);
    for (const { x, f, s, pad } of cases) {
      const xa = f32(rng, x);
      const fa = f32(rng, f);
      const yShape = outputShape(() => tf.conv2d(tf.zeros<tf.Rank>(x) as tf.Tensor4D, tf.zeros<tf.Rank>(f) as tf.Tensor4D, s, pad));
      const r = f32(rng, yShape);
      await compare(`conv2d x=[${x}] f=[${f}] s=${JSON.stringify(s)} pad=${JSON.stringify(pad)}`, [xa, fa, r], (x_, f_, r_) => {
        const y = tf.conv2d(x_ as tf.Tensor4D, f_ as tf.Tensor4D, s, pad);
        const [gx, gf] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
          weightedSum(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, s, pad), r_),
        )([x_, f_]);
        return [y, gx, gf];
      });
    }
  }

  test('strides and padding variants: forward and both gradients', async () => {
    await runCases(301);
  });

  test('the same in batch chunks (small column budget)', async () => {
    setConvColumnBudget(200);
    try {
      await runCases(302);
    } finally {
      setConvColumnBudget();
    }
  });

  test("both Conv2DBackpropInput strategies ('conv', 'col2im') at stride 1", async () => {
    const rng = new Rng(304);
    for (const { inC, pad } of [
      { inC: 1, pad: 'same' as const },
      { inC: 5, pad: 'valid' as const },
      { inC: 3, pad: 'same' as const },
    ]) {
      const inputShape: [number, number, number, number] = [2, 7, 6, inC];
      const outH = pad === 'same' ? 7 : 5;
      const outW = pad === 'same' ? 6 : 4;
      const dy = f32(rng, [2, outH, outW, 4]);
      const f = f32(rng, [3, 3, inC, 4]);
      const ref = await runOn('cpu', [dy, f], (d, w) => [tf.conv2dTranspose(d as tf.Tensor4D, w as tf.Tensor4D, inputShape, 1, pad)]);
      await tf.setBackend('wasm');
      const backend = tf.backend() as unknown as WasmBackend & { readSync(id: object): Float32Array };
      for (const strategy of ['conv', 'col2im'] as const) {
        const [d, w] = [toTensor(dy), toTensor(f)];
        const out = conv2DBackpropInputWasm(backend, d, w, { strides: 1, pad, dataFormat: 'NHWC', inputShape }, strategy);
        assert.deepEqual(out.shape, inputShape);
        const got = Float32Array.from(backend.readSync(out.dataId));
        backend.disposeData(out.dataId);
        tf.dispose([d, w]);
        const e = relErr(got, ref.data[0]);
        assert.ok(e <= TOL, `${strategy} inC=${inC} ${pad}: max rel err ${e.toExponential(2)}`);
      }
    }
  });

  test('conv2dTranspose (Conv2DBackpropInput as a forward op)', async () => {
    const rng = new Rng(303);
    const dy = f32(rng, [2, 4, 4, 6]);
    const f = f32(rng, [3, 3, 5, 6]);
    await compare('conv2dTranspose s2 same', [dy, f], (d, w) => [
      tf.conv2dTranspose(d as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 5], 2, 'same'),
    ]);
  });
});

describe('UnsortedSegmentSum (gradient of tf.gather)', () => {
  test('embedding lookups: forward and gradient, axis 0 and 1, repeated indices', async () => {
    const rng = new Rng(401);
    const cases: Array<{ params: number[]; idx: number[]; axis: number }> = [
      { params: [11, 5], idx: [7], axis: 0 },
      { params: [11, 5], idx: [3, 4], axis: 0 },
      { params: [1, 3], idx: [6], axis: 0 },
      { params: [4, 9, 3], idx: [5], axis: 1 },
      { params: [20], idx: [30], axis: 0 },
    ];
    for (const { params, idx, axis } of cases) {
      const p = f32(rng, params);
      const count = idx.reduce((a, b) => a * b, 1);
      const ids = new Int32Array(count);
      for (let i = 0; i < count; i++) ids[i] = rng.int(params[axis]);
      const ia: Arg = { data: ids, shape: idx, dtype: 'int32' };
      const outShape = [...params.slice(0, axis), ...idx, ...params.slice(axis + 1)];
      const r = f32(rng, outShape);
      await compare(`gather params=[${params}] idx=[${idx}] axis=${axis}`, [p, ia, r], (p_, i_, r_) => {
        const y = tf.gather(p_, i_, axis);
        const g = tf.grad((pp: tf.Tensor) => weightedSum(tf.gather(pp, i_, axis), r_))(p_);
        return [y, g];
      });
    }
  });

  test('direct op, float32 and int32', async () => {
    const rng = new Rng(402);
    const x = f32(rng, [9, 4]);
    const ids: Arg = { data: Int32Array.from([0, 2, 2, 5, 1, 0, 5, 5, 3]), shape: [9], dtype: 'int32' };
    const xi: Arg = { data: Int32Array.from({ length: 36 }, (_, i) => (i * 7) % 11 - 5), shape: [9, 4], dtype: 'int32' };
    await compare('unsortedSegmentSum f32', [x, ids], (x_, i_) => [tf.unsortedSegmentSum(x_, i_ as tf.Tensor1D, 6)]);
    const w = await runOn('wasm', [xi, ids], (x_, i_) => [tf.unsortedSegmentSum(x_, i_ as tf.Tensor1D, 6)]);
    const c = await runOn('cpu', [xi, ids], (x_, i_) => [tf.unsortedSegmentSum(x_, i_ as tf.Tensor1D, 6)]);
    assert.deepEqual(Array.from(w.data[0]), Array.from(c.data[0]));
  });
});

describe('MaxPoolGrad', () => {
  test('[-3, -1, -2, -4]: the gradient goes to -1', async () => {
    await tf.setBackend('wasm');
    const g = tf.tidy(() =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor4d([-3, -1, -2, -4], [1, 2, 2, 1])),
    );
    assert.deepEqual(Array.from(g.dataSync()), [0, 1, 0, 0]);
    g.dispose();
  });

  test('all-negative windows, ties, strides and padding: forward and gradient', async () => {
    const rng = new Rng(501);
    const cases: Array<{ x: number[]; size: number | [number, number]; s: number | [number, number]; pad: 'same' | 'valid' }> = [
      { x: [2, 6, 6, 3], size: 2, s: 2, pad: 'valid' },
      { x: [2, 7, 7, 3], size: 3, s: 1, pad: 'same' },
      { x: [1, 9, 8, 5], size: 3, s: 2, pad: 'same' },
      { x: [3, 5, 7, 2], size: [2, 3], s: [1, 2], pad: 'valid' },
      { x: [1, 1, 1, 1], size: 1, s: 1, pad: 'valid' },
    ];
    for (const { x, size, s, pad } of cases) {
      for (const ties of [false, true]) {
        const n = x.reduce((a, b) => a * b, 1);
        const data = new Float32Array(n);
        // All negative; with ties, few distinct values so windows hold equal maxima.
        for (let i = 0; i < n; i++) data[i] = ties ? -1 - rng.int(3) : -0.01 - rng.next();
        const xa: Arg = { data, shape: x, dtype: 'float32' };
        const yShape = outputShape(() => tf.maxPool(tf.zeros<tf.Rank>(x) as tf.Tensor4D, size, s, pad));
        const r = f32(rng, yShape);
        await compare(`maxPool x=[${x}] size=${size} s=${s} ${pad} ties=${ties}`, [xa, r], (x_, r_) => {
          const y = tf.maxPool(x_ as tf.Tensor4D, size, s, pad);
          const g = tf.grad((xx: tf.Tensor) => weightedSum(tf.maxPool(xx as tf.Tensor4D, size, s, pad), r_))(x_);
          return [y, g];
        });
      }
    }
  });
});

describe('memory', () => {
  test('no tensors or buffers leak through the fixed kernels', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const rng = new Rng(601);
    const t = (shape: number[]) => tf.tensor(values(rng, shape), shape);
    const ids = tf.tensor1d([0, 3, 3, 1], 'int32');
    const inputs = {
      a: t([6, 9]),
      at: t([9, 6]),
      b: t([9, 4]),
      bt: t([4, 9]),
      wide: t([40, 9]),
      ba: t([3, 6, 9]),
      bb: t([1, 9, 4]),
      bias: t([4]),
      bias2: t([6, 4]),
      x: t([2, 8, 8, 3]),
      f: t([3, 3, 3, 4]),
      emb: t([5, 3]),
      neg: tf.neg(tf.abs(t([2, 6, 6, 2]))),
    };
    const run = () =>
      tf.tidy(() => {
      const outs: tf.Tensor[] = [];
      outs.push(tf.matMul(inputs.at, inputs.b, true, false));
      outs.push(tf.matMul(inputs.a, inputs.bt, false, true));
      outs.push(tf.matMul(inputs.a, inputs.wide, false, true));
      outs.push(tf.matMul(inputs.ba, inputs.bb));
      outs.push(tf.matMul(inputs.ba, tf.broadcastTo(inputs.bb, [3, 9, 4])));
      outs.push(tf.fused.matMul({ a: inputs.at, b: inputs.b, transposeA: true, bias: inputs.bias, activation: 'relu' }));
      outs.push(tf.fused.matMul({ a: inputs.a, b: inputs.b, bias: inputs.bias2, activation: 'elu' }));
      outs.push(...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.matMul(a, b)))([inputs.a, inputs.b]));
      outs.push(
        ...tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same')))([
          inputs.x,
          inputs.f,
        ]),
      );
      outs.push(tf.grad((e: tf.Tensor) => tf.sum(tf.gather(e, ids)))(inputs.emb));
      outs.push(tf.grad((x: tf.Tensor) => tf.sum(tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid')))(inputs.neg));
      return outs;
      });
    tf.dispose(run()); // warm-up (first-use allocations, kernel setup)
    const before = tf.memory();
    const beforeIds = backend.numDataIds();
    for (let i = 0; i < 3; i++) tf.dispose(run());
    setConvColumnBudget(100);
    try {
      tf.dispose(run()); // chunked conv paths
    } finally {
      setConvColumnBudget();
    }
    const after = tf.memory();
    assert.equal(after.numTensors, before.numTensors, 'tensors');
    assert.equal(after.numDataBuffers, before.numDataBuffers, 'data buffers');
    assert.equal(after.numBytes, before.numBytes, 'bytes');
    assert.equal(backend.numDataIds(), beforeIds, 'wasm backend data ids');
    tf.dispose([...Object.values(inputs), ids]);
  });
});
