/**
 * The small slice of tfjs-backend-wasm 4.22 internals the fixed kernels use, typed locally
 * (the package does not export them), plus helpers shared by the kernels.
 *
 * Browser-safe: no Node modules.
 *
 * Facts about the backend this relies on (read from tfjs-backend-wasm/dist/backend_wasm.js):
 * - `backend.dataIdMap.get(dataId)` gives `{id, memoryOffset, shape, dtype, refCount}`;
 *   `id` is the number the C++ side knows the tensor by, `memoryOffset` a byte offset into
 *   the wasm heap.
 * - `backend.makeOutput(shape, dtype)` mallocs a new tensor (uninitialised memory);
 *   `makeOutput(shape, dtype, memoryOffset)` registers a new tensor id over EXISTING memory
 *   without allocating. We use the latter for zero-copy "views" (slices, fresh ids); a view is
 *   released with `releaseView`, never with `disposeData` (which would free the memory).
 * - Any malloc may grow the heap, which detaches every typed array over the old buffer:
 *   take heap views only after the last allocation, and re-take them after calling a kernel.
 */
import {
  getKernel,
  util,
  type DataId,
  type DataType,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

export const WASM = 'wasm';

/** One entry of the wasm backend's `dataIdMap`. */
export interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: DataType;
  refCount: number;
}

interface WasmDataStorage {
  get(dataId: DataId): WasmTensorData | undefined;
  has(dataId: DataId): boolean;
  delete(dataId: DataId): boolean;
}

interface WasmModule {
  HEAPU8: Uint8Array;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}

/** The parts of `BackendWasm` the fixed kernels touch. */
export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: WasmDataStorage;
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number): TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
  incRef(dataId: DataId): void;
}

export type Activation = 'linear' | 'relu' | 'prelu' | 'elu' | 'relu6' | 'leakyrelu' | 'sigmoid';

/** What tfjs hands a kernel function. */
export type KernelArgs = Parameters<KernelFunc>[0];
type KernelBackendArg = KernelArgs['backend'];

export function asWasmBackend(backend: KernelBackendArg): WasmBackend {
  return backend as unknown as WasmBackend;
}

/** Attributes as the kernel's own attribute interface (tfjs passes them untyped). */
export function attrsAs<T>(args: KernelArgs): T {
  return (args.attrs ?? {}) as unknown as T;
}

/** Whether `t` is a live float32 tensor with its data on this backend's heap (undefined: yes, nothing to check). */
export function floatOnHeap(backend: WasmBackend, t: { dtype: DataType; dataId: DataId; isDisposed: boolean } | undefined): boolean {
  return t === undefined || (t.dtype === 'float32' && !t.isDisposed && backend.dataIdMap.has(t.dataId));
}

export function tensorData(backend: WasmBackend, info: TensorInfo): WasmTensorData {
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined) throw new Error('wasm kernel fix: tensor data not found on the wasm backend');
  return data;
}

/** Float32 view of a float32 tensor's memory. Re-take after any allocation. */
export function f32View(backend: WasmBackend, info: TensorInfo, elemOffset = 0, size?: number): Float32Array {
  const { memoryOffset } = tensorData(backend, info);
  const n = size ?? util.sizeFromShape(info.shape) - elemOffset;
  return new Float32Array(backend.wasm.HEAPU8.buffer, memoryOffset + elemOffset * 4, n);
}

/** Int32 view of an int32 tensor's memory. Re-take after any allocation. */
export function i32View(backend: WasmBackend, info: TensorInfo): Int32Array {
  const { memoryOffset } = tensorData(backend, info);
  return new Int32Array(backend.wasm.HEAPU8.buffer, memoryOffset, util.sizeFromShape(info.shape));
}

/**
 * A new tensor id over `size(shape)` elements of `base` starting at element `elemOffset`
 * (float32/int32 only). No copy, no allocation. Release with `releaseView`.
 */
export function makeView(backend: WasmBackend, base: TensorInfo, elemOffset: number, shape: number[]): TensorInfo {
  const data = tensorData(backend, base);
  return backend.makeOutput(shape, base.dtype, data.memoryOffset + elemOffset * 4);
}

/**
 * Forget a view made by `makeView`: the C++ side drops the id (and runs its disposal callbacks,
 * which delete any XNNPACK operator cached for it); the memory is left alone.
 */
