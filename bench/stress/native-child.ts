// One iteration of `npm run stress -- native` (bench/stress/native.ts starts it as a child
// process): trains one workload on the native kernels and leaves by one exit path.
//
//   node --import tsx bench/stress/native-child.ts WORKLOAD EXIT SEED
//
// WORKLOAD: w1 | w2 | c1 | balance (W1 with T = 3, several balancing methods at once) | compare
//   (compare() with its pool of 2 worker threads) | threads (two worker threads each train a
//   workload while this thread trains one too and changes the kernels' thread count between steps).
// EXIT: normal (exit code 0) | exit (process.exit(0) from a timer while training: worker threads,
//   if any, are mid-step) | sigint-handler (a SIGINT listener that calls process.exit(130), as
//   `multiloss train` does) | terminate (the worker threads are terminated mid-step, this thread
//   finishes: exit code 0) | signal (the parent kills this process with SIGINT or SIGTERM: no
//   listener, the default action). Prints "training" once training has started (the parent
//   times its signals from it) and "done" before a normal exit.
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { BalanceSpec } from '../../src/balancing/index.js';
import { initBackend } from '../../src/engine/backend.js';
import { configureNative } from '../../src/engine/native/index.js';
import { Rng } from '../../src/util/rng.js';
import { balanceSpecs } from '../balance.js';
import { runC1 } from '../c1.js';
import { c1Rate } from '../native.js';
import { multilossRate, multilossStepTimes, w1Data } from '../w1.js';

export const WORKLOADS = ['w1', 'w2', 'c1', 'balance', 'compare', 'threads'] as const;
export const EXITS = ['normal', 'exit', 'sigint-handler', 'terminate', 'signal'] as const;
export type Workload = (typeof WORKLOADS)[number];
export type ExitPath = (typeof EXITS)[number];
/** The workloads a worker thread of `threads` trains. */
const SINGLE: Workload[] = ['w1', 'w2', 'c1', 'balance'];

const ROWS = 1024;

/** Trains `workload` once (small: about a second of native kernel time on 2 threads). */
async function train(workload: Workload, rng: Rng, onStep?: () => void): Promise<void> {
  switch (workload) {
    case 'w1':
      await multilossRate(w1Data(ROWS, rng), 2, 128, rng.next() < 0.5);
      break;
    case 'w2':
      await multilossRate(w1Data(ROWS, rng), 1, 128, false, { method: 'pcgrad', mode: 'param' });
      break;
    case 'c1':
      await runC1(256, 1, rng.next() < 0.5);
      c1Rate(256, 1, true);
      break;
    case 'balance': {
      // Three methods train at once in this thread (their steps interleave, as in bench/balance.ts).
      const specs = balanceSpecs().map((s) => s.spec);
      const pick: BalanceSpec[] = [0, 1, 2].map(() => specs[rng.int(specs.length)]);
      await Promise.all(pick.map((spec) => multilossStepTimes(w1Data(ROWS / 2, rng, true), 1, 128, true, spec)));
      break;
    }
    case 'compare': {
      const { compare } = await import('../../src/compare/compare.js');
      const { parseConfig } = await import('../../src/config/schema.js');
      const { resolveConfig } = await import('../../src/config/resolve.js');
      const { readConfigFile } = await import('../../src/io/config-file.js');
      const { parseJson } = await import('../../src/data/index.js');
      const { readFileSync } = await import('node:fs');
      const penguins = fileURLToPath(new URL('../../data/penguins.json', import.meta.url));
      const raw = readConfigFile(fileURLToPath(new URL('../../examples/penguins.yaml', import.meta.url)));
      // A wider trunk and batch than the example's, so that the kernels split their work over threads.
      raw.model = { trunk: [{ units: 256, activation: 'relu' }, { units: 256, activation: 'relu' }] };
      raw.training = { ...(raw.training as object), epochs: 3, batchSize: 128, seed: rng.int(1000) };
      const config = resolveConfig(parseConfig(raw));
      await compare(config, { table: parseJson(readFileSync(penguins, 'utf8'), penguins) }, { methods: ['equal', 'pcgrad', 'mgda'], seeds: 1, workers: 2, backend: 'wasm', onProgress: onStep });
      break;
    }
    case 'threads':
      throw new Error('threads is not a single workload');
  }
  onStep?.();
}

/**
 * A worker thread that trains `workload` `rounds` times over on the native kernels (tsx's hooks
 * registered first, as src/compare/pool.ts does); it posts 'training' once it has started.
 */
export function startTrainingWorker(workload: Workload, seed: number, rounds = 3): Worker {
  const entry = import.meta.url;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData: { workload, seed, rounds }, execArgv: [] });
}

async function workerMain(): Promise<void> {
  const { workload, seed, rounds } = workerData as { workload: Workload; seed: number; rounds: number };
  await initBackend('wasm');
  parentPort?.postMessage('training');
  // Train until terminated or told to stop (the parent decides when it has seen enough).
  const rng = new Rng(seed);
  for (let round = 0; round < rounds; round++) await train(workload, rng);
  parentPort?.postMessage('done');
}

async function main(): Promise<void> {
  const [workload, exitPath, seedText] = process.argv.slice(2) as [Workload, ExitPath, string];
  const seed = Number(seedText);
  if (!WORKLOADS.includes(workload) || !EXITS.includes(exitPath) || !Number.isInteger(seed)) {
    console.error(`usage: native-child.ts (${WORKLOADS.join('|')}) (${EXITS.join('|')}) SEED`);
    process.exit(2);
  }
  const rng = new Rng(seed);
  const info = await initBackend('wasm');
  if (!info.native.active) {
    console.error(`native kernels inactive: ${info.native.reason ?? 'unknown'}`);
    process.exit(3);
  }
  if (exitPath === 'sigint-handler') process.once('SIGINT', () => process.exit(130));
  const workers: Worker[] = [];
  if (workload === 'threads') {
    for (let i = 0; i < 2; i++) {
      const w = startTrainingWorker(SINGLE[rng.int(SINGLE.length)], seed * 7 + i);
      w.on('error', (e) => {
        console.error(`worker failed: ${e.stack ?? e.message}`);
        process.exit(4);
      });
      workers.push(w);
    }
    // Wait until both train, so that exits and terminations find them mid-step.
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => w.once('message', () => resolve()))));
  }
  console.log('training');
  const mine = workload === 'threads' ? SINGLE[rng.int(SINGLE.length)] : workload;
  // Between 50 ms and 1.5 s into training.
  const delay = 50 + rng.int(1450);
  if (exitPath === 'exit') setTimeout(() => process.exit(0), delay);
  if (exitPath === 'terminate') setTimeout(() => workers.forEach((w) => void w.terminate()), delay);
  const threads = workload === 'threads' ? setInterval(() => configureNative({ threads: 1 + rng.int(4) }), 20 + rng.int(80)) : undefined;
  await train(mine, rng);
  if (exitPath === 'terminate' || exitPath === 'normal') {
    // Terminated workers are gone; others finish their rounds.
    await Promise.all(workers.map((w) => (exitPath === 'terminate' ? w.terminate() : new Promise((resolve) => w.once('exit', resolve)))));
  } else {
    // exit / signal paths: keep training until the exit comes.
    for (let i = 0; i < 20; i++) await train(mine, rng);
  }
  clearInterval(threads);
  console.log('done');
  process.exit(0);
}

if (!isMainThread && (workerData as { workload?: unknown } | null)?.workload !== undefined) await workerMain();
else if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) await main();
