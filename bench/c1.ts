// Workload C1 (issue 5): two 3×3 conv layers with 16 and 32 filters ('same'
// padding, ReLU, 2×2 max pooling after each) on 28×28×1 images, flattened, two
// 10-class heads, batch 128, Adam 1e-3, 4096 random images. Prints training
// throughput of the multiloss loop in samples/s (median epoch after a warm-up
// epoch), with train metrics on and off.
//
//   node --import tsx bench/c1.ts [--rows 4096] [--epochs 3] [--backend wasm]
import { parseArgs } from 'node:util';
import { createStrategy } from '../src/balancing/index.js';
import { initBackend } from '../src/engine/backend.js';
import { ClassificationHead, type Head } from '../src/model/heads/index.js';
import { MultiHeadNetwork } from '../src/model/network.js';
import type { DenseBlockSpec } from '../src/model/blocks.js';
import type { EncodedData } from '../src/training/data.js';
import { Rng } from '../src/util/rng.js';
import { Trainer } from '../src/training/trainer.js';

export const C1_TRUNK: DenseBlockSpec[] = [
  { type: 'conv', units: 16, kernel: 3, padding: 'same', activation: 'relu', pool: 'max' },
  { type: 'conv', units: 32, kernel: 3, padding: 'same', activation: 'relu', pool: 'max' },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function c1Heads(): Head[] {
  const classes = Array.from({ length: 10 }, (_, i) => String(i));
  return ['a', 'b'].map((name) => new ClassificationHead({ name, column: name, kind: 'classification' }, classes));
}

export function c1Data(n: number, rng: Rng): EncodedData {
  const d = 28 * 28;
  const x = Float32Array.from({ length: n * d }, () => rng.next());
  const ones = new Float32Array(n).fill(1);
  const targets = [0, 1].map(() => {
    const y = new Float32Array(n * 10);
    for (let i = 0; i < n; i++) y[i * 10 + rng.int(10)] = 1;
    return { y, yMetric: y, mask: ones, weight: ones };
  });
  return { n, inputSize: d, inputShape: [28, 28, 1], x, targets };
}

/** Median samples/s over `epochs` epochs after one warm-up epoch. */
export async function runC1(rows = 4096, epochs = 3, trainMetrics = false, onEpochEnd?: () => void): Promise<number> {
  const rng = new Rng(1);
  const heads = c1Heads();
  const data = c1Data(rows, rng);
  const net = MultiHeadNetwork.create([28, 28, 1], C1_TRUNK, heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })), rng);
  const strategy = createStrategy({ method: 'static' }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })));
  const trainer = new Trainer(net, heads, strategy, { epochs: epochs + 1, batchSize: 128, seed: 1, optimizer: { name: 'adam', learningRate: 1e-3 }, trainMetrics });
  const times: number[] = [];
  let start = performance.now();
  await trainer.fit(data, undefined, {
    onEpochEnd: () => {
      onEpochEnd?.();
      const now = performance.now();
      times.push(now - start);
      start = now;
    },
  });
  trainer.dispose();
  net.dispose();
  return rows / (median(times.slice(1)) / 1000);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '4096' }, epochs: { type: 'string', default: '3' }, backend: { type: 'string', default: 'wasm' } } });
  const backend = await initBackend(values.backend as 'wasm');
  console.log(`backend: ${backend.name}${backend.simd ? ' (simd)' : ''}${backend.native.active ? `, native kernels (${backend.native.isa}, ${backend.native.threads} threads)` : ''}; node ${process.version}`);
  console.log('workload C1: conv 3×3×16 → maxpool → conv 3×3×32 → maxpool → flatten → two 10-class heads, 28×28×1, batch 128, Adam 1e-3');
  const rows = Number(values.rows);
  const epochs = Number(values.epochs);
  console.log(`${rows} random images, median of ${epochs} epochs after a warm-up epoch`);
  console.log(`multiloss loop (train metrics off): ${Math.round(await runC1(rows, epochs, false))} samples/s`);
  console.log(`multiloss loop (train metrics on):  ${Math.round(await runC1(rows, epochs, true))} samples/s`);
}
