// `npm run stress -- native [options]` (issue 20): trains the W1, W2, C1 and balance workloads,
// `compare` on its worker-thread pool, and two worker threads next to the main thread, on the native
// kernels, each in a child process that leaves by one exit path (normal, process.exit mid-training,
// a SIGINT listener that exits, worker threads terminated mid-step, SIGINT/SIGTERM with the default
// action), over and over, with core dumps enabled. Every (workload, exit path) pair comes in turn;
// an iteration's seed picks the data, the balancing methods, the delays and the signal.
//
// A crash is any end other than the expected one: a signal we did not send (SIGSEGV, SIGABRT, …),
// an unexpected exit code, or a sanitizer report on stderr. For each crash the log gets the seed,
// workload, exit path, the child's stderr and, when the kernel wrote a core file, gdb's backtrace of
// every thread; the first core is kept. Bounded in iterations and minutes; exit code 1 on any crash.
//
// Options:
//   --iterations N   (default 300)      --minutes M   stop starting new iterations after M (default 60)
//   --parallel P     children at once (default 2)    --seed S   first seed (default 1)
//   --only w1,threads,...  workloads    --exits normal,exit,...  exit paths
//   --sanitizer tsan|asan  run every child on a sanitizer build of the addon (built into the out
//                    folder; LD_PRELOAD of the runtime into node, suppressions for Node/V8 only)
//   --isa avx2|avx512|scalar  cap the micro-kernels (the issue's machine has AVX2 only); default: mix
//   --out DIR        logs, backtraces, cores (default a new folder under the temp dir)
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from '../../src/util/rng.js';
import { buildSanitizedAddon, sanitizerEnv, sanitizerReport, type Sanitizer } from './sanitizers.js';
import { EXITS, WORKLOADS, type ExitPath, type Workload } from './native-child.js';

const CHILD = fileURLToPath(new URL('./native-child.ts', import.meta.url));

export interface StressOptions {
  iterations: number;
  minutes: number;
  parallel: number;
  seed: number;
  workloads: Workload[];
  exits: ExitPath[];
  sanitizer?: Sanitizer;
  isa?: string;
  out: string;
}

interface Outcome {
  seed: number;
  workload: Workload;
  exit: ExitPath;
  isa: string;
  threads: number;
  signalSent?: NodeJS.Signals;
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  crash?: string;
  backtrace?: string;
}

/** The (workload, exit path) pairs: `terminate` needs worker threads of our own (`threads`). */
export function stressPairs(workloads: readonly Workload[], exits: readonly ExitPath[]): [Workload, ExitPath][] {
  return workloads.flatMap((w) => exits.filter((e) => e !== 'terminate' || w === 'threads').map((e): [Workload, ExitPath] => [w, e]));
}

function backtraceOf(core: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const gdb = spawn('gdb', ['-batch', '-nx', '-ex', 'info threads', '-ex', 'thread apply all bt 25', process.execPath, core], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    gdb.stdout.on('data', (d: Buffer) => (text += d.toString()));
    gdb.stderr.on('data', (d: Buffer) => (text += d.toString()));
    gdb.on('error', (e) => resolve(`gdb failed (${e.message}; apt-get install -y gdb)`));
    gdb.on('close', () => resolve(text));
  });
}

