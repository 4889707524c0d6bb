/**
 * GradNorm's measurement on the native path: for a dense layer with input X (n×kin) and T heads'
 * gradients gₜ (n×k) at its output, δₜ = gₜ ⊙ f (f: the activation's derivative — given, or as
 * step(z) of the pre-activation — times the dropout mask), the squared norms ‖Xᵀδₜ‖² (kernel) and
 * ‖Σ_rows δₜ‖² (bias) in one native call, in place on the wasm heap (native/src/kernels.cc
 * `layer_grad_norms`: the lower triangles of the symmetric n×n products, or Xᵀ[δ₁ … δ_T],
 * whichever is cheaper; float32 products, double sums, 2 threads). Returns undefined when the
 * native path is inactive (another backend, MULTILOSS_NATIVE=0, no addon or a build without this
 * function) or a tensor is not float32 on the wasm heap: the caller then runs its tfjs ops (the
 * browser's path).
 *
 * Browser-safe: the addon comes from ./state.ts, where only the Node backend puts one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, floatOnHeap, tensorData, type WasmBackend } from '../wasm-kernels/internals.js';
import type { NativeAddon } from './addon-api.js';
import { nativeAddon, nativeKernelsActive } from './state.js';

type LayerGradNormsFn = NonNullable<NativeAddon['layerGradNorms']>;

function addonFn(): { fn: LayerGradNormsFn; backend: WasmBackend } | undefined {
  if (!nativeKernelsActive()) return undefined;
  const addon = nativeAddon();
  if (addon === undefined || typeof addon.layerGradNorms !== 'function') return undefined;
  return { fn: addon.layerGradNorms.bind(addon), backend: asWasmBackend(tf.backend()) };
}

/** Whether `layerGradNormsSquared` can run now (so a caller can skip preparing its inputs). */
export function layerGradNormsAvailable(): boolean {
  return addonFn() !== undefined;
}

export interface LayerGradNormsInput {
  /** The layer's input, n×kin. */
  x: tf.Tensor;
  /** The heads' gradients at the layer's output: T tensors of n×k. */
  grads: readonly tf.Tensor[];
  /** Factor n×k (the activation's derivative), or with `step` the pre-activation z (factor: 1 where z > 0). */
  deriv?: tf.Tensor;
  step?: boolean;
  /** Factor n×k applied after `deriv` (the dropout mask, 0 or 1/(1-rate)). */
  mask?: tf.Tensor;
  /** 0: the cheaper way (default); 1: through the n×n products; 2: through Xᵀδ (tests). */
  method?: 0 | 1 | 2;
}

/**
 * [‖Xᵀδ₀‖², …, ‖Xᵀδ_{T-1}‖², ‖Σ_rows δ₀‖², …] (2T values), or undefined (see above).
 */
export function layerGradNormsSquared(input: LayerGradNormsInput): Float64Array | undefined {
  const r = addonFn();
  if (r === undefined) return undefined;
  const { fn, backend } = r;
  const { x, deriv, mask } = input;
  if (x.rank !== 2) return undefined;
  const n = x.shape[0] ?? 0;
  const kin = x.shape[1] ?? 0;
  const grads = input.grads;
  const T = grads.length;
  const k = grads[0]?.shape[1] ?? 0;
  if (T === 0 || grads.some((g) => g.rank !== 2 || g.shape[0] !== n || g.shape[1] !== k)) return undefined;
  const onHeap = (t: tf.Tensor | undefined): boolean => floatOnHeap(backend, t);
  const sameShape = (t: tf.Tensor | undefined) => t === undefined || (t.rank === 2 && t.shape[0] === n && t.shape[1] === k);
  if (!onHeap(x) || !onHeap(deriv) || !onHeap(mask) || !sameShape(deriv) || !sameShape(mask) || grads.some((g) => !onHeap(g))) return undefined;
  if (input.step && deriv === undefined) return undefined;
  // Nothing is allocated on the wasm heap from here: the offsets and the buffer stay valid.
  const params = new Float64Array(9 + T);
  params[0] = n;
  params[1] = kin;
  params[2] = k;
  params[3] = T;
  params[4] = input.method ?? 0;
  params[5] = tensorData(backend, x).memoryOffset;
  params[6] = deriv === undefined ? -1 : tensorData(backend, deriv).memoryOffset;
  params[7] = input.step ? 1 : 0;
  params[8] = mask === undefined ? -1 : tensorData(backend, mask).memoryOffset;
  grads.forEach((g, t) => (params[9 + t] = tensorData(backend, g).memoryOffset));
  const out = new Float64Array(2 * T);
  fn(backend.wasm.HEAPU8.buffer as ArrayBuffer, params, out);
  return out;
}
