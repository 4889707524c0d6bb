/**
 * tfjs `wasm` kernels that run in the native addon, in place on the wasm heap (zero copies):
 * BatchMatMul, _FusedMatMul, Sum, Conv2D, FusedConv2D,
 * Conv2DBackpropInput, Conv2DBackpropFilter, MaxPool, MaxPoolGrad; and a zero-copy Identity and
 * same-dtype Cast.
 *
 * Every kernel allocates its output FIRST (backend.makeOutput may grow the heap, which detaches
 * the old ArrayBuffer), then reads `wasm.HEAPU8.buffer` and hands the addon that buffer and
 * byte offsets; the addon bounds-checks every range against the buffer's length. Cases a native
 * kernel does not cover (non-float32 tensors, NCHW, PReLU in conv) go to the kernel that was
 * registered before (the fixed wasm kernel).
 *
 * Registered by the Node backend (./index.ts), which hands them the addon.
 */
import { batchIndexMap, matMulGeometry } from '../matmul-geometry.js';
import {
  _FusedMatMul,
  backend_util,
  BatchMatMul,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  Cast,
  Identity,
  MaxPool,
  MaxPoolGrad,
  Sum,
  util,
  type _FusedMatMulAttrs,
  type BatchMatMulAttrs,
  type CastAttrs,
  type Conv2DAttrs,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type FusedConv2DAttrs,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolAttrs,
  type MaxPoolGradAttrs,
  type SumAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import {
  asWasmBackend,
  attrsAs,
  dispose,
  makeZeros,
  runStock,
  tensorData,
  WASM,
  type Activation,
  type KernelArgs,
  type WasmBackend,
} from '../wasm-kernels/internals.js';
import type { NativeAddon } from './addon-api.js';

/** Activation codes of native/src/mlk.h. */
const ACT_CODE: Partial<Record<Activation, number>> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, elu: 4, sigmoid: 5 };

let addon: NativeAddon | undefined;
const previous = new Map<string, KernelFunc>();
/** Calls that went to the previous kernel, by kernel name (tests and diagnostics). */
export const fallbackCounts = new Map<string, number>();

export function setKernelAddon(a: NativeAddon | undefined): void {
  addon = a;
}

/** Remember the kernel a native one replaces (the first capture wins). */
export function setPreviousKernel(name: string, fn: KernelFunc): void {
  if (!previous.has(name)) previous.set(name, fn);
}

function fallback(name: string, args: KernelArgs): TensorInfo {
  const fn = previous.get(name);
  if (fn === undefined) throw new Error(`native kernels: no fallback kernel for '${name}'`);
  fallbackCounts.set(name, (fallbackCounts.get(name) ?? 0) + 1);
  const out = fn(args);
  if (Array.isArray(out)) throw new Error(`native kernels: '${name}' returned several tensors`);
  return out;
}

function need(): NativeAddon {
  if (addon === undefined) throw new Error('native kernels: the addon is not loaded');
  return addon;
}

const offsetOf = (backend: WasmBackend, t: TensorInfo): number => tensorData(backend, t).memoryOffset;
/** The heap AFTER the last allocation of a call. */
const heapOf = (backend: WasmBackend): ArrayBuffer => backend.wasm.HEAPU8.buffer as ArrayBuffer;

// ------------------------------------------------------------------------------------ matmul

const gemmParams = new Float64Array(17);


/** Bias strides (elements) over [batch, m, n] of the output, or undefined when not expressible. */
function biasStrides(bias: TensorInfo, outShape: number[]): { col: number; row: number; batch: number } | undefined {
  const rank = outShape.length;
  if (bias.shape.length > rank) return undefined;
  const b = [...new Array<number>(rank - bias.shape.length).fill(1), ...bias.shape];
  const stride = new Array<number>(rank).fill(0);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    if (b[d] !== 1 && b[d] !== outShape[d]) return undefined;
    stride[d] = b[d] === 1 ? 0 : s;
    s *= b[d];
  }
  const col = stride[rank - 1];
  const row = stride[rank - 2];
  const bBatch = b.slice(0, rank - 2);
  const oBatch = outShape.slice(0, rank - 2);
  if (bBatch.every((d) => d === 1)) return { col, row, batch: 0 };
  if (bBatch.every((d, i) => d === oBatch[i])) return { col, row, batch: b[rank - 2] * b[rank - 1] };
  return undefined;
}

