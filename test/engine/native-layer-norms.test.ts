/**
 * The native last-layer gradient norms (src/engine/native/layer-norms.ts, native/src/kernels.cc
 * `layer_grad_norms`, GradNorm's measurement): both ways of computing them (the lower triangles of
 * the n×n products, and Xᵀδ) and the automatic choice, on >= 100 seeded random shapes per
 * instruction set (one row, more rows than inputs, odd sizes, no inputs, T = 1..5, derivative given
 * or as step(z), dropout-like masks, stacked or separate gradients, heap growth between
 * allocations) against a double-precision reference, max relative error <= 1e-4; and the
 * addon's bounds checks (an out-of-range or unaligned offset, a short parameter list, a stale heap
 * throws a RangeError and touches nothing).
 *
 * On x86-64 the addon MUST be built (CI builds it): these tests fail if it did not load.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { configureNative, loadAddon, nativeKernelsActive, registerNativeKernels, type NativeIsa } from '../../src/engine/native/index.js';
import { layerGradNormsAvailable, layerGradNormsSquared } from '../../src/engine/native/layer-norms.js';
import { Rng } from '../../src/util/rng.js';

const REQUIRED = process.arch === 'x64';
const TOL = 1e-4;

type LayerGradNormsFn = (heap: ArrayBuffer, params: Float64Array, out: Float64Array) => void;

function int(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

function values(rng: Rng, size: number, zeros = 0): Float32Array {
  return Float32Array.from({ length: size }, () => (rng.next() < zeros ? 0 : rng.next() * 2 - 1));
}

function isaVariants(): { isa: NativeIsa; threads: number; share: number }[] {
  const best = loadAddon().addon?.info().bestIsa;
  if (best === undefined) return [];
  const out: { isa: NativeIsa; threads: number; share: number }[] = [{ isa: best, threads: 2, share: 1 }];
  if (best === 'avx512') out.push({ isa: 'avx2', threads: 1, share: 0.3 });
  out.push({ isa: 'scalar', threads: 2, share: 0.3 });
  return out;
}

/** [‖Xᵀδₜ‖²…, ‖Σ_rows δₜ‖²…] with δ formed in float32 as the kernel documents, sums in double. */
function reference(x: Float32Array, n: number, kin: number, k: number, g: Float32Array[], f: Float32Array | undefined): number[] {
  const T = g.length;
  const out = new Array<number>(2 * T).fill(0);
  g.forEach((gt, t) => {
    const delta = f ? Float32Array.from(gt, (v, i) => Math.fround(v * f[i])) : gt;
    for (let p = 0; p < kin; p++) {
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let r = 0; r < n; r++) s += x[r * kin + p] * delta[r * k + c];
        out[t] += s * s;
      }
    }
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += delta[r * k + c];
      out[T + t] += s * s;
    }
  });
  return out;
}

