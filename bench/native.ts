// Native kernels (issue 7): workloads W1 and W2 on the wasm path (fixed wasm kernels +
// tf.train.adam) and on the native path (native kernels + fused native Adam), side by side in
// one process, plus PyTorch on the same workloads when Debian's python3-torch is installed
// (bench/torch_w.py, run with OPENBLAS_NUM_THREADS=1 and torch.set_num_threads(2)).
//
// W1: dense trunk 784→256→256 (ReLU), 10-class + regression heads, batch 128, Adam 1e-3, 8192
// random rows, training metrics off. W2: W1 with per-task gradients (balance pcgrad, mode
// 'param': one forward + backward pass per head, PCGrad on the shared gradient).
// C1: a small conv net as a plain tfjs training loop (not the multiloss trainer): 28×28×1 →
// conv 3×3×16 (same) ReLU, max pool 2 → conv 3×3×32 (same) ReLU, max pool 2 → two 10-class
// heads on the 1568 features (softmax cross-entropy, summed), Adam 1e-3, batch 128, 2048 images.
// Samples/s = median epoch after a warm-up epoch; best of `rounds` interleaved rounds (the
// machine may be shared, and noise only ever slows a run down).
//
// `node --import tsx bench/native.ts` runs it directly; `runNative` / `printNative` for bench/run.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BalanceSpec } from '../src/balancing/index.js';
import { initBackend } from '../src/engine/backend.js';
import { configureNative, createNativeAdam, loadAddon, nativeStatus, registerNativeKernels, unregisterNativeKernels } from '../src/engine/native/index.js';
import { Rng } from '../src/util/rng.js';
import { multilossRate, w1Data } from './w1.js';

export interface NativeBenchOptions {
  rows?: number;
  /** Timed epochs per measurement (after one warm-up epoch). */
  epochs?: number;
  rounds?: number;
  /** Run PyTorch too when it is installed (default true). */
  torch?: boolean;
  /** Also measure the native path on 1 thread (default true). */
  oneThread?: boolean;
  /** Images per C1 epoch (default 2048; 0 skips C1). */
  c1Images?: number;
}

export interface NativeBenchRow {
  workload: 'W1' | 'W2' | 'C1';
  /** Samples/s. */
  wasm: number;
  native?: number;
  native1Thread?: number;
  torch?: number;
  torch1Thread?: number;
}

export interface NativeBenchResult {
  node: string;
  native: { active: boolean; isa?: string; threads?: number; reason?: string };
  torch?: { version: string; threads: number; blas: string };
  torchReason?: string;
  rows: NativeBenchRow[];
  rounds: number;
  epochs: number;
  samples: number;
  /** 1-minute load average before and after (the machine may be shared). */
  load: [number, number];
}

const W2_BALANCE: BalanceSpec = { method: 'pcgrad', mode: 'param' };
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('./torch_w.py', import.meta.url));

interface TorchRun {
  torch: string;
  threads: number;
  blas: string;
  w1: number;
  w2: number;
  c1?: number;
}

function runTorch(rows: number, epochs: number, threads: number, c1Images: number): TorchRun | string {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, [TORCH_SCRIPT], {
    encoding: 'utf8',
    timeout: 15 * 60 * 1000,
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', W_ROWS: String(rows), W_EPOCHS: String(epochs), W_ROUNDS: '1', W_THREADS: String(threads), C1_IMAGES: String(c1Images) },
  });
  if (r.status !== 0) {
    const why = `${r.stderr ?? ''}`.split('\n').filter(Boolean).pop() ?? `exit ${r.status}`;
    return /No module named 'torch'/.test(why) ? 'python3-torch is not installed (apt-get install -y python3-torch libopenblas0-pthread)' : why;
  }
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as TorchRun;
  } catch {
    return `unreadable output: ${r.stdout.slice(0, 200)}`;
  }
}

