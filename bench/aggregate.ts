/**
 * Median wall time of `aggregate` per method for T = 2..10 tasks and
 * d = 100 000 columns (Float32 rows, as a training loop would pass them).
 *
 *   node --import tsx bench/aggregate.ts [--d 100000] [--reps 15] [--float64]
 */
import { performance } from 'node:perf_hooks';
import { AGGREGATORS, aggregate } from '../src/balancing/aggregation/index.js';
import type { AggregatorName, AggregatorOptions, AggregatorState } from '../src/balancing/aggregation/index.js';
import { Rng } from '../src/util/rng.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const d = arg('d', 100_000);
const reps = arg('reps', 21);
const float64 = process.argv.includes('--float64');
const Ts = [2, 3, 4, 5, 6, 8, 10];
const LIMIT_MS = 10;

function matrix(T: number, seed: number): { data: Float32Array | Float64Array; rows: number; cols: number } {
  const rng = new Rng(seed);
  const data = float64 ? new Float64Array(T * d) : new Float32Array(T * d);
  // A shared component plus task-specific noise: some pairs conflict, some agree.
  const shared = new Float64Array(d);
  for (let k = 0; k < d; k++) shared[k] = rng.normal();
  for (let t = 0; t < T; t++) {
    const a = rng.next() * 2 - 0.7;
    const s = 0.1 + rng.next() * 3;
    for (let k = 0; k < d; k++) data[t * d + k] = s * (a * shared[k] + rng.normal());
  }
  return { data, rows: T, cols: d };
}

function optionsFor(m: AggregatorName, T: number): AggregatorOptions | undefined {
  if (m === 'static') return { weights: Array.from({ length: T }, (_, t) => 1 + t / T) };
  return undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const table: Record<string, Record<number, number>> = {};
for (const T of Ts) {
  const G = matrix(T, 1000 + T);
  const times = new Map<AggregatorName, number[]>(AGGREGATORS.map((m) => [m, []]));
  const states = new Map<AggregatorName, AggregatorState | undefined>();
  // Round-robin over the methods so that background load hits them alike.
  for (let r = 0; r < reps + 3; r++) {
    for (const m of AGGREGATORS) {
      const t0 = performance.now();
      const res = aggregate(m, G, optionsFor(m, T), states.get(m));
      const t1 = performance.now();
      states.set(m, res.state);
      if (r >= 3) times.get(m)?.push(t1 - t0);
    }
  }
  for (const m of AGGREGATORS) (table[m] ??= {})[T] = median(times.get(m) ?? []);
}

const pad = (s: string, n: number): string => s.padStart(n);
console.log(`aggregate: median ms over ${reps} calls, d = ${d}, ${float64 ? 'Float64' : 'Float32'} rows, node ${process.version}`);
console.log(pad('method', 8) + Ts.map((T) => pad(`T=${T}`, 8)).join(''));
let worst = 0;
let worstName = '';
for (const m of AGGREGATORS) {
  console.log(pad(m, 8) + Ts.map((T) => pad(table[m][T].toFixed(2), 8)).join(''));
  if (table[m][10] > worst) {
    worst = table[m][10];
    worstName = m;
  }
}
const ok = worst <= LIMIT_MS;
console.log(`slowest at T=10: ${worstName} ${worst.toFixed(2)} ms (${ok ? 'within' : 'OVER'} the ${LIMIT_MS} ms budget)`);
if (!ok) process.exitCode = 1;
