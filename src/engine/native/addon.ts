/**
 * Loads the native kernel addon (native/build/Release/multiloss_native.node, built by
 * `node native/build.mjs` at install) with a guarded require: a missing or broken build is a
 * reason string, never an exception. Node-only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** x86-64: 'avx512' | 'avx2' | 'scalar'; arm64: 'neon' | 'scalar' (ASIMD is baseline on arm64). */
export type NativeIsa = 'avx512' | 'avx2' | 'neon' | 'scalar';

export interface NativeAddonInfo {
  /** Micro-kernels in use. */
  isa: NativeIsa;
  /** Best the CPU supports. */
  bestIsa: NativeIsa;
  threads: number;
  arch: string;
  abi: number;
}

/** The addon's functions (native/src/addon.cc documents the parameter layouts). */
export interface NativeAddon {
  info(): NativeAddonInfo;
  /**
   * isa: 0 scalar, 1 avx2, 2 avx512, 3 neon, -1 keep; threads: 0 keep. Clamped to what the CPU has
   * (a set of the other architecture is no cap: the CPU's best).
   */
  configure(isa: number, threads: number): NativeAddonInfo;
  gemm(heap: ArrayBuffer, params: Float64Array, batchOffsets?: Float64Array): void;
  sumMiddle(heap: ArrayBuffer, params: Float64Array): void;
  adam(heap: ArrayBuffer, slots: Float64Array, params: Float64Array): void;
  /**
   * Adam with each gradient formed as float(Σₜ wₜ·gₜ) in double, chunk by chunk: slots = [var, m, v,
   * n, first term, term count] per variable (byte offsets), terms = [weight, byte offset] per term.
   * Absent from builds before it.
   */
  adamWeighted?(heap: ArrayBuffer, slots: Float64Array, terms: Float64Array, params: Float64Array): void;
  /**
   * GradNorm's last-layer norms: params = [n, kin, k, T, method, xOff, dOff (-1), dStep (0/1),
   * maskOff (-1), T gradient offsets] (bytes); out gets ‖Xᵀδₜ‖² then ‖Σ_rows δₜ‖². Absent from
   * builds before it.
   */
  layerGradNorms?(heap: ArrayBuffer, params: Float64Array, out: Float64Array): void;
  conv2d(heap: ArrayBuffer, params: Float64Array): void;
  maxPoolGrad(heap: ArrayBuffer, params: Float64Array): void;
  /** slots = [T, then per variable: n, T byte offsets (-1: none)]; out gets the T(T+1)/2 pair sums. */
  gram(heap: ArrayBuffer, slots: Float64Array, out: Float64Array): void;
  /** params = [T, n, outOff, T weights, T byte offsets (-1: none)]. */
  weightedSum(heap: ArrayBuffer, params: Float64Array): void;
}

/** The ABI version native/src/addon.cc reports; a stale build with another one is not used. */
const ABI = 2;
const ADDON_FILE = 'native/build/Release/multiloss_native.node';

export interface AddonLoad {
  addon?: NativeAddon;
  /** Why there is no addon. */
  reason?: string;
  path?: string;
}

let loaded: AddonLoad | undefined;

/** The package root: the nearest folder above this module whose package.json is multiloss's. */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'multiloss') return dir;
      } catch {
        // unreadable: keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Load the addon once; later calls return the same result. MULTILOSS_NATIVE_ADDON=path loads that
 * build instead of the installed one (the sanitizer builds of test/engine/native-sanitizers.test.ts
 * and `npm run stress -- native`).
 */
export function loadAddon(): AddonLoad {
  if (loaded !== undefined) return loaded;
  const override = process.env.MULTILOSS_NATIVE_ADDON?.trim();
  const root = override ? undefined : packageRoot();
  if (!override && root === undefined) {
    loaded = { reason: 'package root not found' };
    return loaded;
  }
  const path = override || join(root as string, ADDON_FILE);
  if (!existsSync(path)) {
    loaded = { reason: override ? `not found (MULTILOSS_NATIVE_ADDON=${override})` : `not built (${ADDON_FILE} missing; build it with: node native/build.mjs)`, path };
    return loaded;
  }
  try {
    const req = createRequire(import.meta.url);
    const addon = req(path) as NativeAddon;
    const info = addon.info();
    if (info.abi !== ABI) {
      loaded = { reason: `stale build (abi ${info.abi}, expected ${ABI}; rebuild with: node native/build.mjs)`, path };
    } else {
      loaded = { addon, path };
    }
  } catch (e) {
    loaded = { reason: `failed to load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, path };
  }
  return loaded;
}
