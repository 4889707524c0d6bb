// A small multi-threaded workload on the native addon from several Node environments in one
// process (issue 20), for the sanitizer runs and the heap-edge test:
//
//   node --import tsx bench/stress/multi-env.ts [--calls N] [--memory wasm|arraybuffer] [--train]
//
// Two worker threads and this thread call every binding (bench/stress/bindings.ts) at once, each on
// its own buffer, while this thread changes the kernels' thread count and instruction set between
// calls; one worker is terminated in the middle of its calls, the other finishes. With --train, this
// thread then trains W1 for an epoch on 256 rows through tfjs on the native kernels (the JS callers
// in src/engine/native). Loads the addon as the library does (MULTILOSS_NATIVE_ADDON picks a
// sanitizer build). Prints "ok" and exits 0 when everything ran.
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { loadAddon, type NativeAddon } from '../../src/engine/native/addon.js';
import { Rng } from '../../src/util/rng.js';
import { exerciseBindings } from './bindings.js';

interface EnvTask {
  seed: number;
  calls: number;
  memory: 'wasm' | 'arraybuffer';
}

/** 4 MiB: a wasm memory (V8's guard region after it) or a calloc'd ArrayBuffer (red zones under ASan). */
function heapOf(memory: EnvTask['memory']): () => ArrayBuffer {
  if (memory === 'arraybuffer') {
    const ab = new ArrayBuffer(4 << 20);
    return () => ab;
  }
  const mem = new WebAssembly.Memory({ initial: 64 });
  return () => mem.buffer;
}

function addon(): NativeAddon {
  const load = loadAddon();
  if (!load.addon) throw new Error(`native addon unavailable: ${load.reason ?? 'unknown'}`);
  return load.addon;
}

function startWorker(task: EnvTask): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  return new Worker(code, { eval: true, workerData: { multiEnv: task }, execArgv: [] });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '400' }, memory: { type: 'string', default: 'wasm' }, train: { type: 'boolean', default: false } } });
  const calls = Number(values.calls);
  const memory = values.memory === 'arraybuffer' ? 'arraybuffer' : 'wasm';
  const a = addon();
  const workers = [1, 2].map((i) => startWorker({ seed: 100 + i, calls: i === 1 ? calls * 4 : calls, memory }));
  const exited = workers.map((w) => new Promise<number>((resolve, reject) => {
    w.on('error', reject);
    w.on('exit', resolve);
  }));
  // The first worker is terminated once it has started its calls (it has 4x as many: mid-work).
  workers[0].once('message', () => setTimeout(() => void workers[0].terminate(), 20));
  const rng = new Rng(7);
  const rand = () => rng.next();
  const heap = heapOf(memory);
  for (let i = 0; i < calls; i += 10) {
    a.configure(Math.floor(rand() * 3), 1 + Math.floor(rand() * 4));
    exerciseBindings(a, heap, 1000 + i, 10);
    // Let the workers' messages in (the termination above).
    await new Promise((resolve) => setImmediate(resolve));
  }
  a.configure(-1, 2);
  const codes = await Promise.all(exited);
  if (codes[1] !== 0) throw new Error(`worker 2 exited with code ${codes[1]}`);
  if (values.train) {
    const { initBackend } = await import('../../src/engine/backend.js');
    const { multilossRate, w1Data } = await import('../w1.js');
    const { Rng } = await import('../../src/util/rng.js');
    const info = await initBackend('wasm');
    if (!info.native.active) throw new Error(`native kernels inactive: ${info.native.reason ?? 'unknown'}`);
    await multilossRate(w1Data(256, new Rng(3)), 0, 128, true, { method: 'pcgrad', mode: 'param' });
  }
  console.log('ok');
}

const task = (workerData as { multiEnv?: EnvTask } | null)?.multiEnv;
if (!isMainThread && task) {
  parentPort?.postMessage('started');
  exerciseBindings(addon(), heapOf(task.memory), task.seed, task.calls);
} else if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
