/**
 * The per-head gradient algebra of the trainer's param mode, in one native call each, in place on
 * the wasm heap: the Gram matrix of T gradients summed over the shared variables
 * (`gramOfTensors`: all T(T+1)/2 dot products in one pass, double accumulators, 2 threads), and
 * Σₜ wₜgₜ of one variable (`weightedSumOfTensors`). Both return undefined when the native path is
 * inactive (another backend, MULTILOSS_NATIVE=0, no addon or a build without these functions) or a
 * tensor is not float32 on the wasm heap: the caller then runs its tfjs ops (the browser's path).
 *
 * Browser-safe: the addon comes from ./state.ts, where only the Node backend puts one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, floatOnHeap, tensorData, type WasmBackend } from '../wasm-kernels/internals.js';
import type { NativeAddon } from './addon-api.js';
import { nativeAddon, nativeKernelsActive } from './state.js';

type Grad = tf.Tensor | undefined;

function ready(): { addon: NativeAddon; backend: WasmBackend } | undefined {
  if (!nativeKernelsActive()) return undefined;
  const addon = nativeAddon();
  if (addon === undefined || typeof addon.gram !== 'function' || typeof addon.weightedSum !== 'function') return undefined;
  return { addon, backend: asWasmBackend(tf.backend()) };
}


/**
 * perHead[t][i]: head t's gradient w.r.t. variable i (undefined: zero; sizes per variable equal).
 * Returns the symmetric T×T Gram matrix Σᵢ ⟨g_a,i, g_b,i⟩ (row-major), or undefined (see above).
 */
export function gramOfTensors(perHead: readonly (readonly Grad[])[]): Float64Array | undefined {
  const T = perHead.length;
  const r = ready();
  if (r === undefined || T === 0) return undefined;
  const { addon, backend } = r;
  const V = perHead[0].length;
  const slots = new Float64Array(1 + V * (1 + T));
  slots[0] = T;
  for (let i = 0; i < V; i++) {
    let n = -1;
    for (let t = 0; t < T; t++) {
      const g = perHead[t][i];
      if (!floatOnHeap(backend, g)) return undefined;
      if (g === undefined) {
        slots[1 + i * (1 + T) + 1 + t] = -1;
        continue;
      }
      if (n >= 0 && g.size !== n) return undefined;
      n = g.size;
      slots[1 + i * (1 + T) + 1 + t] = tensorData(backend, g).memoryOffset;
    }
    slots[1 + i * (1 + T)] = Math.max(0, n);
  }
  const pairs = new Float64Array((T * (T + 1)) / 2);
  addon.gram(backend.wasm.HEAPU8.buffer as ArrayBuffer, slots, pairs);
  const gram = new Float64Array(T * T);
  let p = 0;
  for (let a = 0; a < T; a++) {
    for (let b = a; b < T; b++, p++) {
      gram[a * T + b] = pairs[p];
      gram[b * T + a] = pairs[p];
    }
  }
  return gram;
}

/**
 * Σₜ wₜgₜ (double sums, float32 result) as a new tensor of `shape`; a missing gradient or a zero
 * weight contributes nothing. Undefined when the native path cannot run it (see above).
 */
export function weightedSumOfTensors(grads: readonly Grad[], weights: ArrayLike<number>, shape: number[]): tf.Tensor | undefined {
  const T = grads.length;
  const r = ready();
  if (r === undefined || T === 0 || weights.length < T) return undefined;
  const { addon, backend } = r;
  const size = tf.util.sizeFromShape(shape);
  for (let t = 0; t < T; t++) {
    const g = grads[t];
    if (!floatOnHeap(backend, g) || (g !== undefined && g.size !== size) || !Number.isFinite(weights[t])) return undefined;
  }
  // Allocate first (may grow the heap), then read offsets and the heap buffer.
  const out = backend.makeOutput(shape.slice(), 'float32');
  const params = new Float64Array(3 + 2 * T);
  params[0] = T;
  params[1] = size;
  params[2] = tensorData(backend, out).memoryOffset;
  for (let t = 0; t < T; t++) {
    const g = grads[t];
    params[3 + t] = weights[t];
    params[3 + T + t] = g === undefined ? -1 : tensorData(backend, g).memoryOffset;
  }
  try {
    addon.weightedSum(backend.wasm.HEAPU8.buffer as ArrayBuffer, params);
  } catch (e) {
    backend.disposeData(out.dataId, true);
    throw e;
  }
  return tf.engine().makeTensorFromTensorInfo(out);
}
