/**
 * Native CPU kernels for the tfjs `wasm` backend (issue 7): a Node addon (native/, N-API,
 * built at install) with a cache-blocked, packed sgemm whose micro-kernels are chosen at run
 * time (AVX-512, AVX2+FMA, portable on x86-64; NEON or portable on arm64), an axis-block Sum,
 * conv2d and its backprops (im2col + GEMM), and a fused in-place Adam (./adam.ts), on 2 threads
 * (caller + a persistent worker).
 * The kernels work in place on the wasm heap: no copies.
 *
 * Environment:
 *   MULTILOSS_NATIVE=0            never use them (the wasm kernels run)
 *   MULTILOSS_NATIVE=1            use them even where only the portable micro-kernel exists
 *                                 (by default an x86-64 CPU without AVX2 keeps the wasm kernels)
 *   MULTILOSS_NATIVE_ISA=scalar|avx2|avx512|neon   use at most this instruction set (scalar caps
 *                                 everywhere; a set of the other architecture is no cap)
 *   MULTILOSS_NATIVE_THREADS=n    threads (default 2, or 1 on a 1-CPU machine)
 *   MULTILOSS_NATIVE_ADDON=path   load this build of the addon (the sanitizer builds of the tests)
 *   MULTILOSS_DEBUG=1             print which path is active (stderr)
 *
 * Node-only. The core modules that call the addon (./adam.ts, ./gram.ts, ./layer-norms.ts) get it
 * through the slot in ./state.ts, which importing this module fills (loaded on first use), so
 * the core never imports the loader and bundles for a browser.
 */
import process from 'node:process';
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { registerWasmKernelFixes } from '../wasm-kernels/index.js';
import { WASM } from '../wasm-kernels/internals.js';
import type { NativeAddonInfo, NativeIsa } from './addon-api.js';
import { loadAddon } from './addon.js';
import { NATIVE_KERNELS, setKernelAddon, setPreviousKernel } from './kernels.js';
import { nativeKernelsActive, setNativeAddonSource, setNativeRegistered } from './state.js';

export { createNativeAdam, nativeAdamActive, NativeAdamOptimizer } from './adam.js';
export { gramOfTensors, weightedSumOfTensors } from './gram.js';
export { loadAddon } from './addon.js';
export type { NativeAddon, NativeAddonInfo, NativeIsa } from './addon-api.js';
export { nativeKernelsActive } from './state.js';

setNativeAddonSource(() => loadAddon().addon);

/** What `BackendInfo.native` reports. */
export interface NativeStatus {
  active: boolean;
  /** Micro-kernels in use. */
  isa?: string;
  threads?: number;
  /** Why the native path is not active. */
  reason?: string;
}

/** MULTILOSS_DEBUG=1: one stderr line saying which path is active and why. */
function debugLog(s: NativeStatus): NativeStatus {
  const flag = process.env.MULTILOSS_DEBUG?.trim();
  if (flag && flag !== '0') {
    console.error(`multiloss: native kernels ${s.active ? `active (${s.isa}, ${s.threads} threads)` : `inactive: ${s.reason ?? 'unknown'}; using the wasm kernels`}`);
  }
  return s;
}

const NATIVE_TAG = Symbol.for('multiloss.nativeKernels');
/** Kernels replaced by ours, to put back in unregisterNativeKernels (process-wide store). */
const PREVIOUS_KEY = Symbol.for('multiloss.nativeKernels.previous');
const ISA_CODE: Record<NativeIsa, number> = { scalar: 0, avx2: 1, avx512: 2, neon: 3 };

function previousStore(): Map<string, KernelConfig> {
  const g = globalThis as unknown as Record<symbol, Map<string, KernelConfig> | undefined>;
  let store = g[PREVIOUS_KEY];
  if (store === undefined) {
    store = new Map();
    g[PREVIOUS_KEY] = store;
  }
  return store;
}

const isNative = (c: KernelConfig | undefined): boolean => c !== undefined && (c as unknown as Record<symbol, unknown>)[NATIVE_TAG] === true;

let status: NativeStatus = { active: false, reason: 'not initialised' };

function statusFrom(info: NativeAddonInfo): NativeStatus {
  return { active: true, isa: info.isa, threads: info.threads };
}

