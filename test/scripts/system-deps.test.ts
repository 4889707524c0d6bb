/**
 * scripts/system-deps.mjs, the first step of `npm test`: which Debian packages are missing is
 * decided from PATH, so each case runs the real script with a PATH made of links to this
 * machine's real commands minus some. It never installs anything here: the cases that could
 * install (root with apt-get) are given a PATH without apt-get, or run as a non-root user.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = join(REPO, 'scripts/system-deps.mjs');
/** The script's package list (pkg, and the command that proves it is installed), read from its source. */
const PACKAGES = [...readFileSync(SCRIPT, 'utf8').matchAll(/\{ pkg: '([^']+)', command: '([^']+)'/g)].map((m) => ({ pkg: m[1], command: m[2] }));
const COMMANDS = [...PACKAGES.map((p) => p.command), 'apt-get'];
const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The Debian command (apt installs into these; a user's shims, e.g. pyenv under /root, are skipped). */
function which(command: string): string {
  for (const dir of SYSTEM_DIRS) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not here
    }
  }
  throw new Error(`${command} is not installed on this machine (npm test installs it: see scripts/system-deps.mjs)`);
}

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A directory holding links to the real commands except `without`, usable as the whole PATH. */
function pathWithout(without: string[]): string {
  const dir = tempDir('multiloss-path-');
  dirs.push(dir);
  chmodSync(dir, 0o755);
  for (const c of COMMANDS) if (!without.includes(c)) symlinkSync(which(c), join(dir, c));
  return dir;
}

function check(path: string, uid?: number, script = SCRIPT) {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', env: { PATH: path }, ...(uid === undefined ? {} : { uid, gid: uid }) });
  return { status: r.status, stdout: r.stdout, lines: r.stderr.split('\n').filter((l) => l !== '') };
}

describe('npm test: the system packages check', () => {
  test('everything present: silent, exit 0 (no apt-get on PATH, so nothing could be installed)', () => {
    const r = check(pathWithout(['apt-get']));
    assert.deepEqual(r.lines, []);
    assert.equal(r.status, 0);
  });

  test('not root, chromium missing: one line naming the exact command, exit 1, nothing installed', () => {
    // As root, the real non-root case: the script runs as nobody (apt-get is on its PATH but it may not use it).
    const r = check(pathWithout(['chromium']), ROOT ? NOBODY : undefined);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.lines, [
      'npm test: missing Debian packages chromium (not root, so not installed); run: sudo apt-get update && sudo apt-get install -y chromium',
    ]);
  });

  test('no apt-get, two packages missing: one line naming both, exit 1', () => {
    const r = check(pathWithout(['apt-get', 'chromium', 'qemu-aarch64']));
    assert.equal(r.status, 1);
    const expected = ROOT
      ? 'npm test: missing Debian packages chromium, qemu-user (no apt-get here); run: apt-get update && apt-get install -y chromium qemu-user'
      : 'npm test: missing Debian packages chromium, qemu-user (not root, so not installed); run: sudo apt-get update && sudo apt-get install -y chromium qemu-user';
    assert.deepEqual(r.lines, [expected]);
  });

  test('the addon missing (npm ci ran without a compiler): the check builds it', () => {
    // A copy of the scripts and native sources, so the build happens there and not in this checkout.
    const copy = tempDir('multiloss-fresh-');
    dirs.push(copy);
    mkdirSync(join(copy, 'scripts'));
    cpSync(SCRIPT, join(copy, 'scripts/system-deps.mjs'));
    for (const p of ['native/build.mjs', 'native/binding.gyp', 'native/src']) cpSync(join(REPO, p), join(copy, p), { recursive: true });
    // node-gyp needs the usual tools too (/usr/bin); every package is present (pathWithout throws
    // otherwise), so the script has nothing to install even with apt-get reachable there.
    const r = check(`${pathWithout(['apt-get'])}:/usr/bin:/bin`, undefined, join(copy, 'scripts/system-deps.mjs'));
    assert.equal(r.status, 0, r.lines.join('\n'));
    assert.ok(existsSync(join(copy, 'native/build/Release/multiloss_native.node')), r.stdout);
    assert.match(r.stdout, /^multiloss: native kernels built in [\d.]+ s$/m);
  });

  test('the README names every package the check installs', () => {
    assert.ok(PACKAGES.length >= 8, 'the package list was not found in the script');
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const paragraph = readme.slice(readme.indexOf('`npm test` starts by checking'), readme.indexOf('## Install'));
    for (const { pkg } of PACKAGES) assert.ok(paragraph.includes(`\`${pkg}\``), `README does not name ${pkg}`);
  });

  test('npm test starts with the check, and .ci/run is exactly the README\'s test command', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    assert.match(pkg.scripts.test, /^node scripts\/system-deps\.mjs && /);
    const command = /^(npm ci && npm test) /m.exec(readFileSync(join(REPO, 'README.md'), 'utf8'));
    assert.ok(command, 'the README has no "npm ci && npm test" line');
    const ci = readFileSync(join(REPO, '.ci/run'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(ci.at(-1), command[1]);
    assert.deepEqual(ci.slice(0, -1), ['set -euo pipefail', 'cd "$(dirname "$0")/.."']);
  });
});
