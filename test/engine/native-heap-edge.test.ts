/**
 * The native bindings at the edges of their input (issue 20), in child processes so that a crash
 * is a failed test, not a dead test runner:
 * - every binding, with one operand flush against the end of a WebAssembly.Memory (V8 keeps the
 *   pages after it inaccessible, as after the tfjs wasm heap: reading or writing one float past the
 *   operand is a SIGSEGV) and the others at unaligned offsets, random shapes and conv/pool
 *   geometries, from the main thread and two worker threads at once while the main thread changes
 *   the instruction set and thread count, one worker terminated mid-work (bench/stress/multi-env.ts);
 * - a gemm call of 2³¹ − 1 empty products returns at once (it allocated two 16 GB offset vectors
 *   before validating, and std::bad_alloc escaping the binding aborted the process).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '../../src/engine/native/addon.js';

const SCRIPT = fileURLToPath(new URL('../../bench/stress/multi-env.ts', import.meta.url));
const env = { ...process.env };
delete env.NODE_OPTIONS;

test('every binding with an operand flush against the end of a wasm memory, three environments at once: no crash', () => {
  assert.ok(loadAddon().addon, `native addon: ${loadAddon().reason ?? ''}`);
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), SCRIPT, '--calls', '300', '--memory', 'wasm'], { env, encoding: 'utf8', timeout: 5 * 60 * 1000 });
  assert.equal(r.signal, null, `killed by ${r.signal}\n${r.stderr.slice(-2000)}`);
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  assert.match(r.stdout, /^ok$/m);
});

test('gemm with 2^31 - 1 empty products returns without allocating per product (memory capped at 8 GB)', { skip: process.platform !== 'linux' ? 'ulimit -v' : false }, () => {
  const path = loadAddon().path;
  assert.ok(loadAddon().addon && path);
  const code = `const a = require(${JSON.stringify(path)}); a.gemm(new ArrayBuffer(64), new Float64Array([2147483647, 0, 4, 4, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0])); console.log('returned');`;
  const r = spawnSync('/bin/sh', ['-c', 'ulimit -v 8000000 && exec "$0" -e "$1"', process.execPath, code], { env, encoding: 'utf8' });
  assert.equal(r.signal, null, `killed by ${r.signal}\n${r.stderr.slice(-1000)}`);
  assert.equal(r.status, 0, r.stderr.slice(-1000));
  assert.match(r.stdout, /^returned$/m);
});

test('std::bad_alloc inside a binding is a JavaScript error (ERR_MULTILOSS_NATIVE_MEMORY), not an abort (memory capped at 8 GB)', { skip: process.platform !== 'linux' ? 'ulimit -v' : false }, () => {
  const path = loadAddon().path;
  assert.ok(loadAddon().addon && path);
  // 3·2²⁷ products of 1 x 0 by 0 x 1: a 1.5 GB output and 6 GB of per-product offsets.
  const code = `const a = require(${JSON.stringify(path)}); const batch = 3 * 2 ** 27;
try { a.gemm(new ArrayBuffer(batch * 4), new Float64Array([batch, 1, 1, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0])); console.log('returned'); }
catch (e) { console.log(e.code); }`;
  const r = spawnSync('/bin/sh', ['-c', 'ulimit -v 8000000 && exec "$0" -e "$1"', process.execPath, code], { env, encoding: 'utf8' });
  assert.equal(r.signal, null, `killed by ${r.signal}\n${r.stderr.slice(-1000)}`);
  assert.equal(r.status, 0, r.stderr.slice(-1000));
  assert.match(r.stdout, /^ERR_MULTILOSS_NATIVE_MEMORY$/m);
});
