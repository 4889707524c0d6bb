/**
 * The core's view of the native path: which addon (if any) the Node backend made available, and
 * whether the native kernels are registered. No side effects and nothing from Node, so that the
 * core (optimizers, trainer, DB-MTL, GradNorm norms) can ask without importing the addon loader
 * or the wasm backend. In a browser nothing ever registers an addon: every caller takes its
 * tfjs path.
 */
import { getBackend } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon-api.js';

let registered = false;
/** Set by the Node backend (./index.ts): loads the addon on first use, like a direct call would. */
let addonSource: (() => NativeAddon | undefined) | undefined;

/** Called once by the Node-only module that can load the addon; undefined withdraws it. */
export function setNativeAddonSource(source: (() => NativeAddon | undefined) | undefined): void {
  addonSource = source;
}

/** The native addon, when a Node backend made one available and it loaded; else undefined. */
export function nativeAddon(): NativeAddon | undefined {
  return addonSource?.();
}

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