export interface NativeMatMulEpilogue {
  bias?: TensorInfo;
  activation?: Activation;
  preluActivationWeights?: TensorInfo;
  leakyreluAlpha?: number;
}

/** prelu(x, a) = relu(x) + a * (x - relu(x)), full broadcasting of a (stock elementwise kernels). */
function applyPrelu(backend: WasmBackend, x: TensorInfo, weights: TensorInfo): TensorInfo {
  const pos = runStock('Relu', backend, { x });
  const neg = runStock('Sub', backend, { a: x, b: pos });
  const scaled = runStock('Multiply', backend, { a: neg, b: weights });
  const out = runStock('Add', backend, { a: pos, b: scaled });
  dispose(backend, pos);
  dispose(backend, neg);
  dispose(backend, scaled);
  return out;
}

function applyActivationStock(backend: WasmBackend, x: TensorInfo, act: Activation, alpha: number): TensorInfo {
  switch (act) {
    case 'relu':
      return runStock('Relu', backend, { x });
    case 'relu6':
      return runStock('Relu6', backend, { x });
    case 'elu':
      return runStock('Elu', backend, { x });
    case 'sigmoid':
      return runStock('Sigmoid', backend, { x });
    case 'leakyrelu':
      return runStock('LeakyRelu', backend, { x }, { alpha });
    default:
      return x;
  }
}

/**
 * `a @ b` (tf.matMul semantics: rank >= 2, broadcast batch dims, optional transposes) with an
 * optional epilogue, in the native GEMM. float32 only (the caller checks).
 */
export function nativeMatMul(
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  epilogue: NativeMatMulEpilogue = {},
): TensorInfo {
  const lib = need();
  const { m, k, n, outerA, outerB, batchShape, outShape, batch, batchA, batchB } = matMulGeometry(a, b, transposeA, transposeB);

  const activation: Activation = epilogue.activation ?? 'linear';
  const alpha = epilogue.leakyreluAlpha ?? 0;
  const prelu = activation === 'prelu' ? epilogue.preluActivationWeights : undefined;
  if (activation === 'prelu' && prelu === undefined) throw new Error('fused matMul: prelu activation needs preluActivationWeights');
  const bias = epilogue.bias;
  const strides = bias === undefined ? undefined : biasStrides(bias, outShape);
  // A bias the GEMM cannot index is added afterwards (then the activation too).
  const postBias = bias !== undefined && strides === undefined;
  let kernelAct = ACT_CODE[activation];
  if (kernelAct === undefined || postBias) kernelAct = 0;

  const out = backend.makeOutput(outShape, 'float32');
  if (batch > 0 && m > 0 && n > 0) {
    const P = gemmParams;
    // Fold a batch of `a` into its rows when b is shared and nothing varies per product.
    const fold = batch > 1 && batchB === 1 && batchA === batch && !transposeA && (strides === undefined || (strides.row === 0 && strides.batch === 0));
    P[0] = fold ? 1 : batch;
    P[1] = fold ? batch * m : m;
    P[2] = n;
    P[3] = k;
    P[4] = transposeA ? 1 : 0;
    P[5] = transposeB ? 1 : 0;
    P[6] = offsetOf(backend, a);
    P[7] = offsetOf(backend, b);
    P[8] = offsetOf(backend, out);
    P[9] = bias !== undefined && strides !== undefined ? offsetOf(backend, bias) : -1;
    P[10] = batchA === 1 ? 0 : m * k;
    P[11] = batchB === 1 ? 0 : k * n;
    P[12] = strides?.col ?? 0;
    P[13] = strides?.row ?? 0;
    P[14] = strides?.batch ?? 0;
    P[15] = kernelAct;
    P[16] = alpha;
    let offsets: Float64Array | undefined;
    // Broadcasting other than "same batch" or "one shared matrix" needs explicit offsets.
    const plain = (batchA === 1 || batchA === batch) && (batchB === 1 || batchB === batch);
    if (!fold && batch > 1 && !plain) {
      const mapA = batchIndexMap(outerA, batchShape);
      const mapB = batchIndexMap(outerB, batchShape);
      offsets = new Float64Array(2 * batch);
      for (let i = 0; i < batch; i++) {
        offsets[i] = mapA[i] * m * k;
        offsets[batch + i] = mapB[i] * k * n;
      }
    }
    lib.gemm(heapOf(backend), P, offsets);
  }

  let result = out;
  if (postBias && bias !== undefined) {
    const withBias = runStock('Add', backend, { a: result, b: bias });
    dispose(backend, result);
    result = withBias;
    if (activation !== 'prelu') {
      const act = applyActivationStock(backend, result, activation, alpha);
      if (act !== result) {
        dispose(backend, result);
        result = act;
      }
    }
  }
  if (prelu !== undefined) {
    const activated = applyPrelu(backend, result, prelu);
    dispose(backend, result);
    result = activated;
  }
  return result;
}