export function releaseView(backend: WasmBackend, view: TensorInfo): void {
  const data = backend.dataIdMap.get(view.dataId);
  if (data === undefined) return;
  backend.wasm.tfjs.disposeData(data.id);
  backend.dataIdMap.delete(view.dataId);
}

/** Give an output a different shape (same size); keeps the backend's own record in step. */
export function withShape(backend: WasmBackend, info: TensorInfo, shape: number[]): TensorInfo {
  const data = backend.dataIdMap.get(info.dataId);
  if (data !== undefined) data.shape = shape.slice();
  return { dataId: info.dataId, shape: shape.slice(), dtype: info.dtype };
}

/** A zero-filled float32/int32 output tensor. */
export function makeZeros(backend: WasmBackend, shape: number[], dtype: DataType): TensorInfo {
  const out = backend.makeOutput(shape, dtype);
  const size = util.sizeFromShape(shape);
  if (size > 0) {
    const { memoryOffset } = tensorData(backend, out);
    backend.wasm.HEAPU8.fill(0, memoryOffset, memoryOffset + size * util.bytesPerElement(dtype));
  }
  return out;
}

/** Default bound on the im2col / col2im buffers of the conv kernels, in float32 elements (64 MB). */
const DEFAULT_COLUMN_BUDGET = 16 * 1024 * 1024;
let columnBudget = DEFAULT_COLUMN_BUDGET;

/** Bound (float32 elements) on the conv kernels' column buffers; larger batches go in chunks. */
export function convColumnBudget(): number {
  return columnBudget;
}

/** Change the conv column-buffer bound (tuning / tests); no argument restores the default. */
export function setConvColumnBudget(elements?: number): void {
  columnBudget = elements === undefined ? DEFAULT_COLUMN_BUDGET : Math.max(1, Math.floor(elements));
}

export function dispose(backend: WasmBackend, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

// ---------------------------------------------------------------------------------------------
// Stock kernels.
//
// The stock kernel functions we replace must be captured BEFORE they are unregistered. They are
// kept in a process-wide store (keyed by a global symbol) so that a second copy of this module
// (e.g. sources and built files loaded together) never mistakes our replacement for the stock
// kernel.

const STORE_KEY = Symbol.for('multiloss.wasmKernelFixes.stock');
/** Marks kernel configs registered by us. */
export const FIX_TAG = Symbol.for('multiloss.wasmKernelFixes.fixed');

type StockStore = Map<string, KernelConfig>;

function stockStore(): StockStore {
  const g = globalThis as unknown as Record<symbol, StockStore | undefined>;
  let store = g[STORE_KEY];
  if (store === undefined) {
    store = new Map();
    g[STORE_KEY] = store;
  }
  return store;
}

export function isFixConfig(config: KernelConfig | undefined): boolean {
  return config !== undefined && (config as unknown as Record<symbol, unknown>)[FIX_TAG] === true;
}

/** Remember the stock config of a kernel we are about to replace (first capture wins). */
export function saveStockKernel(config: KernelConfig): void {
  if (isFixConfig(config)) return;
  const store = stockStore();
  if (!store.has(config.kernelName)) store.set(config.kernelName, config);
}

/**
 * The stock wasm config of `kernelName`: the saved one if we replaced it, else whatever is
 * registered (kernels we never replace, e.g. Transpose).
 */
export function stockKernel(kernelName: string): KernelConfig {
  const saved = stockStore().get(kernelName);
  if (saved !== undefined) return saved;
  const registered = getKernel(kernelName, WASM);
  if (registered === undefined || isFixConfig(registered)) {
    throw new Error(`wasm kernel fix: no stock wasm kernel '${kernelName}' is registered`);
  }
  return registered;
}

/** Run a stock wasm kernel; it must return a single tensor. */
export function runStock(
  kernelName: string,
  backend: WasmBackend,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const fn: KernelFunc = stockKernel(kernelName).kernelFunc;
  const out = fn({ inputs, backend: backend as unknown as KernelBackendArg, attrs });
  if (Array.isArray(out)) throw new Error(`wasm kernel fix: stock '${kernelName}' returned several tensors`);
  return out;
}

/** Swap the last two dims with the stock (fast) wasm Transpose kernel; a new tensor. */
export function transposeLast2(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return runStock('Transpose', backend, { x }, { perm });
}
