/**
 * Picks and initialises the tfjs backend in a page or a Web Worker: the first of `backends`
 * (default webgl, then wasm, then cpu) that starts.
 *
 * - 'webgl': `@tensorflow/tfjs-backend-webgl`, which multiloss does not bundle (it is large and
 *   not every page wants it): import it in your page first (`import '@tensorflow/tfjs-backend-webgl'`);
 *   without it, or without a WebGL context, the next backend is tried.
 * - 'wasm': `@tensorflow/tfjs-backend-wasm` with multiloss's fixed kernels (the same ones as in
 *   Node). Its .wasm files are fetched from `wasmPaths`: a URL prefix ending in "/" or a map from
 *   file name to URL (tfjs's setWasmPaths); by default, next to the bundled script.
 * - 'cpu': the pure-JS backend, always available.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernelFixes } from '../engine/wasm-kernels/index.js';
import { MultilossError } from '../errors.js';

export type BrowserBackendName = 'webgl' | 'wasm' | 'cpu';

export const BROWSER_BACKENDS: readonly BrowserBackendName[] = ['webgl', 'wasm', 'cpu'];

/** The three .wasm files of tfjs-backend-wasm (plain, SIMD, threaded SIMD). */
export type WasmFileName = 'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm';

export interface BrowserBackendOptions {
  /** Backends to try, in order (default: webgl, wasm, cpu). */
  backends?: readonly BrowserBackendName[];
  /**
   * Where the wasm backend fetches its .wasm files: a prefix ending in "/" or a map file name →
   * URL. Used until the wasm backend has started once; later calls keep the first paths.
   */
  wasmPaths?: string | Partial<Record<WasmFileName, string>>;
}

export interface BrowserBackendInfo {
  /** The backend now active. */
  name: BrowserBackendName;
  /** wasm only: whether the SIMD build is in use. */
  simd?: boolean;
  /** Whether multiloss's fixed wasm kernels are registered (wasm only). */
  fixedKernels: boolean;
  /** The backends tried before it, each with why it was not used. */
  skipped: { name: BrowserBackendName; reason: string }[];
}

async function activate(name: BrowserBackendName): Promise<string | undefined> {
  if (tf.findBackendFactory(name) === null) {
    return name === 'webgl' ? "not registered (import '@tensorflow/tfjs-backend-webgl' in the page to use it)" : 'not registered';
  }
  try {
    if (await tf.setBackend(name)) {
      await tf.ready();
      return undefined;
    }
    return 'failed to initialise';
  } catch (e) {
    return `failed to initialise: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * Initialises the first backend of `options.backends` that starts (see the module comment) and
 * returns which one it is and why the ones before it were skipped. Throws a MultilossError for an
 * unknown backend name, or when none starts (naming each reason).
 */
export async function initBrowserBackend(options: BrowserBackendOptions = {}): Promise<BrowserBackendInfo> {
  const wanted = options.backends ?? BROWSER_BACKENDS;
  if (wanted.length === 0) throw new MultilossError('config', `backends: the list is empty (give some of ${BROWSER_BACKENDS.join(', ')})`);
  for (const name of wanted) {
    if (!BROWSER_BACKENDS.includes(name)) {
      throw new MultilossError('config', `backends: unknown backend '${String(name)}' (expected some of ${BROWSER_BACKENDS.join(', ')})`);
    }
  }
  const skipped: BrowserBackendInfo['skipped'] = [];
  for (const name of wanted) {
    if (name === 'wasm') {
      // The paths matter until the wasm backend has started (tfjs refuses them after).
      if (options.wasmPaths !== undefined && tf.findBackend('wasm') === null) setWasmPaths(options.wasmPaths);
      registerWasmKernelFixes();
    }
    const reason = await activate(name);
    if (reason !== undefined) {
      skipped.push({ name, reason });
      continue;
    }
    const info: BrowserBackendInfo = { name, fixedKernels: name === 'wasm', skipped };
    if (name === 'wasm') info.simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    return info;
  }
  throw new MultilossError('config', `no tfjs backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
