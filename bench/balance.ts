// `npm run bench -- balance` (issue 3): workload W1 with a third, binary head
// (T = 3) under every balancing method and mode; samples/s and the ratio to
// `static`, on the native path and on the wasm path (MULTILOSS_NATIVE=0's
// kernels) side by side in one process. Expected: loss-based ≥ 0.9×, famo ≥
// 0.75×, rep-mode gradient methods ≥ 0.6×, param-mode ≥ 1/(T+1).
//
// 8192 rows, batch 128 (64 steps an epoch), training metrics on. Every method
// of a path trains AT ONCE (the loop yields every 50 ms, so the runs interleave
// and whatever else the machine does slows them alike); each step's wall time
// (the trainer's step: forward, backward, update, balancing, training metrics;
// not the batch gather before it, which every method shares) is recorded after
// a warm-up epoch, and a method's figure is 128 (× its batches per step: modo's 3) / its median step time over
// `epochs` epochs × `rounds` rounds; its ratio is static's median step time
// over its own. (Timing methods one after another and taking
// the best epoch of each, as before, let a lucky or unlucky minute of this
// shared 2-core VM move a ratio by ±0.1.)
//
// `node --import tsx bench/balance.ts [--rounds N] [--rows N] [--epochs N] [--only native|wasm] [--methods a,b:mode] [--json FILE]`
// (--json keeps every round's figure).
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { GRADIENT_METHODS, LOSS_BALANCER_NAMES, VALID_MODES, type BalanceSpec } from '../src/balancing/index.js';
import { aggregatorNeeds } from '../src/balancing/aggregation/aggregate.js';
import { isAggregatorName } from '../src/balancing/aggregation/index.js';
import { initBackend } from '../src/engine/backend.js';
import { nativeStatus, registerNativeKernels, unregisterNativeKernels } from '../src/engine/native/index.js';
import { Rng } from '../src/util/rng.js';
import { multilossStepTimes, w1Data } from './w1.js';

export type BalancePath = 'native' | 'wasm';

export interface BalanceRow {
  method: string;
  mode: string;
  path: BalancePath;
  /** 128 / the median step time over every round, samples/s. */
  samplesPerSecond: number;
  /** Every round's samples/s (from that round's median step), in order. */
  rounds: number[];
  /** Median step time, ms. */
  stepMs: number;
  ratio: number;
  expected: number;
}

export interface BalanceOptions {
  rows?: number;
  epochs?: number;
  rounds?: number;
  /** Paths to measure (default: native when its kernels are active, and wasm). */
  paths?: BalancePath[];
  /** Only these methods ('name' or 'name:mode'); static is always measured. */
  methods?: string[];
}

export interface BalanceResult {
  rows: BalanceRow[];
  paths: BalancePath[];
  samples: number;
  epochs: number;
  rounds: number;
  /** 1-minute load average at the start, the highest seen between runs, and at the end. */
  load: { start: number; max: number; end: number };
  minutes: number;
}

const T = 3;
const BATCH = 128;

/** Options a method is measured with (CR-MOGM wraps another method: measured over Nash-MTL, the slowest Gram-only one). */
const MEASURED_WITH: Readonly<Record<string, Record<string, unknown>>> = { crmogm: { inner: 'nash' } };

/** Batches one step of `spec` trains on (MoDo's 3): its samples/s counts them all. */
function batchesPerStep(spec: BalanceSpec): number {
  return isAggregatorName(spec.method) ? (aggregatorNeeds(spec.method, spec as Record<string, unknown>).batches ?? 1) : 1;
}

export function balanceSpecs(): { spec: BalanceSpec; expected: number }[] {
  return [
    { spec: { method: 'static' }, expected: 1 },
    ...LOSS_BALANCER_NAMES.map((method) => ({ spec: { method, ...MEASURED_WITH[method] }, expected: method === 'famo' ? 0.75 : 0.9 })),
    ...GRADIENT_METHODS.flatMap((method) =>
      VALID_MODES[method].map((mode) => ({ spec: { method, mode, ...MEASURED_WITH[method] }, expected: mode === 'rep' ? 0.6 : 1 / (T + 1) })),
    ),
  ];
}