const best = (xs: number[]): number | undefined => (xs.length ? Math.max(...xs) : undefined);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** C1 samples/s: median epoch of `epochs` after a warm-up epoch; the native Adam when `native`. */
export function c1Rate(images: number, epochs: number, native: boolean): number {
  const rng = new Rng(11);
  const x = Float32Array.from({ length: images * 784 }, () => rng.next());
  const labels = (seed: number) => {
    const r = new Rng(seed);
    const y = new Float32Array(images * 10);
    for (let i = 0; i < images; i++) y[i * 10 + r.int(10)] = 1;
    return y;
  };
  const y1 = labels(12);
  const y2 = labels(13);
  const init = (shape: number[], fanIn: number, seed: number) => tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn), 'float32', seed));
  const w1 = init([3, 3, 1, 16], 9, 1);
  const b1 = tf.variable(tf.zeros([16]));
  const w2 = init([3, 3, 16, 32], 144, 2);
  const b2 = tf.variable(tf.zeros([32]));
  const h1 = init([1568, 10], 1568, 3);
  const c1 = tf.variable(tf.zeros([10]));
  const h2 = init([1568, 10], 1568, 4);
  const c2 = tf.variable(tf.zeros([10]));
  const vars = [w1, b1, w2, b2, h1, c1, h2, c2];
  const optimizer = native ? createNativeAdam(1e-3, 0.9, 0.999, 1e-7) : tf.train.adam(1e-3, 0.9, 0.999, 1e-7);
  const batch = 128;
  const times: number[] = [];
  for (let e = 0; e <= epochs; e++) {
    const t0 = performance.now();
    for (let start = 0; start < images; start += batch) {
      const n = Math.min(batch, images - start);
      tf.tidy(() => {
        const xb = tf.tensor4d(x.subarray(start * 784, (start + n) * 784), [n, 28, 28, 1]);
        const t1 = tf.tensor2d(y1.subarray(start * 10, (start + n) * 10), [n, 10]);
        const t2 = tf.tensor2d(y2.subarray(start * 10, (start + n) * 10), [n, 10]);
        optimizer.minimize(
          () => {
            const block = (input: tf.Tensor4D, w: tf.Variable, b: tf.Variable): tf.Tensor4D =>
              tf.maxPool(tf.relu(tf.add(tf.conv2d(input, w as tf.Tensor4D, 1, 'same'), b)) as tf.Tensor4D, 2, 2, 'valid');
            const h = block(block(xb, w1, b1), w2, b2);
            const f = tf.reshape(h, [n, 1568]);
            const l1 = tf.losses.softmaxCrossEntropy(t1, tf.add(tf.matMul(f, h1), c1));
            const l2 = tf.losses.softmaxCrossEntropy(t2, tf.add(tf.matMul(f, h2), c2));
            return tf.add(l1, l2) as tf.Scalar;
          },
          false,
          vars,
        );
      });
    }
    times.push(performance.now() - t0);
  }
  tf.dispose(vars);
  optimizer.dispose();
  return images / (median(times.slice(1)) / 1000);
}