function batchMatMulKernel(args: KernelArgs): TensorInfo {
  const { a, b } = args.inputs;
  if (a === undefined || b === undefined) throw new Error('BatchMatMul needs inputs a and b');
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || addon === undefined) return fallback(BatchMatMul, args);
  const { transposeA, transposeB } = attrsAs<BatchMatMulAttrs>(args);
  return nativeMatMul(asWasmBackend(args.backend), a, b, Boolean(transposeA), Boolean(transposeB));
}

function fusedMatMulKernel(args: KernelArgs): TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs;
  if (a === undefined || b === undefined) throw new Error('_FusedMatMul needs inputs a and b');
  const floats = [a, b, bias, preluActivationWeights].every((t) => t == null || t.dtype === 'float32');
  if (!floats || addon === undefined) return fallback(_FusedMatMul, args);
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrsAs<_FusedMatMulAttrs>(args);
  return nativeMatMul(asWasmBackend(args.backend), a, b, Boolean(transposeA), Boolean(transposeB), {
    bias: bias ?? undefined,
    activation: activation ?? 'linear',
    preluActivationWeights: preluActivationWeights ?? undefined,
    leakyreluAlpha: leakyreluAlpha ?? 0,
  });
}

// ------------------------------------------------------------------------------------ sum

const sumParams = new Float64Array(5);

/**
 * Sum of a float32 tensor over any set of axes. Each maximal run of adjacent axes is one native
 * pass (out[o, i] = sum_r x[o, r, i]); several runs are reduced last-first through temporaries.
 */
function sumKernel(args: KernelArgs): TensorInfo {
  const { x } = args.inputs;
  if (x === undefined) throw new Error('Sum needs input x');
  const { axis, keepDims } = attrsAs<SumAttrs>(args);
  if (x.dtype !== 'float32' || addon === undefined) return fallback(Sum, args);
  const shape = x.shape;
  const axes = [...new Set(util.parseAxisParam(axis, shape))].sort((p, q) => p - q);
  if (axes.length === 0) return fallback(Sum, args);
  const backend = asWasmBackend(args.backend);
  const outShape = keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
  // Empty input: zeros (the stock wasm Sum returns uninitialised memory here).
  if (util.sizeFromShape(shape) === 0) return makeZeros(backend, outShape, 'float32');
  const runs: [number, number][] = [];
  for (const ax of axes) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === ax - 1) last[1] = ax;
    else runs.push([ax, ax]);
  }
  let cur = x;
  let curShape = shape;
  for (let r = runs.length - 1; r >= 0; r--) {
    const [a0, a1] = runs[r];
    const nextShape = [...curShape.slice(0, a0), ...curShape.slice(a1 + 1)];
    const dst = backend.makeOutput(r === 0 ? outShape : nextShape, 'float32');
    const P = sumParams;
    P[0] = offsetOf(backend, cur);
    P[1] = offsetOf(backend, dst);
    P[2] = util.sizeFromShape(curShape.slice(0, a0));
    P[3] = util.sizeFromShape(curShape.slice(a0, a1 + 1));
    P[4] = util.sizeFromShape(curShape.slice(a1 + 1));
    need().sumMiddle(heapOf(backend), P);
    if (cur !== x) dispose(backend, cur);
    cur = dst;
    curShape = nextShape;
  }
  return cur;
}

