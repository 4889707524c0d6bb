// Where a LeNet training step's time goes (issue 16; a profile, not a benchmark: no ratio): the
// MultiMNIST LeNet of bench/images.ts trained through fitImageModel, every kernel registered on
// the wasm backend and every native addon call wrapped with a timer. Prints, per step of the last
// epoch, the wall and process CPU time, how much of it is inside kernels and addon calls (outermost
// calls only; "(in)" rows are addon calls inside a kernel) and the rest (tfjs bookkeeping and
// JavaScript between kernels), then each kernel's calls, wall and CPU time. CPU time includes
// the native pool's worker, which spins briefly after each parallel region.
//   node --import tsx bench/profile-lenet.ts [--threads 2] [--train 6000] [--heads 2|1] [--epochs 2]
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { parseConfig } from '../src/config/schema.js';
import { resolveConfig } from '../src/config/resolve.js';
import { buildMultiMnist } from '../src/data/images/multimnist.js';
import { initBackend } from '../src/engine/backend.js';
import { configureNative, loadAddon } from '../src/engine/native/index.js';
import { setKernelAddon } from '../src/engine/native/kernels.js';
import { setNativeAddonSource } from '../src/engine/native/state.js';
import type { NativeAddon } from '../src/engine/native/addon-api.js';
import { loadMnistDigits } from '../src/io/image-files.js';
import { fitImageModel } from '../src/training/fit-images.js';
import { multiMnistConfig } from '../examples/multimnist/lenet.js';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, train: { type: 'string', default: '6000' }, heads: { type: 'string', default: '2' }, epochs: { type: 'string', default: '2' } } });
await initBackend('wasm');
configureNative({ threads: Number(values.threads) });

interface Stat { n: number; wall: number; cpu: number }
const stats = new Map<string, Stat>();
let depth = 0;
let on = false;
const cpuNow = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
function timed<F extends (...a: never[]) => unknown>(name: string, fn: F): F {
  return ((...a: never[]) => {
    if (!on) return fn(...a);
    const outer = depth === 0;
    depth++;
    const w0 = performance.now(), c0 = cpuNow();
    try { return fn(...a); } finally {
      depth--;
      const s = stats.get(outer ? name : `  (in) ${name}`) ?? { n: 0, wall: 0, cpu: 0 };
      s.n++; s.wall += performance.now() - w0; s.cpu += cpuNow() - c0;
      stats.set(outer ? name : `  (in) ${name}`, s);
    }
  }) as F;
}
for (const k of tf.getKernelsForBackend('wasm')) {
  tf.unregisterKernel(k.kernelName, 'wasm');
  tf.registerKernel({ ...k, kernelFunc: timed(`kernel ${k.kernelName}`, k.kernelFunc as never) });
}
const addon = loadAddon().addon as unknown as Record<string, unknown>;
const wrapped: Record<string, unknown> = {};
for (const key of Object.keys(addon)) {
  const f = addon[key];
  wrapped[key] = typeof f === 'function' ? timed(`addon ${key}`, f.bind(addon) as never) : f;
}
setKernelAddon(wrapped as unknown as NativeAddon);
setNativeAddonSource(() => wrapped as unknown as NativeAddon);

const data = buildMultiMnist(loadMnistDigits(), { train: Number(values.train), test: 100, seed: 0 });
const heads = Number(values.heads) === 2 ? undefined : (['left'] as ('left' | 'right')[]);
const raw = multiMnistConfig({ epochs: Number(values.epochs), seed: 1, heads });
const config = { ...raw, training: { ...(raw.training as Record<string, unknown>), batchSize: 256 } };
let w0 = 0, c0 = 0, epoch = 0;
const start = (): void => { stats.clear(); w0 = performance.now(); c0 = cpuNow(); on = true; };
start();
await fitImageModel(resolveConfig(parseConfig(config)), data.train, {
  callbacks: {
    onEpochEnd: () => {
      epoch++;
      if (epoch < Number(values.epochs)) { start(); return; }
      on = false;
      const wall = performance.now() - w0, cpu = cpuNow() - c0;
      const steps = Math.ceil(data.train.n / 256);
      const rows = [...stats.entries()].sort((a, b) => b[1].wall - a[1].wall);
      let kw = 0, kc = 0;
      for (const [name, s] of rows) if (!name.startsWith(' ')) { kw += s.wall; kc += s.cpu; }
      console.log(`threads ${values.threads}; ${steps} steps; per step: wall ${(wall / steps).toFixed(2)} ms, cpu ${(cpu / steps).toFixed(2)} ms; ` +
        `outer kernels+addon wall ${(kw / steps).toFixed(2)} cpu ${(kc / steps).toFixed(2)}; rest wall ${((wall - kw) / steps).toFixed(2)} cpu ${((cpu - kc) / steps).toFixed(2)}; ${(data.train.n / wall * 1000).toFixed(0)} samples/s`);
      for (const [name, s] of rows) console.log(`${name.padEnd(40)} calls/step ${(s.n / steps).toFixed(1).padStart(5)}  wall ${(s.wall / steps).toFixed(3).padStart(7)} ms  cpu ${(s.cpu / steps).toFixed(3).padStart(7)} ms`);
    },
  },
});
