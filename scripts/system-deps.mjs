// First step of `npm test`: the Debian packages the test suite needs beyond npm's. When one is
// missing, it is installed with apt-get if we can (root, apt-get on PATH); otherwise the run
// stops at once with ONE line naming the exact command to run. No test is skipped for a
// missing package: either the package is there or the suite does not start.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** One line per Debian package: the command that proves it is installed, and which tests need it. */
const SYSTEM_PACKAGES = [
  { pkg: 'chromium', command: 'chromium', neededBy: 'the HTML report and browser tests (Debian chromium through playwright-core)' },
  { pkg: 'g++-aarch64-linux-gnu', command: 'aarch64-linux-gnu-g++', neededBy: 'the arm64 NEON kernel test (cross-compiled)' },
  { pkg: 'qemu-user', command: 'qemu-aarch64', neededBy: 'the arm64 NEON kernel test (run under emulation)' },
  { pkg: 'g++', command: 'g++', neededBy: 'the native addon and the C++ kernel harness' },
  { pkg: 'make', command: 'make', neededBy: 'the native addon (node-gyp)' },
  { pkg: 'python3', command: 'python3', neededBy: 'the native addon (node-gyp)' },
  { pkg: 'redis-server', command: 'redis-server', neededBy: 'the distributed sweep tests (compare --queue, multiloss worker)' },
  { pkg: 'openssl', command: 'openssl', neededBy: 'the TLS (rediss://) queue test (a self-signed certificate)' },
];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ADDON = join(ROOT, 'native/build/Release/multiloss_native.node');

function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

const missingPackages = () => SYSTEM_PACKAGES.filter((p) => !onPath(p.command)).map((p) => p.pkg);

function stop(missing, why) {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  console.error(
    `npm test: missing Debian packages ${missing.join(', ')}${why}; run: ${sudo}apt-get update && ${sudo}apt-get install -y ${missing.join(' ')}`,
  );
  process.exit(1);
}

function main() {
  const missing = missingPackages();
  if (missing.length > 0) {
    const root = process.getuid?.() === 0;
    if (!root || !onPath('apt-get')) stop(missing, root ? ' (no apt-get here)' : ' (not root, so not installed)');
    console.error(`npm test: installing ${missing.join(', ')} with apt-get`);
    const run = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
    if (!run(['update', '-qq']) || !run(['install', '-y', '-qq', ...missing])) stop(missing, ' (apt-get failed)');
    const still = missingPackages();
    if (still.length > 0) stop(still, ' (still missing after apt-get)');
  }
  // `npm ci` builds the addon only if a compiler was there at the time; build it now that one is.
  if (!existsSync(ADDON)) spawnSync(process.execPath, [join(ROOT, 'native/build.mjs')], { stdio: 'inherit' });
}

main();
