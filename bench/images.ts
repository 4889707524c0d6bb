// Image training speed (issue 16): the MultiMNIST LeNet of examples/multimnist/lenet.ts, joint
// (one shared network, two heads) and separate (one single-head network per digit, both
// trained), batch 256, Adam 1e-3, through the package API (fitImageModel), and C1 (bench/c1.ts,
// the multiloss trainer), each beside PyTorch 1.13 CPU (bench/torch_images.py on the same images,
// /usr/bin/python3, OPENBLAS_NUM_THREADS=1, 2 torch threads) in the same run. The PyTorch part
// is skipped with a note when torch is not installed.
//
// Samples/s: the median epoch of `epochs` epochs after one warm-up epoch, by the wall clock and
// per second of process CPU time (the machine's load changes that least; with 2 threads PyTorch's
// OpenMP workers also spin while they wait, which counts as CPU time). Rounds alternate
// multiloss and PyTorch; the table gives the median and the range over rounds of each figure
// and of the per-round ratio (the machine may be shared: the load average is printed).
// Test accuracy (left/right digit, 2,000 test pairs from other digits) after the epochs + 1
// epochs of the last round checks that both learn the same.
//
//   npm run bench -- images [--train 30000] [--epochs 2] [--rounds 3] [--c1-rows 4096] [--threads 2]
//   node --import tsx bench/images.ts …   (the same, directly)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/schema.js';
import { resolveConfig } from '../src/config/resolve.js';
import type { ImageSet } from '../src/data/images/dataset.js';
import { buildMultiMnist } from '../src/data/images/multimnist.js';
import { initBackend } from '../src/engine/backend.js';
import { configureNative } from '../src/engine/native/index.js';
import type { MultilossModel } from '../src/model/multiloss-model.js';
import { loadMnistDigits } from '../src/io/image-files.js';
import { evaluateImages, fitImageModel } from '../src/training/fit-images.js';
import { multiMnistConfig } from '../examples/multimnist/lenet.js';
import { runC1 } from './c1.js';

export interface ImagesBenchOptions {
  train?: number;
  test?: number;
  /** Timed epochs (after one warm-up epoch). */
  epochs?: number;
  rounds?: number;
  batchSize?: number;
  /** Images per C1 epoch (0 skips C1). */
  c1Rows?: number;
  torch?: boolean;
  /** Threads of the native kernels and of PyTorch (default 2). */
  threads?: number;
}

interface Figures {
  joint: number;
  separate: number;
  c1?: number;
  /** Samples per second of process CPU time (median epoch): what the machine's load changes least. */
  jointCpu: number;
  separateCpu: number;
  c1Cpu?: number;
  jointAccuracy: number[];
  separateAccuracy: number[];
}

interface TorchFigures extends Figures {
  torch: string;
  threads: number;
  blas: string;
}

export interface ImagesBenchResult {
  train: number;
  epochs: number;
  batchSize: number;
  c1Rows: number;
  threads: number;
  multiloss: Figures[];
  torch: TorchFigures[];
  torchNote?: string;
  backend: string;
  load: number[];
}

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('./torch_images.py', import.meta.url));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall and process CPU seconds of each epoch of `run`, which calls `onEpochEnd` after every epoch. */
async function epochTimes(run: (onEpochEnd: () => void) => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  let start = performance.now();
  let cpu0 = process.cpuUsage();
  await run(() => {
    const used = process.cpuUsage(cpu0);
    wall.push((performance.now() - start) / 1000);
    cpu.push((used.user + used.system) / 1e6);
    start = performance.now();
    cpu0 = process.cpuUsage();
  });
  return { wall: median(wall.slice(1)), cpu: median(cpu.slice(1)) };
}

/** Trains one configuration; returns the median epoch times (s) after the first, and the test accuracy per head. */
async function lenetRun(raw: Record<string, unknown>, train: ImageSet, test: ImageSet): Promise<{ wall: number; cpu: number; accuracy: Record<string, number> }> {
  let model: MultilossModel | undefined;
  const times = await epochTimes(async (onEpochEnd) => {
    model = await fitImageModel(resolveConfig(parseConfig(raw)), train, { callbacks: { onEpochEnd } });
  });
  if (!model) throw new Error('images bench: no model');
  const ev = evaluateImages(model, test);
  model.dispose();
  return { ...times, accuracy: Object.fromEntries(Object.entries(ev.heads).map(([h, v]) => [h, v.metrics.accuracy as number])) };
}