// ------------------------------------------------------------------------------------ conv2d

const convParams = new Float64Array(22);

function convCall(
  backend: WasmBackend,
  mode: 0 | 1 | 2,
  info: backend_util.Conv2DInfo,
  x: TensorInfo,
  f: TensorInfo,
  y: TensorInfo,
  bias: TensorInfo | undefined,
  act: number,
  alpha: number,
): void {
  const P = convParams;
  P[0] = mode;
  P[1] = info.batchSize;
  P[2] = info.inHeight;
  P[3] = info.inWidth;
  P[4] = info.inChannels;
  P[5] = info.outHeight;
  P[6] = info.outWidth;
  P[7] = info.outChannels;
  P[8] = info.filterHeight;
  P[9] = info.filterWidth;
  P[10] = info.strideHeight;
  P[11] = info.strideWidth;
  P[12] = info.dilationHeight;
  P[13] = info.dilationWidth;
  P[14] = info.padInfo.top;
  P[15] = info.padInfo.left;
  P[16] = offsetOf(backend, x);
  P[17] = offsetOf(backend, f);
  P[18] = offsetOf(backend, y);
  P[19] = bias === undefined ? -1 : offsetOf(backend, bias);
  P[20] = act;
  P[21] = alpha;
  need().conv2d(heapOf(backend), P);
}

const isNhwc = (dataFormat: string | undefined): boolean => dataFormat === undefined || dataFormat === 'NHWC';

function conv2dKernel(args: KernelArgs): TensorInfo {
  const { x, filter } = args.inputs;
  if (x === undefined || filter === undefined) throw new Error('Conv2D needs inputs x and filter');
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrsAs<Conv2DAttrs>(args);
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || !isNhwc(dataFormat) || addon === undefined) return fallback(Conv2D, args);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (info.outShape.some((d) => d < 0)) return fallback(Conv2D, args); // a filter larger than the padded input
  const backend = asWasmBackend(args.backend);
  const out = backend.makeOutput(info.outShape, 'float32');
  convCall(backend, 0, info, x, filter, out, undefined, 0, 0);
  return out;
}

function fusedConv2dKernel(args: KernelArgs): TensorInfo {
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  if (x === undefined || filter === undefined) throw new Error('FusedConv2D needs inputs x and filter');
  const { strides, pad, dataFormat, dilations, dimRoundingMode, activation, leakyreluAlpha } = attrsAs<FusedConv2DAttrs>(args);
  const act = ACT_CODE[activation ?? 'linear'];
  const outC = filter.shape[3];
  const biasOk =
    bias == null || (bias.dtype === 'float32' && util.sizeFromShape(bias.shape) === outC && (bias.shape.length === 0 ? outC === 1 : bias.shape[bias.shape.length - 1] === outC));
  if (
    x.dtype !== 'float32' ||
    filter.dtype !== 'float32' ||
    !isNhwc(dataFormat) ||
    act === undefined ||
    preluActivationWeights != null ||
    !biasOk ||
    addon === undefined
  ) {
    return fallback(FusedConv2D, args);
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (info.outShape.some((d) => d < 0)) return fallback(FusedConv2D, args);
  const backend = asWasmBackend(args.backend);
  const out = backend.makeOutput(info.outShape, 'float32');
  convCall(backend, 0, info, x, filter, out, bias ?? undefined, act, leakyreluAlpha ?? 0);
  return out;
}

function conv2dBackpropInputKernel(args: KernelArgs): TensorInfo {
  const { dy, filter } = args.inputs;
  if (dy === undefined || filter === undefined) throw new Error('Conv2DBackpropInput needs inputs dy and filter');
  const { inputShape, strides, pad, dataFormat, dimRoundingMode } = attrsAs<Conv2DBackpropInputAttrs>(args);
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32' || !isNhwc(dataFormat) || addon === undefined) {
    return fallback(Conv2DBackpropInput, args);
  }
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (info.outShape.some((d) => d < 0)) return fallback(Conv2DBackpropInput, args);
  const backend = asWasmBackend(args.backend);
  const dx = backend.makeOutput(info.inShape, 'float32');
  convCall(backend, 1, info, dx, filter, dy, undefined, 0, 0);
  return dx;
}