/**
 * Load the addon and register the native kernels on 'wasm' (after the fixed wasm kernels, whose
 * versions stay as the fallback for cases the native ones do not cover). Idempotent. Never
 * throws: returns why the native path is not active instead.
 */
export function registerNativeKernels(): NativeStatus {
  return debugLog(register());
}

function register(): NativeStatus {
  const env = process.env.MULTILOSS_NATIVE?.trim();
  if (env === '0') return (status = { active: false, reason: 'disabled by MULTILOSS_NATIVE=0' });
  const load = loadAddon();
  if (load.addon === undefined) return (status = { active: false, reason: `native addon ${load.reason ?? 'unavailable'}` });
  const addon = load.addon;
  let info: NativeAddonInfo;
  try {
    const wantIsa = process.env.MULTILOSS_NATIVE_ISA?.trim().toLowerCase() as NativeIsa | undefined;
    const threads = Number(process.env.MULTILOSS_NATIVE_THREADS ?? 0);
    info = addon.configure(wantIsa !== undefined && wantIsa in ISA_CODE ? ISA_CODE[wantIsa] : -1, Number.isInteger(threads) && threads > 0 ? threads : 0);
  } catch (e) {
    return (status = { active: false, reason: `native addon failed: ${e instanceof Error ? e.message : String(e)}` });
  }
  const askedScalar = process.env.MULTILOSS_NATIVE_ISA?.trim().toLowerCase() === 'scalar';
  if (info.bestIsa === 'scalar' && env !== '1' && !askedScalar) {
    return (status = {
      active: false,
      isa: info.isa,
      reason: `no AVX2/AVX-512 (x86-64) or NEON (arm64) on this ${info.arch} CPU: the wasm (XNNPACK) kernels are faster than the portable native ones (MULTILOSS_NATIVE=1 forces them)`,
    });
  }
  try {
    registerWasmKernelFixes(); // the fixed kernels first: they become our fallbacks
    setKernelAddon(addon);
    for (const config of NATIVE_KERNELS) {
      const current = getKernel(config.kernelName, WASM);
      if (isNative(current)) continue;
      if (current !== undefined) {
        if (!previousStore().has(config.kernelName)) previousStore().set(config.kernelName, current);
        setPreviousKernel(config.kernelName, current.kernelFunc);
        unregisterKernel(config.kernelName, WASM);
      }
      const ours: KernelConfig = { ...config };
      if (current?.setupFunc !== undefined) ours.setupFunc = current.setupFunc;
      if (current?.disposeFunc !== undefined) ours.disposeFunc = current.disposeFunc;
      Object.defineProperty(ours, NATIVE_TAG, { value: true });
      registerKernel(ours);
    }
  } catch (e) {
    unregisterNativeKernels();
    return (status = { active: false, reason: `registering the native kernels failed: ${e instanceof Error ? e.message : String(e)}` });
  }
  setNativeRegistered(true);
  return (status = statusFrom(info));
}

/** Put back the kernels the native ones replaced (tests and benchmarks compare both paths). */
export function unregisterNativeKernels(): void {
  for (const config of NATIVE_KERNELS) {
    const current = getKernel(config.kernelName, WASM);
    if (!isNative(current)) continue;
    unregisterKernel(config.kernelName, WASM);
    const prev = previousStore().get(config.kernelName);
    if (prev !== undefined) registerKernel(prev);
  }
  setNativeRegistered(false);
  status = { active: false, reason: 'unregistered' };
}

/** Whether our kernels are the ones registered on 'wasm' now. */
export function nativeKernelsRegistered(): boolean {
  return NATIVE_KERNELS.every((c) => isNative(getKernel(c.kernelName, WASM)));
}

/** The status of the last registerNativeKernels / unregisterNativeKernels call. */
export function nativeStatus(): NativeStatus {
  return { ...status, active: status.active && nativeKernelsActive() };
}

/**
 * Change the instruction set / thread count (tests and benchmarks). Only downgrades the
 * instruction set below what the CPU has. Returns the addon's settings, or undefined without it.
 */
export function configureNative(options: { isa?: NativeIsa; threads?: number }): NativeAddonInfo | undefined {
  const addon = loadAddon().addon;
  if (addon === undefined) return undefined;
  const info = addon.configure(options.isa === undefined ? -1 : ISA_CODE[options.isa], options.threads ?? 0);
  if (status.active) status = statusFrom(info);
  return info;
}