export async function runBalance(options: BalanceOptions = {}): Promise<BalanceResult> {
  const samples = options.rows ?? 8192;
  const epochs = options.epochs ?? 2;
  const rounds = options.rounds ?? 2;
  const info = await initBackend('wasm');
  const paths = options.paths ?? (info.native.active ? ['native', 'wasm'] : ['wasm']);
  if (paths.includes('native') && !info.native.active) throw new Error(`native path requested but inactive (${info.native.reason ?? 'unknown'})`);
  const train = w1Data(samples, new Rng(7), true);
  const wanted = options.methods;
  const specs = balanceSpecs().filter(
    ({ spec }) => wanted === undefined || spec.method === 'static' || wanted.includes(spec.method) || wanted.includes(`${spec.method}:${spec.mode ?? ''}`),
  );
  const steps = new Map<string, number[]>();
  const perRound = new Map<string, number[]>();
  const key = (path: BalancePath, spec: BalanceSpec) => `${path}/${spec.method}/${spec.mode ?? '-'}`;
  const start = loadavg()[0];
  let maxLoad = start;
  const t0 = performance.now();
  for (let round = 0; round < rounds; round++) {
    for (const path of paths) {
      if (path === 'native') registerNativeKernels();
      else unregisterNativeKernels();
      const load = setInterval(() => (maxLoad = Math.max(maxLoad, loadavg()[0])), 1000);
      try {
        const times = await Promise.all(specs.map(({ spec }) => multilossStepTimes(train, epochs, BATCH, true, spec)));
        specs.forEach(({ spec }, i) => {
          const k = key(path, spec);
          steps.set(k, [...(steps.get(k) ?? []), ...times[i]]);
          perRound.set(k, [...(perRound.get(k) ?? []), (BATCH * batchesPerStep(spec) * 1000) / median(times[i])]);
        });
      } finally {
        clearInterval(load);
      }
    }
  }
  if (info.native.active) registerNativeKernels();
  const rows: BalanceRow[] = [];
  for (const path of paths) {
    const staticMs = median(steps.get(key(path, { method: 'static' })) ?? [NaN]);
    for (const { spec, expected } of specs) {
      const stepMs = median(steps.get(key(path, spec)) ?? [NaN]);
      // Per batch trained on, so a method taking k batches per step compares per sample.
      const perStep = batchesPerStep(spec);
      rows.push({ method: spec.method, mode: spec.mode ?? '-', path, samplesPerSecond: (BATCH * perStep * 1000) / stepMs, rounds: perRound.get(key(path, spec)) ?? [], stepMs, ratio: (perStep * staticMs) / stepMs, expected });
    }
  }
  return { rows, paths, samples, epochs, rounds, load: { start, max: maxLoad, end: loadavg()[0] }, minutes: (performance.now() - t0) / 60000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function printBalance(r: BalanceResult): void {
  const n = nativeStatus();
  console.log(
    `workload W1 + a binary head (T = ${T}), batch ${BATCH}, ${r.samples} rows, training metrics on; every method of a path trains at once (interleaved); samples/s = ${BATCH} / median step time over ${r.epochs} epochs after a warm-up × ${r.rounds} rounds`,
  );
  console.log(`native kernels: ${n.active ? `${n.isa}, ${n.threads} threads` : `inactive (${n.reason ?? 'unknown'})`}`);
  console.log(
    `load average (1 min): ${r.load.start.toFixed(1)} at the start, ${r.load.max.toFixed(1)} at most, ${r.load.end.toFixed(1)} at the end, on ${availableParallelism()} CPUs; ${r.minutes.toFixed(1)} min`,
  );
  const header = ['method'.padEnd(11), 'mode'.padEnd(6), ...r.paths.map((p) => `${p} samples/s`.padStart(17) + `${p} ratio`.padStart(13)), 'expected'.padStart(9), '  ok'];
  console.log(header.join(' '));
  const byKey = new Map(r.rows.map((row) => [`${row.path}/${row.method}/${row.mode}`, row]));
  for (const row of r.rows.filter((x) => x.path === r.paths[0])) {
    const cells = r.paths.map((p) => {
      const x = byKey.get(`${p}/${row.method}/${row.mode}`);
      return x ? String(Math.round(x.samplesPerSecond)).padStart(17) + x.ratio.toFixed(3).padStart(13) : ''.padStart(30);
    });
    const ok = r.paths.every((p) => {
      const x = byKey.get(`${p}/${row.method}/${row.mode}`);
      return x !== undefined && x.ratio >= x.expected;
    });
    console.log([row.method.padEnd(11), row.mode.padEnd(6), ...cells, ('≥ ' + row.expected.toFixed(2)).padStart(9), ok ? ' yes' : '  NO'].join(' '));
  }
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const only = flag('only');
  const result = await runBalance({
    rows: flag('rows') === undefined ? undefined : Number(flag('rows')),
    epochs: flag('epochs') === undefined ? undefined : Number(flag('epochs')),
    rounds: flag('rounds') === undefined ? undefined : Number(flag('rounds')),
    paths: only === undefined ? undefined : [only as BalancePath],
    methods: flag('methods')?.split(','),
  });
  printBalance(result);
  const json = flag('json');
  if (json !== undefined) writeFileSync(json, JSON.stringify(result, null, 1));
}
