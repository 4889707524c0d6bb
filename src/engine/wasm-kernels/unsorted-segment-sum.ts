/**
 * `UnsortedSegmentSum` for the wasm backend (not registered there in tfjs 4.22, so the gradient
 * of tf.gather, e.g. of an embedding, fails).
 *
 * out[s, ...] = sum of x[i, ...] over the positions i of `segmentIds` holding s. `segmentIds`
 * covers the leading dims of x; ids outside [0, numSegments) are dropped (as on cpu).
 */
import {
  UnsortedSegmentSum,
  util,
  type KernelConfig,
  type TensorInfo,
  type UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs-core';
import { asWasmBackend, attrsAs, f32View, i32View, makeZeros, WASM, type KernelArgs, type WasmBackend } from './internals.js';

export function unsortedSegmentSumWasm(
  backend: WasmBackend,
  x: TensorInfo,
  segmentIds: TensorInfo,
  numSegments: number,
): TensorInfo {
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`wasm UnsortedSegmentSum: float32 or int32 x only, got ${x.dtype}`);
  }
  if (segmentIds.dtype !== 'int32') throw new Error('wasm UnsortedSegmentSum: segmentIds must be int32');
  const idsRank = segmentIds.shape.length;
  const innerShape = x.shape.slice(idsRank);
  const outShape = [numSegments, ...innerShape];
  const count = util.sizeFromShape(segmentIds.shape);
  const inner = util.sizeFromShape(innerShape);
  const out = makeZeros(backend, outShape, x.dtype);
  if (count === 0 || inner === 0 || numSegments === 0) return out;
  const ids = i32View(backend, segmentIds);
  const src = x.dtype === 'float32' ? f32View(backend, x) : i32View(backend, x);
  const dst = x.dtype === 'float32' ? f32View(backend, out) : i32View(backend, out);
  for (let i = 0; i < count; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const so = i * inner;
    const doff = s * inner;
    for (let j = 0; j < inner; j++) dst[doff + j] += src[so + j];
  }
  return out;
}

function unsortedSegmentSum(args: KernelArgs): TensorInfo {
  const { x, segmentIds } = args.inputs;
  if (x === undefined || segmentIds === undefined) throw new Error('UnsortedSegmentSum needs inputs x and segmentIds');
  const { numSegments } = attrsAs<UnsortedSegmentSumAttrs>(args);
  return unsortedSegmentSumWasm(asWasmBackend(args.backend), x, segmentIds, numSegments);
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: WASM,
  kernelFunc: unsortedSegmentSum,
};
