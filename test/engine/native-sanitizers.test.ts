/**
 * The native addon's real bindings under ThreadSanitizer and under AddressSanitizer +
 * UndefinedBehaviorSanitizer, through Node (issue 20): each sanitizer build (cached in the temp
 * folder by a hash of native/src) is loaded into a node process with the runtime preloaded, where
 * two worker threads and the main thread call every binding at once while the main thread changes
 * the thread count and instruction set, one worker is terminated mid-work, and (ASan) the main
 * thread then trains with the native kernels through tfjs (bench/stress/multi-env.ts). Any report
 * fails the test; so does a missing compiler or sanitizer runtime (one line naming the package).
 * Suppressions cover Node's and V8's own reports only (bench/stress/sanitizers.ts says why each).
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildSanitizedAddon, runSanitized, SanitizerSetupError, type SanitizedRun, type Sanitizer } from '../../bench/stress/sanitizers.js';

const SCRIPT = fileURLToPath(new URL('../../bench/stress/multi-env.ts', import.meta.url));
const DIR = join(tmpdir(), 'multiloss-sanitizers');
const ARGS: Record<Sanitizer, string[]> = {
  tsan: ['--calls', '150', '--memory', 'wasm'],
  asan: ['--calls', '300', '--memory', 'arraybuffer', '--train'],
};

describe('native addon through Node under sanitizers', { skip: process.platform !== 'linux' || process.arch !== 'x64' ? 'the sanitizer runs are set up for x86-64 Linux' : false }, () => {
  const runs = new Map<Sanitizer, Promise<SanitizedRun | string>>();
  before(() => {
    // Both at once (2 cores): build, then run.
    for (const kind of ['tsan', 'asan'] as const) {
      runs.set(
        kind,
        buildSanitizedAddon(kind, DIR).then(
          (addon) => runSanitized(kind, addon, DIR, SCRIPT, ARGS[kind]),
          (e: unknown) => (e instanceof SanitizerSetupError ? e.message : Promise.reject(e)),
        ),
      );
    }
  });

  for (const [kind, name] of [
    ['tsan', 'ThreadSanitizer'],
    ['asan', 'AddressSanitizer + UndefinedBehaviorSanitizer'],
  ] as const) {
    test(`${name}: every binding from three environments at once, a worker terminated mid-work: no report`, { timeout: 600_000 }, async () => {
      const r = await runs.get(kind);
      if (typeof r === 'string') assert.fail(r);
      assert.ok(r !== undefined);
      assert.equal(r.report, undefined, `${name} reported:\n${r.report ?? ''}`);
      assert.equal(r.signal, null, `killed by ${r.signal}:\n${r.stderr.slice(-2000)}`);
      assert.equal(r.status, 0, `exit code ${r.status}:\n${r.stderr.slice(-2000)}`);
      assert.match(r.stdout, /^ok$/m);
    });
  }
});