function conv2dBackpropFilterKernel(args: KernelArgs): TensorInfo {
  const { x, dy } = args.inputs;
  if (x === undefined || dy === undefined) throw new Error('Conv2DBackpropFilter needs inputs x and dy');
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrsAs<Conv2DBackpropFilterAttrs>(args);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || !isNhwc(dataFormat) || addon === undefined) {
    return fallback(Conv2DBackpropFilter, args);
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (info.outShape.some((d) => d < 0)) return fallback(Conv2DBackpropFilter, args);
  const backend = asWasmBackend(args.backend);
  const df = backend.makeOutput(filterShape, 'float32');
  convCall(backend, 2, info, x, df, dy, undefined, 0, 0);
  return df;
}

/**
 * A conv2d's filter and bias gradients in one native pass over dy ([df, db]): the conv block's
 * backward pass (the bias gradient needs no separate Sum over the activations).
 */
export function nativeConv2dFilterBiasGrad(backend: WasmBackend, info: backend_util.Conv2DInfo, x: TensorInfo, dy: TensorInfo): [TensorInfo, TensorInfo] {
  const df = backend.makeOutput([info.filterHeight, info.filterWidth, info.inChannels, info.outChannels], 'float32');
  const db = backend.makeOutput([info.outChannels], 'float32');
  convCall(backend, 2, info, x, df, dy, db, 0, 0);
  return [df, db];
}

// ------------------------------------------------------------------------------------ max pool gradient

const poolParams = new Float64Array(16);

/** The addon's pooling geometry, P[0..11]. */
function poolGeometry(P: Float64Array, info: backend_util.Conv2DInfo): void {
  P[0] = info.batchSize;
  P[1] = info.inHeight;
  P[2] = info.inWidth;
  P[3] = info.inChannels;
  P[4] = info.outHeight;
  P[5] = info.outWidth;
  P[6] = info.filterHeight;
  P[7] = info.filterWidth;
  P[8] = info.strideHeight;
  P[9] = info.strideWidth;
  P[10] = info.padInfo.top;
  P[11] = info.padInfo.left;
}

/**
 * dx of max pooling `info` of `input` (first maximum of each window, row-major: the cpu backend's
 * rule, as the fixed wasm kernel), in the addon; with `relu`, `input` is relu's output and dx is
 * the gradient of relu then pooling (a window whose maximum is not > 0 passes nothing).
 */
export function nativeMaxPoolGrad(backend: WasmBackend, info: backend_util.Conv2DInfo, input: TensorInfo, dy: TensorInfo, relu: boolean): TensorInfo {
  const dx = backend.makeOutput(input.shape, 'float32');
  const P = poolParams;
  poolGeometry(P, info);
  P[12] = offsetOf(backend, input);
  P[13] = offsetOf(backend, dy);
  P[14] = offsetOf(backend, dx);
  P[15] = relu ? 1 : 0;
  need().maxPoolGrad(heapOf(backend), P);
  return dx;
}

/** Whether the native kernels can run now (the addon is loaded and they are registered). */
export function nativeKernelAddonSet(): boolean {
  return addon !== undefined;
}

const poolForwardParams = new Float64Array(14);