describe('native last-layer gradient norms (GradNorm)', () => {
  before(async () => {
    await initBackend('wasm');
    registerNativeKernels();
  });

  test('>= 100 random cases per ISA, both methods and the automatic choice, against a double-precision reference', () => {
    if (!nativeKernelsActive()) {
      assert.ok(!REQUIRED, 'the native kernels must be active on x86-64');
      assert.equal(layerGradNormsSquared({ x: tf.zeros([1, 1]), grads: [tf.zeros([1, 1])] }), undefined);
      return;
    }
    assert.ok(layerGradNormsAvailable(), 'the addon has layerGradNorms');
    let cases = 0;
    for (const { isa, threads, share } of isaVariants()) {
      configureNative({ isa, threads });
      const rng = new Rng(`layer-norms-${isa}`);
      for (let c = 0; c < Math.ceil(110 * share); c++) {
        const shape = c % 5;
        const n = shape === 0 ? 1 : shape === 1 ? int(rng, 20, 70) : int(rng, 1, 150);
        const kin = shape === 1 ? int(rng, 1, Math.max(1, n - 1)) : rng.next() < 0.05 ? 0 : int(rng, 1, 140);
        const k = rng.next() < 0.05 ? int(rng, 0, 2) : int(rng, 1, 90);
        const T = int(rng, 1, 5);
        const xData = values(rng, n * kin, 0.4);
        const gData = Array.from({ length: T }, () => values(rng, n * k));
        const mode = int(rng, 0, 2); // 0: no derivative, 1: given, 2: step(z)
        const dData = values(rng, n * k, 0.1);
        const maskData = rng.next() < 0.5 ? Float32Array.from({ length: n * k }, () => (rng.next() < 0.3 ? 0 : Math.fround(1 / 0.7))) : undefined;
        let f: Float32Array | undefined;
        if (mode > 0 || maskData) {
          f = Float32Array.from({ length: n * k }, (_, i) => (mode === 1 ? dData[i] : mode === 2 ? (dData[i] > 0 ? 1 : 0) : 1));
          if (maskData) f = Float32Array.from(f, (v, i) => Math.fround(v * maskData[i]));
        }
        const want = reference(xData, n, kin, k, gData, f);
        const top = Math.max(...want);
        const x = tf.tensor2d(xData, [n, kin]);
        if (rng.next() < 0.2) tf.dispose(tf.zeros([int(rng, 1, 4) << 20])); // heap growth: earlier tensors move
        const grads = gData.map((g) => tf.tensor2d(g, [n, k]));
        const deriv = mode > 0 ? tf.tensor2d(dData, [n, k]) : undefined;
        const mask = maskData ? tf.tensor2d(maskData, [n, k]) : undefined;
        if (rng.next() < 0.2) tf.dispose(tf.zeros([int(rng, 1, 4) << 20]));
        for (const method of [0, 1, 2] as const) {
          const got = layerGradNormsSquared({ x, grads, deriv, step: mode === 2, mask, method });
          assert.ok(got !== undefined, 'runs on the native path');
          got.forEach((v, i) => {
            const err = Math.abs(v - want[i]) / Math.max(Math.abs(want[i]), 1e-6 * top, 1e-30);
            assert.ok(err <= TOL, `${isa} method ${method} n=${n} kin=${kin} k=${k} T=${T} mode=${mode} mask=${!!maskData} [${i}]: ${v} vs ${want[i]}`);
          });
        }
        tf.dispose([x, ...grads, ...(deriv ? [deriv] : []), ...(mask ? [mask] : [])]);
        cases++;
      }
    }
    configureNative({ isa: isaVariants()[0].isa, threads: 2 });
    assert.ok(cases >= 100);
  });

  test('undefined for what it cannot run (the caller runs tfjs ops)', () => {
    if (!nativeKernelsActive()) return;
    const x = tf.ones([4, 3]);
    const g = [tf.ones([4, 5]), tf.ones([4, 5])];
    assert.equal(layerGradNormsSquared({ x: tf.ones([4, 3], 'int32'), grads: g }), undefined, 'int32 input');
    assert.equal(layerGradNormsSquared({ x, grads: [tf.ones([5, 5]), tf.ones([5, 5])] }), undefined, 'rows differ');
    assert.equal(layerGradNormsSquared({ x, grads: g, deriv: tf.ones([4, 4]) }), undefined, 'derivative shape');
    assert.equal(layerGradNormsSquared({ x, grads: g, step: true }), undefined, 'step without z');
    const gone = tf.ones([4, 3]);
    gone.dispose();
    assert.equal(layerGradNormsSquared({ x: gone, grads: g }), undefined, 'disposed');
    // All ones: δ = 1, ‖Xᵀδ‖² = 3·5·4², ‖Σ_rows δ‖² = 5·4².
    assert.deepEqual(Array.from(layerGradNormsSquared({ x, grads: g }) ?? []), [240, 240, 80, 80]);
    tf.dispose([x, ...g]);
  });

  test('the addon bounds-checks every range and reads nothing outside the heap', () => {
    const lib = loadAddon().addon as ({ layerGradNorms?: LayerGradNormsFn } & object) | undefined;
    if (lib === undefined) {
      assert.ok(!REQUIRED);
      return;
    }
    const fn = lib.layerGradNorms;
    assert.ok(typeof fn === 'function', 'the addon has layerGradNorms');
    const heap = new ArrayBuffer(4096);
    new Float32Array(heap).fill(1);
    const out = new Float64Array(2);
    // [n, kin, k, T, method, xOff, dOff, dStep, maskOff, gOff]: X 4×8 at 0, g 4×8 at 512 (all ones).
    const ok = (): Float64Array => Float64Array.of(4, 8, 8, 1, 0, 0, -1, 0, -1, 512);
    fn(heap, ok(), out);
    assert.deepEqual(Array.from(out), [8 * 8 * 16, 8 * 16]);
    const bad = (i: number, v: number): Float64Array => {
      const p = ok();
      p[i] = v;
      return p;
    };
    const cases: [string, Float64Array][] = [
      ['x past the end', bad(5, 4096 - 64)],
      ['gradient past the end', bad(9, 4096 - 4 * 31)],
      ['gradient far outside', bad(9, 2 ** 40)],
      ['negative offset', bad(9, -4)],
      ['unaligned', bad(9, 514)],
      ['fractional', bad(9, 512.5)],
      ['d past the end', bad(6, 4000)],
      ['mask past the end', bad(8, 4000)],
      ['step without d', bad(7, 1)],
      ['bad method', bad(4, 3)],
      ['bad T', bad(3, 0)],
      ['NaN dimension', bad(0, NaN)],
      ['huge dimension', bad(1, 2 ** 40)],
      ['short params', Float64Array.of(4, 8, 8, 2, 0, 0, -1, 0, -1, 512)],
    ];
    for (const [what, p] of cases) assert.throws(() => fn(heap, p, out), RangeError, what);
    assert.throws(() => fn(heap, Float64Array.of(4, 8, 8, 2, 0, 0, -1, 0, -1, 512, 640), out), RangeError, 'short out');
    assert.throws(() => fn(new Uint8Array(16) as unknown as ArrayBuffer, ok(), out), TypeError, 'not an ArrayBuffer');
    const detached = new ArrayBuffer(4096);
    structuredClone(detached, { transfer: [detached] });
    assert.throws(() => fn(detached, ok(), out), RangeError, 'stale heap');
  });
});