function lenetConfig(epochs: number, batchSize: number, heads?: ('left' | 'right')[]): Record<string, unknown> {
  const raw = multiMnistConfig({ epochs: epochs + 1, seed: 1, heads });
  return { ...raw, training: { ...(raw.training as Record<string, unknown>), batchSize } };
}

async function multilossRound(train: ImageSet, test: ImageSet, o: Required<ImagesBenchOptions>): Promise<Figures> {
  const joint = await lenetRun(lenetConfig(o.epochs, o.batchSize), train, test);
  const left = await lenetRun(lenetConfig(o.epochs, o.batchSize, ['left']), train, test);
  const right = await lenetRun(lenetConfig(o.epochs, o.batchSize, ['right']), train, test);
  const figures: Figures = {
    joint: train.n / joint.wall,
    separate: train.n / (left.wall + right.wall),
    jointCpu: train.n / joint.cpu,
    separateCpu: train.n / (left.cpu + right.cpu),
    jointAccuracy: [joint.accuracy.left, joint.accuracy.right],
    separateAccuracy: [left.accuracy.left, right.accuracy.right],
  };
  if (o.c1Rows > 0) {
    const c1 = await epochTimes((onEpochEnd) => runC1(o.c1Rows, o.epochs, false, onEpochEnd).then(() => undefined));
    figures.c1 = o.c1Rows / c1.wall;
    figures.c1Cpu = o.c1Rows / c1.cpu;
  }
  return figures;
}

function writeSet(dir: string, name: string, set: ImageSet): void {
  writeFileSync(join(dir, `${name}_x.f32`), new Uint8Array(set.x.buffer, set.x.byteOffset, set.x.byteLength));
  for (const head of ['left', 'right']) writeFileSync(join(dir, `${name}_${head}.u8`), Uint8Array.from(set.labels[head], (c) => Number(c)));
}

function torchRound(dir: string, o: Required<ImagesBenchOptions>): TorchFigures | string {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, [TORCH_SCRIPT], {
    encoding: 'utf8',
    timeout: 60 * 60 * 1000,
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', DATA_DIR: dir, EPOCHS: String(o.epochs), THREADS: String(o.threads), LENET_BATCH: String(o.batchSize), C1_IMAGES: String(o.c1Rows) },
  });
  if (r.status !== 0) {
    const why = `${r.stderr ?? ''}`.split('\n').filter(Boolean).pop() ?? `exit ${r.status}`;
    return /No module named '(torch|numpy)'/.test(why) ? `PyTorch is not installed for ${PYTHON} (apt-get install -y python3-torch libopenblas0-pthread)` : why;
  }
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as TorchFigures;
  } catch {
    return `unreadable output: ${r.stdout.slice(0, 200)}`;
  }
}

