/**
 * Picks and initialises the tfjs backend in Node.
 *
 * - 'tensorflow': `@tensorflow/tfjs-node` (native TensorFlow); an optional dependency, loaded
 *   with a dynamic import.
 * - 'wasm': `@tensorflow/tfjs-backend-wasm` with the fixed kernels of ./wasm-kernels (4x faster
 *   dense training than the stock wasm kernels, and conv/embedding gradients that work).
 * - 'cpu': the pure-JS backend (slow; a reference).
 * - 'auto' (default): 'tensorflow' if tfjs-node can be imported, else 'wasm', else 'cpu'.
 *   The environment variable MULTILOSS_BACKEND overrides 'auto'.
 *
 * Node-only module.
 */
import process from 'node:process';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { MultilossError } from '../errors.js';
import { registerWasmKernelFixes } from './wasm-kernels/index.js';
// Native kernels (issue 7): see src/engine/native/index.ts.
import { registerNativeKernels, type NativeStatus } from './native/index.js';

export type BackendChoice = 'auto' | 'wasm' | 'cpu' | 'tensorflow';

export interface BackendInfo {
  /** The tfjs backend name now active: 'tensorflow', 'wasm' or 'cpu'. */
  name: string;
  /** wasm only: whether the SIMD build is in use. */
  simd?: boolean;
  /** Whether multiloss's fixed wasm kernels are registered for the active backend. */
  fixedKernels: boolean;
  /** Native CPU kernels (issue 7; wasm backend only): active, with which instruction set, or why not. */
  native: NativeStatus;
}

/** Native kernels (issue 7) plug into the wasm backend only. */
const NOT_WASM: NativeStatus = { active: false, reason: 'the native kernels run under the wasm backend only' };

const CHOICES: readonly BackendChoice[] = ['auto', 'wasm', 'cpu', 'tensorflow'];
const TFJS_NODE = '@tensorflow/tfjs-node';

let current: BackendInfo | undefined;
/** One initialisation per concrete choice, shared by concurrent and repeated calls. */
const pending = new Map<BackendChoice, Promise<BackendInfo>>();

function resolveChoice(choice: BackendChoice | undefined): BackendChoice {
  if (choice !== undefined && !CHOICES.includes(choice)) {
    throw new MultilossError('config', `unknown backend '${String(choice)}' (expected one of ${CHOICES.join(', ')})`);
  }
  if (choice !== undefined && choice !== 'auto') return choice;
  const fromEnv = process.env.MULTILOSS_BACKEND?.trim().toLowerCase();
  if (fromEnv === undefined || fromEnv === '') return 'auto';
  if (!(CHOICES as readonly string[]).includes(fromEnv)) {
    throw new MultilossError(
      'config',
      `MULTILOSS_BACKEND='${process.env.MULTILOSS_BACKEND}' is not a backend (expected one of ${CHOICES.join(', ')})`,
    );
  }
  return fromEnv as BackendChoice;
}

async function activate(name: string): Promise<boolean> {
  if (tf.getBackend() === name && tf.findBackend(name) !== null) return true;
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

async function tryTensorflow(): Promise<BackendInfo | undefined> {
  if (tf.findBackendFactory('tensorflow') === null) {
    try {
      // A variable specifier: tfjs-node is optional and usually not installed.
      const spec: string = TFJS_NODE;
      await import(spec);
    } catch {
      return undefined;
    }
    // A second copy of tfjs-core (version mismatch) would register the backend elsewhere.
    if (tf.findBackendFactory('tensorflow') === null) return undefined;
  }
  if (!(await activate('tensorflow'))) return undefined;
  return { name: 'tensorflow', fixedKernels: false, native: NOT_WASM };
}

async function tryWasm(): Promise<BackendInfo | undefined> {
  registerWasmKernelFixes(); // also imports and registers the wasm backend
  if (!(await activate('wasm'))) return undefined;
  let simd: boolean | undefined;
  try {
    simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  } catch {
    simd = undefined;
  }
  // Native kernels (issue 7) on top of the wasm fixes, unless MULTILOSS_NATIVE=0.
  const native: NativeStatus =
    process.env.MULTILOSS_NATIVE?.trim() === '0' ? { active: false, reason: 'disabled by MULTILOSS_NATIVE=0' } : registerNativeKernels();
  const info: BackendInfo = { name: 'wasm', fixedKernels: true, native };
  if (simd !== undefined) info.simd = simd;
  return info;
}

async function tryCpu(): Promise<BackendInfo | undefined> {
  if (!(await activate('cpu'))) return undefined;
  return { name: 'cpu', fixedKernels: false, native: NOT_WASM };
}

async function initialise(choice: BackendChoice): Promise<BackendInfo> {
  let info: BackendInfo | undefined;
  switch (choice) {
    case 'tensorflow':
      info = await tryTensorflow();
      if (info === undefined) {
        throw new MultilossError(
          'config',
          `backend 'tensorflow' needs ${TFJS_NODE} (install it with npm install ${TFJS_NODE}), or use backend 'wasm'`,
        );
      }
      return info;
    case 'wasm':
      info = await tryWasm();
      if (info === undefined) throw new MultilossError('config', "the 'wasm' backend failed to initialise");
      return info;
    case 'cpu':
      info = await tryCpu();
      if (info === undefined) throw new MultilossError('config', "the 'cpu' backend failed to initialise");
      return info;
    case 'auto':
      info = (await tryTensorflow()) ?? (await tryWasm()) ?? (await tryCpu());
      if (info === undefined) throw new MultilossError('config', 'no tfjs backend could be initialised');
      return info;
  }
}

/**
 * Select and initialise the tfjs backend (see the module comment). Safe to call many times:
 * the same choice initialises once, and re-activates its backend if something else switched
 * tfjs to another one meanwhile. A different choice switches backends.
 */
export async function initBackend(choice?: BackendChoice): Promise<BackendInfo> {
  const resolved = resolveChoice(choice);
  let p = pending.get(resolved);
  if (p === undefined) {
    p = initialise(resolved);
    pending.set(resolved, p);
    p.catch(() => pending.delete(resolved));
  }
  const info = await p;
  if (tf.getBackend() !== info.name && !(await activate(info.name))) {
    throw new MultilossError('config', `the '${info.name}' backend could not be re-activated`);
  }
  current = { ...info, native: { ...info.native } };
  return { ...info, native: { ...info.native } };
}

/** What the last successful `initBackend` set up, or undefined before any. */
export function backendInfo(): BackendInfo | undefined {
  return current === undefined ? undefined : { ...current, native: { ...current.native } };
}
