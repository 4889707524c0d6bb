// Sanitizer builds of the native addon, run through Node (issue 20): the real bindings in a real
// node process, with the sanitizer's runtime preloaded (LD_PRELOAD) because node itself is not
// instrumented. Used by `npm run stress -- native --sanitizer tsan|asan` and by
// test/engine/native-sanitizers.test.ts.
//
//   tsan  ThreadSanitizer: the pool in native/src/threads.cc, every binding from several Node
//         environments (main thread and worker threads) in one process.
//   asan  AddressSanitizer + UndefinedBehaviorSanitizer (no recovery: the first report ends the
//         run). Node's ArrayBuffers are calloc'd, so the preloaded runtime puts red zones around
//         the buffers the kernels are given (the wasm heap itself is an mmap'd region it cannot see).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export type Sanitizer = 'tsan' | 'asan';

const SRC = fileURLToPath(new URL('../../native/src/', import.meta.url));
const SOURCES = ['addon.cc', 'gemm.cc', 'kernels.cc', 'conv.cc', 'threads.cc'];
/** The Debian package that brings each sanitizer's runtime for g++ 12. */
const RUNTIME: Record<Sanitizer, { lib: string; pkg: string; flags: string[] }> = {
  tsan: { lib: 'libtsan.so', pkg: 'libtsan2', flags: ['-fsanitize=thread'] },
  asan: { lib: 'libasan.so', pkg: 'libasan8 and libubsan1', flags: ['-fsanitize=address,undefined', '-fno-sanitize-recover=all'] },
};

/** Fails with one line naming what to install when the compiler, runtime or Node headers are missing. */
export class SanitizerSetupError extends Error {}