export async function runImages(options: ImagesBenchOptions = {}): Promise<ImagesBenchResult> {
  const o: Required<ImagesBenchOptions> = { train: 30000, test: 2000, epochs: 2, rounds: 3, batchSize: 256, c1Rows: 4096, torch: true, threads: 2, ...options };
  const backend = await initBackend('wasm');
  if (backend.native.active) configureNative({ threads: o.threads });
  const data = buildMultiMnist(loadMnistDigits(), { train: o.train, test: o.test, seed: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'multiloss-images-bench-'));
  const result: ImagesBenchResult = {
    train: o.train,
    epochs: o.epochs,
    batchSize: o.batchSize,
    c1Rows: o.c1Rows,
    threads: o.threads,
    multiloss: [],
    torch: [],
    backend: `${backend.name}, ${backend.native.active ? `native kernels (${backend.native.isa}, ${o.threads} threads)` : `native kernels off (${backend.native.reason ?? ''})`}`,
    load: [loadavg()[0]],
  };
  try {
    writeSet(dir, 'train', data.train);
    writeSet(dir, 'test', data.test);
    for (let round = 0; round < o.rounds; round++) {
      result.multiloss.push(await multilossRound(data.train, data.test, o));
      if (o.torch && result.torchNote === undefined) {
        const t = torchRound(dir, o);
        if (typeof t === 'string') result.torchNote = t;
        else result.torch.push(t);
      }
      result.load.push(loadavg()[0]);
      // Each round as it ends (a long run on a loaded machine can be cut short).
      console.error(`round ${round + 1}: ${JSON.stringify({ multiloss: result.multiloss[round], torch: result.torch[round], load: loadavg()[0] })}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

const fmt = (v: number): string => Math.round(v).toLocaleString('en-US');
const spread = (xs: number[], f: (v: number) => string): string => (xs.length > 1 ? `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})` : f(xs[0]));
const pct = (xs: number[]): string => xs.map((v) => (100 * v).toFixed(1)).join(' / ');

export function printImages(r: ImagesBenchResult): void {
  console.log(`backend: ${r.backend}; node ${process.version}; ${availableParallelism()} CPUs`);
  const t = r.torch[0];
  console.log(t ? `PyTorch ${t.torch} (${t.blas}), ${t.threads} threads, OPENBLAS_NUM_THREADS=1` : `PyTorch: not run (${r.torchNote ?? 'disabled'})`);
  console.log(`threads: ${r.threads} (native kernels and PyTorch)`);
  console.log(
    `LeNet (examples/multimnist/lenet.ts) on ${r.train} MultiMNIST pairs, batch ${r.batchSize}, Adam 1e-3; C1 (bench/c1.ts) on ${r.c1Rows} random images, batch 128. ` +
      `Samples/s: median of ${r.epochs} epochs after a warm-up; median (min–max) over ${r.multiloss.length} rounds.`,
  );
  console.log(`load average (1 min) at start and after each round: ${r.load.map((l) => l.toFixed(1)).join(', ')}`);
  console.log('samples/s (wall clock): multiloss, PyTorch, ratio; then per second of process CPU time: multiloss, PyTorch, ratio');
  const rows: ['joint' | 'separate' | 'c1', string][] = [
    ['joint', 'LeNet joint'],
    ['separate', 'LeNet separate'],
    ['c1', 'C1'],
  ];
  const column = (figures: Figures[], key: keyof Figures): number[] => figures.map((f) => f[key]).filter((v): v is number => typeof v === 'number');
  const cells = (ours: number[], theirs: number[]): string => {
    const ratios = theirs.map((v, i) => (ours[i] ?? NaN) / v).filter((v) => Number.isFinite(v));
    return `${spread(ours, fmt).padEnd(22)} ${(theirs.length ? spread(theirs, fmt) : 'n/a').padEnd(22)} ${(ratios.length ? spread(ratios, (v) => `${v.toFixed(2)}×`) : 'n/a').padEnd(20)}`;
  };
  for (const [key, label] of rows) {
    const ours = column(r.multiloss, key);
    if (!ours.length) continue;
    const cpuKey = `${key}Cpu` as keyof Figures;
    console.log(`${label.padEnd(15)} ${cells(ours, column(r.torch, key))} | ${cells(column(r.multiloss, cpuKey), column(r.torch, cpuKey))}`);
  }
  const last = r.multiloss[r.multiloss.length - 1];
  const lastTorch = r.torch[r.torch.length - 1];
  if (last) {
    console.log(`test accuracy % left / right after ${r.epochs + 1} epochs (last round): joint ${pct(last.jointAccuracy)}, separate ${pct(last.separateAccuracy)} (multiloss)` +
      (lastTorch ? `; joint ${pct(lastTorch.jointAccuracy)}, separate ${pct(lastTorch.separateAccuracy)} (PyTorch)` : ''));
  }
}

/** Options from command-line arguments (`--train N --epochs N --rounds N --c1-rows N --threads N --no-torch`). */
export function imagesOptions(args: string[]): ImagesBenchOptions {
  const { values } = parseArgs({
    args,
    options: { train: { type: 'string' }, test: { type: 'string' }, epochs: { type: 'string' }, rounds: { type: 'string' }, 'c1-rows': { type: 'string' }, threads: { type: 'string' }, 'no-torch': { type: 'boolean' } },
  });
  const opts: ImagesBenchOptions = { torch: !values['no-torch'] };
  for (const [k, v] of [['train', values.train], ['test', values.test], ['epochs', values.epochs], ['rounds', values.rounds], ['c1Rows', values['c1-rows']], ['threads', values.threads]] as const) {
    if (v !== undefined) opts[k] = Number(v);
  }
  return opts;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  printImages(await runImages(imagesOptions(process.argv.slice(2))));
}
