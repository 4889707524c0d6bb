/**
 * `BatchMatMul` for the wasm backend: every case reaches XNNPACK (see matmul.ts), so the
 * transposed products of every matmul gradient run ~10x faster than the stock kernel.
 */
import { BatchMatMul, type BatchMatMulAttrs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { asWasmBackend, attrsAs, WASM, type KernelArgs } from './internals.js';
import { fastMatMul } from './matmul.js';

function batchMatMul(args: KernelArgs): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { a, b } = args.inputs;
  if (a === undefined || b === undefined) throw new Error('BatchMatMul needs inputs a and b');
  const { transposeA, transposeB } = attrsAs<BatchMatMulAttrs>(args);
  return fastMatMul(backend, a, b, Boolean(transposeA), Boolean(transposeB));
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: WASM,
  kernelFunc: batchMatMul,
};
