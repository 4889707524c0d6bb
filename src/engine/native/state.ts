/**
 * Whether the native kernels are registered (set by registerNativeKernels). A separate module
 * with no side effects, so that the optimizer factory can ask without importing the wasm backend.
 */
import { getBackend } from '@tensorflow/tfjs-core';

let registered = false;

export function setNativeRegistered(value: boolean): void {
  registered = value;
}

/** The native kernels are registered and the active tfjs backend is 'wasm'. */
export function nativeKernelsActive(): boolean {
  if (!registered) return false;
  try {
    return getBackend() === 'wasm';
  } catch {
    return false;
  }
}
