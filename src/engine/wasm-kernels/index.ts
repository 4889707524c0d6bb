/**
 * Fixed kernels for the tfjs `wasm` backend (tfjs-backend-wasm 4.22). Browser-safe.
 *
 * - BatchMatMul, _FusedMatMul: always reach XNNPACK (the stock kernels fall back to a ~2-3
 *   GFLOP/s scalar loop for transposed operands and batches, and the fused one adds the wrong
 *   bias element there); correct batch broadcasting.
 * - Conv2DBackpropFilter (missing on wasm), Conv2DBackpropInput (stock is a slow direct loop):
 *   im2col / col2im around one XNNPACK matmul.
 * - UnsortedSegmentSum (missing on wasm: the gradient of tf.gather).
 * - MaxPoolGrad: the stock kernel picks the wrong element in all-negative windows.
 */
import '@tensorflow/tfjs-backend-wasm';
import { BatchMatMul, getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { fusedMatMulConfig } from './fused-mat-mul.js';
import { FIX_TAG, isFixConfig, saveStockKernel, WASM } from './internals.js';
export { convColumnBudget, setConvColumnBudget } from './internals.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

const FIXES: readonly KernelConfig[] = [
  batchMatMulConfig,
  fusedMatMulConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  unsortedSegmentSumConfig,
  maxPoolGradConfig,
];

/** Names of the kernels `registerWasmKernelFixes` installs on 'wasm'. */
export const FIXED_WASM_KERNELS: readonly string[] = FIXES.map((c) => c.kernelName);

/**
 * Replace the defective / missing tfjs `wasm` kernels with the fixed ones. Idempotent; may be
 * called before or after the wasm backend is initialised (the stock kernels' setup functions are
 * carried over, since the fixed matmuls call the stock ones underneath).
 */
export function registerWasmKernelFixes(): void {
  for (const fix of FIXES) {
    const current = getKernel(fix.kernelName, WASM);
    if (isFixConfig(current)) continue;
    if (current !== undefined) {
      // Capture the stock kernel before it leaves the registry.
      saveStockKernel(current);
      unregisterKernel(fix.kernelName, WASM);
    }
    const config: KernelConfig = { ...fix };
    if (current?.setupFunc !== undefined) config.setupFunc = current.setupFunc;
    if (current?.disposeFunc !== undefined) config.disposeFunc = current.disposeFunc;
    Object.defineProperty(config, FIX_TAG, { value: true });
    registerKernel(config);
  }
}

/** Whether the fixed kernels are the ones registered for 'wasm' right now. */
export function wasmKernelFixesRegistered(): boolean {
  return isFixConfig(getKernel(BatchMatMul, WASM));
}