function cxx(): string {
  const r = spawnSync('g++', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new SanitizerSetupError('sanitizer build: g++ not found (apt-get install -y g++)');
  return 'g++';
}

/** The absolute path of the sanitizer's runtime, or a SanitizerSetupError naming its package. */
export function sanitizerRuntime(kind: Sanitizer): string {
  const r = spawnSync(cxx(), [`-print-file-name=${RUNTIME[kind].lib}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (!path.startsWith('/') || !existsSync(path)) throw new SanitizerSetupError(`sanitizer build: ${RUNTIME[kind].lib} not found (apt-get install -y ${RUNTIME[kind].pkg})`);
  return resolve(path);
}

function nodeIncludeDir(): string {
  const dir = join(resolve(dirname(process.execPath), '..'), 'include/node');
  if (!existsSync(join(dir, 'node_api.h'))) throw new SanitizerSetupError(`sanitizer build: Node headers not found in ${dir} (apt-get install -y libnode-dev)`);
  return dir;
}

/**
 * Compiles native/src with the sanitizer (binding.gyp's flags, -O1 -g) into `dir`, or reuses a build
 * there of the same sources, flags, compiler and Node (the file name carries their hash).
 */
export async function buildSanitizedAddon(kind: Sanitizer, dir: string): Promise<string> {
  sanitizerRuntime(kind);
  const args = [
    '-std=c++17',
    '-O1',
    '-g',
    '-fno-omit-frame-pointer',
    '-ffp-contract=off',
    '-fno-math-errno',
    '-fvisibility=hidden',
    '-pthread',
    '-fPIC',
    '-shared',
    '-DNAPI_VERSION=8',
    `-I${nodeIncludeDir()}`,
    ...RUNTIME[kind].flags,
  ];
  const hash = createHash('sha256');
  hash.update(JSON.stringify([args, process.version, spawnSync(cxx(), ['--version'], { encoding: 'utf8' }).stdout]));
  for (const f of readdirSync(SRC).sort()) hash.update(f).update(readFileSync(join(SRC, f)));
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `multiloss_native-${kind}-${hash.digest('hex').slice(0, 16)}.node`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  const sources = SOURCES.map((f) => join(SRC, f));
  const stderr = await new Promise<string | undefined>((resolveBuild) => {
    const cc = spawn(cxx(), [...args, '-o', tmp, ...sources], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    cc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    cc.on('error', (e) => resolveBuild(e.message));
    cc.on('close', (code) => resolveBuild(code === 0 ? undefined : err));
  });
  if (stderr !== undefined) throw new Error(`sanitizer build (${kind}) failed:\n${stderr}`);
  renameSync(tmp, out);
  return out;
}

/**
 * Suppressions: reports from inside Node and V8 only (uninstrumented code whose own locking the
 * runtime cannot see); never a frame of the addon. See the comment of each line.
 */
const TSAN_SUPPRESSIONS: string[] = [
  // V8's platform job workers (concurrent marking, compilation): the job state and its workers are
  // created, joined and freed by V8's own (uninstrumented) atomics.
  'race:v8::platform::DefaultJobWorker',
  'race:v8::platform::DefaultJobState',
  'race:v8::platform::NewDefaultJobHandle',
  // V8's futex wait list (Atomics.wait) and its call-once initialisation of the list's mutex.
  'race:v8::internal::FutexWaitListNode',
  'race:v8::base::CallOnceImpl',
  // V8's trace category table (strdup'd names compared by every thread that opens a trace scope).
  'race:v8::platform::tracing::TracingController',
  // Node's MessagePort copies a message into the receiving port's queue under the port's own lock.
  'race:node::worker::MessagePort::PostMessage',
  // libuv's read-write lock of Node's per-process data, destroyed at a worker thread's exit.
  'race:uv_rwlock_destroy',
  'race:uv_rwlock_wrunlock',
];

/** Environment for a node process that loads the sanitized addon at `addon`. */
export function sanitizerEnv(kind: Sanitizer, addon: string, dir: string): Record<string, string> {
  const runtime = sanitizerRuntime(kind);
  if (kind === 'tsan') {
    const supp = join(dir, 'tsan.supp');
    writeFileSync(supp, TSAN_SUPPRESSIONS.map((l) => `${l}\n`).join(''));
    return {
      LD_PRELOAD: runtime,
      MULTILOSS_NATIVE_ADDON: addon,
      // report_signal_unsafe=0: Node's signal handlers (SIGINT/SIGTERM watchdogs) call malloc; not ours.
      TSAN_OPTIONS: `suppressions=${supp} report_signal_unsafe=0 exitcode=66 second_deadlock_stack=1`,
    };
  }
  return {
    LD_PRELOAD: runtime,
    MULTILOSS_NATIVE_ADDON: addon,
    // detect_leaks=0: node does not free its isolate and platform at exit, so LeakSanitizer would
    // report Node's own allocations; a leak in the addon is the kernel test's business (native/test).
    ASAN_OPTIONS: 'detect_leaks=0 abort_on_error=0 exitcode=66 allocator_may_return_null=1',
    UBSAN_OPTIONS: 'print_stacktrace=1 halt_on_error=1 exitcode=66',
  };
}

/** The first sanitizer report in a child's stderr (up to 60 lines; the frames of `addon` symbolized), or undefined. */
export function sanitizerReport(stderr: string, addon?: string): string | undefined {
  const m = /WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|ThreadSanitizer: |AddressSanitizer: |FATAL: /.exec(stderr);
  if (!m) return undefined;
  const start = stderr.lastIndexOf('\n', m.index) + 1;
  const report = stderr.slice(start).split('\n').slice(0, 60).join('\n');
  return addon ? symbolize(report, addon) : report;
}

/** The runtime prints `<null> <null> (x.node+0x1234)` for the addon's hidden symbols: ask addr2line (binutils). */
function symbolize(report: string, addon: string): string {
  const name = basename(addon);
  return report.replace(/<null> <null> \(([^()\s]+)\+(0x[0-9a-f]+)\)/g, (all, file: string, addr: string) => {
    if (basename(file) !== name) return all;
    const r = spawnSync('addr2line', ['-f', '-C', '-e', addon, addr], { encoding: 'utf8' });
    if (r.status !== 0) return all;
    const [fn, line] = r.stdout.trim().split('\n');
    return `${fn} ${line} (${name}+${addr})`;
  });
}

export interface SanitizedRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The first sanitizer report, symbolized. */
  report?: string;
}

/** Runs `node --import tsx SCRIPT ARGS` on the sanitized addon at `addon` (the runtime preloaded into node only). */
export function runSanitized(kind: Sanitizer, addon: string, dir: string, script: string, args: string[]): Promise<SanitizedRun> {
  const { LD_PRELOAD: preload, ...env } = sanitizerEnv(kind, addon, dir);
  const base = { ...process.env };
  delete base.NODE_OPTIONS;
  return new Promise((resolveRun) => {
    const child = spawn('/bin/sh', ['-c', 'LD_PRELOAD="$SANITIZER_PRELOAD" exec "$0" "$@"', process.execPath, '--import', import.meta.resolve('tsx'), script, ...args], {
      env: { ...base, ...env, SANITIZER_PRELOAD: preload },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status, signal) => {
      const report = sanitizerReport(stderr, addon);
      resolveRun({ status, signal, stdout, stderr, ...(report ? { report } : {}) });
    });
  });
}