async function runOne(o: StressOptions, index: number, pair: [Workload, ExitPath], env: NodeJS.ProcessEnv): Promise<Outcome> {
  const seed = o.seed + index;
  const rng = new Rng(seed * 7919 + 1);
  const rand = () => rng.next();
  const [workload, exit] = pair;
  const isa = o.isa ?? ['avx2', 'avx512', 'avx2', 'scalar'][Math.floor(rand() * 4)];
  const threads = 2 + Math.floor(rand() * 3);
  const dir = join(o.out, `iter-${index}`);
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  // ulimit -c unlimited: core files land in the iteration's folder (core_pattern "core"). A
  // sanitizer runtime is preloaded into node only, not into the shell.
  const { LD_PRELOAD: preload, ...rest } = env;
  const child = spawn('/bin/sh', ['-c', 'ulimit -c unlimited 2>/dev/null; LD_PRELOAD="$STRESS_PRELOAD" exec "$0" "$@"', process.execPath, '--import', import.meta.resolve('tsx'), CHILD, workload, exit, String(seed)], {
    cwd: dir,
    env: { ...rest, STRESS_PRELOAD: preload ?? '', MULTILOSS_NATIVE_ISA: isa, MULTILOSS_NATIVE_THREADS: String(threads) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let signalSent: NodeJS.Signals | undefined;
  const timeout = setTimeout(() => child.kill('SIGKILL'), 10 * 60 * 1000);
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    const before = stdout;
    stdout += d.toString();
    if (!before.includes('training') && stdout.includes('training') && (exit === 'signal' || exit === 'sigint-handler')) {
      const sig: NodeJS.Signals = exit === 'sigint-handler' || rand() < 0.5 ? 'SIGINT' : 'SIGTERM';
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) {
          signalSent = sig;
          child.kill(sig);
        }
      }, 50 + Math.floor(rand() * 1450));
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(timeout);
  const out: Outcome = { seed, workload, exit, isa, threads, code, signal, ms: Math.round(performance.now() - started), ...(signalSent ? { signalSent } : {}) };
  const expected =
    (code === 0 && signal === null) ||
    (signalSent !== undefined && exit === 'signal' && signal === signalSent) ||
    (signalSent === 'SIGINT' && exit === 'sigint-handler' && code === 130);
  const report = sanitizerReport(stderr, env.MULTILOSS_NATIVE_ADDON);
  if (!expected || report !== undefined) {
    out.crash = report ?? `exit code ${code}, signal ${signal}${signalSent ? ` (sent ${signalSent})` : ''}`;
    writeFileSync(join(dir, 'stderr.txt'), stderr);
    writeFileSync(join(dir, 'stdout.txt'), stdout);
    const core = readdirSync(dir).find((f) => f === 'core' || f.startsWith('core.'));
    if (core) {
      out.backtrace = await backtraceOf(join(dir, core));
      writeFileSync(join(dir, 'backtrace.txt'), out.backtrace);
    }
  } else {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export async function stressNative(o: StressOptions): Promise<Outcome[]> {
  mkdirSync(o.out, { recursive: true });
  let env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  if (o.sanitizer) {
    const addon = await buildSanitizedAddon(o.sanitizer, o.out);
    env = { ...env, ...sanitizerEnv(o.sanitizer, addon, o.out) };
  }
  const pairs = stressPairs(o.workloads, o.exits);
  const log = join(o.out, 'stress.jsonl');
  const deadline = Date.now() + o.minutes * 60 * 1000;
  const outcomes: Outcome[] = [];
  let next = 0;
  const counts = new Map<string, number>();
  const lane = async () => {
    while (next < o.iterations && Date.now() < deadline) {
      const i = next++;
      const r = await runOne(o, i, pairs[i % pairs.length], env);
      outcomes.push(r);
      appendFileSync(log, `${JSON.stringify(r)}\n`);
      const key = `${r.workload}/${r.exit}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const crashes = outcomes.filter((x) => x.crash).length;
      console.log(`[${outcomes.length}/${o.iterations}] seed ${r.seed} ${key} (${r.isa}, ${r.threads} thr): ${r.crash ? `CRASH: ${r.crash.split('\n')[0]}` : r.signal ? `${r.signal} (sent)` : `exit ${r.code}`} in ${r.ms} ms; crashes so far ${crashes}`);
      if (r.crash) {
        const dir = join(o.out, `iter-${i}`);
        if (!existsSync(join(o.out, 'first-crash'))) renameSync(dir, join(o.out, 'first-crash'));
        else for (const f of readdirSync(dir)) if (f.startsWith('core')) rmSync(join(dir, f));
      }
    }
  };
  await Promise.all(Array.from({ length: o.parallel }, lane));
  const crashes = outcomes.filter((x) => x.crash);
  console.log(`\n${outcomes.length} iterations, ${crashes.length} crashes (log: ${log})`);
  for (const key of [...counts.keys()].sort()) console.log(`  ${key.padEnd(24)} ${counts.get(key)}`);
  for (const c of crashes) console.log(`crash: seed ${c.seed} ${c.workload}/${c.exit} ${c.isa} ${c.threads} thr: ${c.crash}`);
  return outcomes;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      iterations: { type: 'string', default: '300' },
      minutes: { type: 'string', default: '60' },
      parallel: { type: 'string', default: '2' },
      seed: { type: 'string', default: '1' },
      only: { type: 'string' },
      exits: { type: 'string' },
      sanitizer: { type: 'string' },
      isa: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const list = <T extends string>(v: string | undefined, all: readonly T[], what: string): T[] => {
    if (v === undefined) return [...all];
    const xs = v.split(',').map((s) => s.trim()) as T[];
    for (const x of xs) if (!all.includes(x)) throw new Error(`--${what}: unknown "${x}" (${all.join(', ')})`);
    return xs;
  };
  const sanitizer = values.sanitizer as Sanitizer | undefined;
  if (sanitizer !== undefined && sanitizer !== 'tsan' && sanitizer !== 'asan') throw new Error('--sanitizer: tsan or asan');
  const outcomes = await stressNative({
    iterations: Number(values.iterations),
    minutes: Number(values.minutes),
    parallel: Number(values.parallel),
    seed: Number(values.seed),
    workloads: list(values.only, WORKLOADS, 'only'),
    exits: list(values.exits, EXITS, 'exits'),
    sanitizer,
    isa: values.isa,
    out: values.out ?? mkdtempSync(join(tmpdir(), 'multiloss-stress-')),
  });
  return outcomes.some((x) => x.crash) ? 1 : 0;
}
