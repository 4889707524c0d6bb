/**
 * `_FusedMatMul` for the wasm backend: reaches XNNPACK in every case (see matmul.ts) and gets
 * the bias right where the stock kernel's scalar path adds the wrong element.
 * Attributes: transposeA/B, activation (linear, relu, relu6, leakyrelu + leakyreluAlpha, elu,
 * sigmoid, prelu + preluActivationWeights), bias.
 */
import { _FusedMatMul, type _FusedMatMulAttrs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { asWasmBackend, attrsAs, WASM, type KernelArgs } from './internals.js';
import { fastMatMul } from './matmul.js';

function fusedMatMul(args: KernelArgs): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { a, b, bias, preluActivationWeights } = args.inputs;
  if (a === undefined || b === undefined) throw new Error('_FusedMatMul needs inputs a and b');
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrsAs<_FusedMatMulAttrs>(args);
  return fastMatMul(backend, a, b, Boolean(transposeA), Boolean(transposeB), {
    bias: bias ?? undefined,
    activation: activation ?? 'linear',
    preluActivationWeights: preluActivationWeights ?? undefined,
    leakyreluAlpha: leakyreluAlpha ?? 0,
  });
}

export const fusedMatMulConfig: KernelConfig = {
  kernelName: _FusedMatMul,
  backendName: WASM,
  kernelFunc: fusedMatMul,
};