export async function runNative(options: NativeBenchOptions = {}): Promise<NativeBenchResult> {
  const rows = options.rows ?? 8192;
  const epochs = options.epochs ?? 3;
  const rounds = options.rounds ?? 3;
  const load0 = loadavg()[0];
  const info = await initBackend('wasm');
  const status = info.native;
  const defaultThreads = status.threads ?? 2;
  const train1 = w1Data(rows, new Rng(7));
  const cells = new Map<string, number[]>();
  const add = (key: string, v: number) => cells.set(key, [...(cells.get(key) ?? []), v]);
  let torchInfo: NativeBenchResult['torch'];
  let torchReason: string | undefined;
  const nativeOk = status.active && loadAddon().addon !== undefined;
  for (let round = 0; round < rounds; round++) {
    for (const [workload, balance] of [
      ['W1', undefined],
      ['W2', W2_BALANCE],
    ] as const) {
      // wasm path: the native kernels out of the way (the optimizer factory then picks tf.train.adam).
      unregisterNativeKernels();
      add(`${workload}.wasm`, await multilossRate(train1, epochs, 128, false, balance));
      if (nativeOk) {
        registerNativeKernels();
        configureNative({ threads: defaultThreads });
        add(`${workload}.native`, await multilossRate(train1, epochs, 128, false, balance));
        if (options.oneThread ?? true) {
          configureNative({ threads: 1 });
          add(`${workload}.native1`, await multilossRate(train1, epochs, 128, false, balance));
          configureNative({ threads: defaultThreads });
        }
      }
    }
    const c1Images = options.c1Images ?? 2048;
    if (c1Images > 0) {
      unregisterNativeKernels();
      add('C1.wasm', c1Rate(c1Images, epochs, false));
      if (nativeOk) {
        registerNativeKernels();
        configureNative({ threads: defaultThreads });
        add('C1.native', c1Rate(c1Images, epochs, true));
        if (options.oneThread ?? true) {
          configureNative({ threads: 1 });
          add('C1.native1', c1Rate(c1Images, epochs, true));
          configureNative({ threads: defaultThreads });
        }
      }
    }
    if (options.torch ?? true) {
      for (const threads of [2, 1]) {
        const t = runTorch(rows, epochs, threads, c1Images);
        if (typeof t === 'string') {
          torchReason = t;
          break;
        }
        if (threads === 2) torchInfo = { version: t.torch, threads: t.threads, blas: t.blas };
        add(`W1.torch${threads}`, t.w1);
        add(`W2.torch${threads}`, t.w2);
        if (t.c1 !== undefined) add(`C1.torch${threads}`, t.c1);
      }
    }
  }
  if (nativeOk) registerNativeKernels();
  const out: NativeBenchResult = {
    node: process.version,
    native: nativeOk ? nativeStatus() : status,
    rows: (['W1', 'W2', 'C1'] as const).filter((w) => cells.has(`${w}.wasm`)).map((workload) => ({
      workload,
      wasm: best(cells.get(`${workload}.wasm`) ?? []) ?? 0,
      native: best(cells.get(`${workload}.native`) ?? []),
      native1Thread: best(cells.get(`${workload}.native1`) ?? []),
      torch: best(cells.get(`${workload}.torch2`) ?? []),
      torch1Thread: best(cells.get(`${workload}.torch1`) ?? []),
    })),
    rounds,
    epochs,
    samples: rows,
    load: [load0, loadavg()[0]],
  };
  if (torchInfo) out.torch = torchInfo;
  if (torchReason && !torchInfo) out.torchReason = torchReason;
  return out;
}

const fmt = (v: number | undefined): string => (v === undefined ? 'n/a' : String(Math.round(v)));
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}x`);

export function printNative(r: NativeBenchResult): void {
  const n = r.native;
  console.log(
    `native kernels: ${n.active ? `active, ${n.isa}, ${n.threads} threads` : `inactive (${n.reason ?? 'unknown'})`}; node ${r.node}`,
  );
  console.log(
    r.torch
      ? `PyTorch ${r.torch.version} (${r.torch.blas}), torch.set_num_threads(2), OPENBLAS_NUM_THREADS=1`
      : `PyTorch: not run (${r.torchReason ?? 'disabled'})`,
  );
  console.log(
    `W1: 784→256→256 ReLU, 10-class + regression heads, batch 128, Adam 1e-3, ${r.samples} rows, train metrics off; ` +
      `W2: W1 + per-task gradients (pcgrad, param mode); C1: 2-conv net + two heads, plain tfjs loop. ` +
      `Samples/s: median of ${r.epochs} epochs after a warm-up, best of ${r.rounds} rounds.`,
  );
  console.log(`load average (1 min) before/after: ${r.load.map((l) => l.toFixed(1)).join(' / ')} on ${availableParallelism()} CPUs`);
  console.log('workload     wasm   native  native-1thr    torch  torch-1thr  native/wasm  native/torch');
  for (const row of r.rows) {
    console.log(
      `${row.workload.padEnd(8)} ${fmt(row.wasm).padStart(8)} ${fmt(row.native).padStart(8)} ${fmt(row.native1Thread).padStart(12)} ${fmt(row.torch).padStart(8)} ${fmt(row.torch1Thread).padStart(11)} ${ratio(row.native, row.wasm).padStart(12)} ${ratio(row.native, row.torch).padStart(13)}`,
    );
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // [--rows N] [--epochs N] [--rounds N] [--c1-images N] [--no-one-thread]: a shorter run (a loaded machine).
  const { values } = parseArgs({
    options: { rows: { type: 'string' }, epochs: { type: 'string' }, rounds: { type: 'string' }, 'c1-images': { type: 'string' }, 'no-one-thread': { type: 'boolean' } },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  printNative(await runNative({ rows: num(values.rows), epochs: num(values.epochs), rounds: num(values.rounds), c1Images: num(values['c1-images']), oneThread: !values['no-one-thread'] }));
}
