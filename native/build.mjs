// Install step: build the native kernels (native/binding.gyp) with node-gyp and the machine's
// compiler. Never fails the install: on any problem it prints one line and exits 0, and
// multiloss runs on its wasm kernels. Never downloads anything: node-gyp gets the local Node
// headers (--nodedir), or the build is skipped when there are none.
//
//   MULTILOSS_NATIVE=0        skip the build
//   MULTILOSS_NATIVE_BUILD=1  print node-gyp's output (otherwise it goes to native/build/build.log)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const notice = (msg) => console.log(`multiloss: ${msg}`);

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  // npm's own copy, next to the node binary (/usr/lib/node_modules/npm, <prefix>/lib/node_modules/npm, ...).
  const prefix = resolve(dirname(process.execPath), '..');
  candidates.push(join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  candidates.push(join(dirname(process.execPath), 'node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package
  }
  return candidates.find((p) => existsSync(p));
}

/** Headers of the running Node without a download: its install prefix, or node-gyp's cache. */
function findNodeDir() {
  const fromEnv = process.env.npm_config_nodedir;
  if (fromEnv && existsSync(join(fromEnv, 'include/node/node_api.h'))) return { dir: fromEnv };
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include/node/node_api.h'))) return { dir: prefix };
  const version = process.version.slice(1);
  const home = process.env.HOME ?? '';
  for (const cache of [
    process.env.npm_config_devdir,
    join(home, '.cache/node-gyp'),
    join(home, '.node-gyp'),
    process.env.LOCALAPPDATA ? join(process.env.LOCALAPPDATA, 'node-gyp/Cache') : undefined,
  ]) {
    if (cache && existsSync(join(cache, version, 'include/node/node_api.h'))) return { devdir: cache };
  }
  return undefined;
}

function main() {
  if (process.env.MULTILOSS_NATIVE === '0') {
    notice('MULTILOSS_NATIVE=0: native kernels not built; using the wasm kernels');
    return;
  }
  const gyp = findNodeGyp();
  if (!gyp) {
    notice('native kernels not built (node-gyp not found); using the wasm kernels');
    return;
  }
  const headers = findNodeDir();
  if (!headers) {
    notice('native kernels not built (no local Node headers, and nothing is downloaded at install); using the wasm kernels');
    return;
  }
  const args = [gyp, 'rebuild', `--directory=${here}`, '--jobs=2'];
  if (headers.dir) args.push(`--nodedir=${headers.dir}`);
  if (headers.devdir) args.push(`--devdir=${headers.devdir}`);
  const verbose = process.env.MULTILOSS_NATIVE_BUILD === '1';
  const started = Date.now();
  const r = spawnSync(process.execPath, args, {
    cwd: here,
    encoding: 'utf8',
    stdio: verbose ? 'inherit' : 'pipe',
    timeout: 10 * 60 * 1000,
    // No network for node-gyp: headers are local (above); make any attempt fail fast.
    env: { ...process.env, npm_config_tarball: '', npm_config_dist_url: 'http://127.0.0.1:9/', npm_config_disturl: 'http://127.0.0.1:9/' },
  });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  try {
    mkdirSync(join(here, 'build'), { recursive: true });
    writeFileSync(join(here, 'build/build.log'), `node ${args.join(' ')}\n${log}`);
  } catch {
    // best effort
  }
  if (r.status !== 0 || !existsSync(join(here, 'build/Release/multiloss_native.node'))) {
    const why = r.error ? r.error.message : (log.split('\n').find((l) => /error/i.test(l)) ?? `exit code ${r.status}`);
    notice(`native kernels not built (${why.trim().slice(0, 160)}); using the wasm kernels (log: native/build/build.log)`);
    return;
  }
  notice(`native kernels built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (e) {
  notice(`native kernels not built (${e instanceof Error ? e.message : String(e)}); using the wasm kernels`);
}
process.exit(0);