/** MaxPool (NHWC float32) as the cpu backend computes it (NaN is never the maximum), on the addon's threads. */
function maxPoolKernel(args: KernelArgs): TensorInfo {
  const { x } = args.inputs;
  if (x === undefined) throw new Error('MaxPool needs input x');
  if (x.dtype !== 'float32' || addon === undefined) return fallback(MaxPool, args);
  const { filterSize, strides, pad, dimRoundingMode } = attrsAs<MaxPoolAttrs>(args);
  const info = backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const backend = asWasmBackend(args.backend);
  const y = backend.makeOutput(info.outShape, 'float32');
  const P = poolForwardParams;
  poolGeometry(P, info);
  P[12] = offsetOf(backend, x);
  P[13] = offsetOf(backend, y);
  need().maxPool(heapOf(backend), P);
  return y;
}

/** MaxPoolGrad with the cpu backend's rule (first maximum of each window, row-major), as the fixed wasm kernel. */
function maxPoolGradKernel(args: KernelArgs): TensorInfo {
  const { dy, input } = args.inputs;
  if (dy === undefined || input === undefined) throw new Error('MaxPoolGrad needs inputs dy and input');
  if (dy.dtype !== 'float32' || input.dtype !== 'float32' || addon === undefined) return fallback(MaxPoolGrad, args);
  const { filterSize, strides, pad, dimRoundingMode } = attrsAs<MaxPoolGradAttrs>(args);
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  return nativeMaxPoolGrad(asWasmBackend(args.backend), info, input, dy, false);
}

// ------------------------------------------------------------------------------------ identity

/**
 * Identity (tf.clone, and every tensor the gradient tape saves: ~47 per W1 step) without a copy:
 * the output shares the input's buffer, as on the cpu backend (the stock wasm kernel copies).
 * Safe with in-place writes because the only writer, the native Adam, copies a shared buffer
 * before writing (copy-on-write).
 */
function identityKernel(args: KernelArgs): TensorInfo {
  const { x } = args.inputs;
  if (x === undefined) throw new Error('Identity needs input x');
  if (x.dtype === 'string') return fallback(Identity, args);
  const backend = asWasmBackend(args.backend);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

/** Cast to the tensor's own dtype (e.g. the ReLU gradient's mask) without a copy, as Identity. */
function castKernel(args: KernelArgs): TensorInfo {
  const { x } = args.inputs;
  if (x === undefined) throw new Error('Cast needs input x');
  const { dtype } = attrsAs<CastAttrs>(args);
  if (dtype !== x.dtype || (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool')) return fallback(Cast, args);
  asWasmBackend(args.backend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

/** The native kernel configs (without setup/dispose functions: those of the replaced kernels are kept). */
export const NATIVE_KERNELS: readonly KernelConfig[] = [
  { kernelName: BatchMatMul, backendName: WASM, kernelFunc: batchMatMulKernel as KernelFunc },
  { kernelName: _FusedMatMul, backendName: WASM, kernelFunc: fusedMatMulKernel as KernelFunc },
  { kernelName: Sum, backendName: WASM, kernelFunc: sumKernel as KernelFunc },
  { kernelName: Conv2D, backendName: WASM, kernelFunc: conv2dKernel as KernelFunc },
  { kernelName: FusedConv2D, backendName: WASM, kernelFunc: fusedConv2dKernel as KernelFunc },
  { kernelName: Conv2DBackpropInput, backendName: WASM, kernelFunc: conv2dBackpropInputKernel as KernelFunc },
  { kernelName: Conv2DBackpropFilter, backendName: WASM, kernelFunc: conv2dBackpropFilterKernel as KernelFunc },
  { kernelName: MaxPool, backendName: WASM, kernelFunc: maxPoolKernel as KernelFunc },
  { kernelName: MaxPoolGrad, backendName: WASM, kernelFunc: maxPoolGradKernel as KernelFunc },
  { kernelName: Identity, backendName: WASM, kernelFunc: identityKernel as KernelFunc },
  { kernelName: Cast, backendName: WASM, kernelFunc: castKernel as KernelFunc },
];
