/**
 * The arm64 NEON path of the native kernels (issue 7), proven on this x86-64 machine by
 * emulation: `native/test/run.sh neon` cross-compiles the C++ kernel harness
 * (native/test/kernel_test.cc: every kernel against a double-precision reference on random
 * shapes incl. 1, odd, non-multiples of the micro-tile and empty) for aarch64, runs it under
 * qemu-aarch64 for the neon and scalar instruction sets x 1 and 2 threads, -O2 and
 * AddressSanitizer + UBSan (after a canary shows ASan catches an overrun under qemu), and
 * compiles and links the addon itself for aarch64 with binding.gyp's flags.
 *
 * Needs Debian's g++-aarch64-linux-gnu and qemu-user (.ci/run installs them): without them
 * this test FAILS, naming the packages; it never passes without running the NEON kernels.
 * Timing under qemu means nothing; only correctness is checked here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const INSTALL = 'apt-get install -y g++-aarch64-linux-gnu qemu-user';

/** The lines of one harness run: from its "== <title>" header to the next header. */
function section(out: string, title: string): string[] {
  const start = out.indexOf(`== ${title}`);
  assert.ok(start >= 0, `run.sh neon printed no "${title}" section:\n${out}`);
  const rest = out.slice(start).split('\n');
  const end = rest.findIndex((l, i) => i > 0 && l.startsWith('== '));
  return end < 0 ? rest : rest.slice(0, end);
}

function assertHarnessRun(lines: string[], title: string): void {
  const text = lines.join('\n');
  assert.match(lines[0] ?? '', /\(exit 0\)/, `${title} failed:\n${text}`);
  assert.ok(lines.includes('arch aarch64, best instruction set neon'), `${title}: not an aarch64 build with NEON:\n${text}`);
  // MULTILOSS_NATIVE_ISA on arm64: scalar caps to the portable kernels, avx2/avx512 leave NEON on.
  assert.ok(lines.includes('instruction set caps: ok'), `${title}: instruction set caps wrong:\n${text}`);
  for (const threads of [1, 2]) {
    // The NEON micro-kernel (8x12) ran, and so did the portable one (4x8), on 1 and 2 threads.
    assert.ok(lines.includes(`neon    threads ${threads} (gemm 8x12): ok`), `${title}: neon, ${threads} thread(s) not ok:\n${text}`);
    assert.ok(lines.includes(`scalar  threads ${threads} (gemm 4x8): ok`), `${title}: scalar, ${threads} thread(s) not ok:\n${text}`);
  }
  assert.ok(!/FAIL/.test(text), `${title}: failures:\n${text}`);
  assert.match(text, /worst relative error [0-9.e+-]+; all passed/, `${title}: no summary:\n${text}`);
}

describe('native kernels, arm64 NEON path (cross-compiled, run under qemu-aarch64)', () => {
  test('run.sh neon: kernels pass on neon and scalar x 1 and 2 threads, -O2 and ASan+UBSan; the addon builds for arm64', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'multiloss-neon-'));
    try {
      const r = spawnSync('sh', [join(ROOT, 'native/test/run.sh'), 'neon'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 600_000,
        env: { ...process.env, TMPDIR: tmp },
      });
      const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
      if (r.status === 3) {
        assert.fail(`the arm64 cross toolchain is missing, so the NEON kernels cannot be tested (install: ${INSTALL}; .ci/run does):\n${out}`);
      }
      assert.equal(r.error, undefined, `run.sh neon did not finish: ${String(r.error)}\n${out}`);
      assert.equal(r.status, 0, `run.sh neon failed (exit ${r.status}):\n${out}`);
      assert.ok(!/warning:/.test(out), `compiler warnings in the arm64 builds:\n${out}`);

      assertHarnessRun(section(out, 'aarch64 -O2 under qemu-aarch64'), 'aarch64 -O2');
      // The sanitizer run: its runtime ships with g++-aarch64-linux-gnu (libasan8-arm64-cross),
      // and the canary proves ASan reports an overrun under qemu.
      assert.match(out, /AddressSanitizer under qemu-aarch64 reports a one-element heap overrun \(canary ok\)/, out);
      assertHarnessRun(section(out, 'aarch64 AddressSanitizer + UBSan under qemu-aarch64'), 'aarch64 ASan+UBSan');

      const addon = section(out, 'addon (addon.cc + kernels, binding.gyp flags) for aarch64');
      assert.match(addon[0] ?? '', /: built$/, `the addon did not build for arm64:\n${addon.join('\n')}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
