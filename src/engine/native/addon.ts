/**
 * Loads the native kernel addon (native/build/Release/multiloss_native.node, built by
 * `node native/build.mjs` at install) with a guarded require: a missing or broken build is a
 * reason string, never an exception. Node-only: the core never imports this module; the Node
 * backend (./index.ts) hands it to the core through ./state.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export type { NativeAddon, NativeAddonInfo, NativeIsa } from './addon-api.js';
import type { NativeAddon } from './addon-api.js';

/** The ABI version native/src/addon.cc reports; a stale build with another one is not used. */
const ABI = 3;
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
 * How to build the addon: the build script in a clone; npm's rebuild in an installed package,
 * where the install script may not have run (blocked or unapproved scripts, --ignore-scripts).
 */
function buildCommand(root: string): string {
  return root.split(sep).includes('node_modules') ? 'npm install-scripts approve multiloss && npm rebuild multiloss' : 'node native/build.mjs';
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
    loaded = { reason: override ? `not found (MULTILOSS_NATIVE_ADDON=${override})` : `not built (${ADDON_FILE} missing; build it with: ${buildCommand(root as string)})`, path };
    return loaded;
  }
  try {
    const req = createRequire(import.meta.url);
    const addon = req(path) as NativeAddon;
    const info = addon.info();
    if (info.abi !== ABI) {
      loaded = { reason: `stale build (abi ${info.abi}, expected ${ABI}; rebuild with: ${root === undefined ? 'the build that MULTILOSS_NATIVE_ADDON names' : buildCommand(root)})`, path };
    } else {
      loaded = { addon, path };
    }
  } catch (e) {
    loaded = { reason: `failed to load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, path };
  }
  return loaded;
}
