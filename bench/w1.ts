// Workload W1 (issue 2): dense trunk 784→256→256 (ReLU), a 10-class
// classification head and a 1-unit regression head, batch 128, Adam 1e-3,
// 8192 random rows. Samples/s of the multiloss loop vs tfjs LayersModel.fit on
// the same network and backend (median epoch after a warm-up epoch).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createStrategy, type BalanceSpec } from '../src/balancing/index.js';
import { BinaryHead, ClassificationHead, RegressionHead, type Head } from '../src/model/heads/index.js';
import { MultiHeadNetwork } from '../src/model/network.js';
import type { EncodedData } from '../src/training/data.js';
import { Rng } from '../src/util/rng.js';
import { Trainer } from '../src/training/trainer.js';
import type { TrainingCallbacks } from '../src/training/types.js';

export interface W1Options {
  rows?: number;
  epochs?: number;
  batchSize?: number;
}

export interface W1Result {
  multiloss: number;
  multilossNoMetrics: number;
  fit: number;
  ratio: number;
  peakRssMb: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** W1's heads: 10-class classification and regression; with `binary`, a third (yes/no) head (T = 3). */
export function w1Heads(binary = false): Head[] {
  const heads: Head[] = [
    new ClassificationHead({ name: 'digit', column: 'digit', kind: 'classification' }, Array.from({ length: 10 }, (_, i) => String(i))),
    new RegressionHead({ name: 'value', column: 'value', kind: 'regression', weight: 0.5 }, 0, 1),
  ];
  if (binary) heads.push(new BinaryHead({ name: 'flag', column: 'flag', kind: 'binary' }, ['no', 'yes']));
  return heads;
}

export function w1Data(n: number, rng: Rng, binary = false): EncodedData {
  const d = 784;
  const x = Float32Array.from({ length: n * d }, () => rng.next());
  const cls = new Float32Array(n * 10);
  const reg = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    cls[i * 10 + rng.int(10)] = 1;
    reg[i] = rng.normal();
  }
  const ones = new Float32Array(n).fill(1);
  const targets = [
    { y: cls, yMetric: cls, mask: ones, weight: ones },
    { y: reg, yMetric: reg, mask: ones, weight: ones },
  ];
  if (binary) {
    const flag = Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
    targets.push({ y: flag, yMetric: flag, mask: ones, weight: ones });
  }
  return { n, inputSize: d, x, targets };
}

/** Trains W1 (one warm-up epoch + `epochs`) with the multiloss loop under `callbacks`, then frees it. */
async function fitW1(train: EncodedData, epochs: number, batchSize: number, trainMetrics: boolean, balance: BalanceSpec, callbacks: TrainingCallbacks): Promise<void> {
  const heads = w1Heads(train.targets.length === 3);
  const network = MultiHeadNetwork.create(784, [{ units: 256, activation: 'relu' }, { units: 256, activation: 'relu' }], heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })), new Rng(1));
  const strategy = createStrategy(balance, heads.map((h) => ({ name: h.name, kind: h.kind, weight: h.spec.weight ?? 1 })));
  const trainer = new Trainer(network, heads, strategy, { epochs: epochs + 1, batchSize, seed: 1, optimizer: { name: 'adam', learningRate: 1e-3 }, trainMetrics });
  await trainer.fit(train, undefined, callbacks);
  trainer.dispose();
  if (strategy.kind === 'loss') strategy.dispose?.();
  network.dispose();
}

/** Median samples/s of the multiloss loop over `epochs` epochs after one warm-up epoch. */
export async function multilossRate(train: EncodedData, epochs: number, batchSize: number, trainMetrics: boolean, balance: BalanceSpec = { method: 'static' }): Promise<number> {
  const times: number[] = [];
  let t0 = performance.now();
  await fitW1(train, epochs, batchSize, trainMetrics, balance, {
    onEpochEnd: () => {
      const t = performance.now();
      times.push(t - t0);
      t0 = t;
    },
  });
  return train.n / (median(times.slice(1)) / 1000);
}

/**
 * Per-step wall times (ms) of the multiloss loop on W1 after a warm-up epoch: `epochs` epochs
 * after it, one entry per training step (forward, backward, optimizer step, balancing, training
 * metrics; not the batch gather before it). Several of these may run at once: the loop yields
 * every 50 ms, so concurrent runs interleave and share whatever else the machine is doing.
 */
export async function multilossStepTimes(train: EncodedData, epochs: number, batchSize: number, trainMetrics: boolean, balance: BalanceSpec = { method: 'static' }): Promise<number[]> {
  const times: number[] = [];
  let epoch = 0;
  let t0 = 0;
  await fitW1(train, epochs, batchSize, trainMetrics, balance, {
    onEpochBegin: (info) => {
      epoch = info.epoch; // 1-based
    },
    onBatchBegin: () => {
      t0 = performance.now();
    },
    onBatchEnd: () => {
      if (epoch > 1) times.push(performance.now() - t0);
    },
  });
  return times;
}

async function fitRate(train: EncodedData, epochs: number, batchSize: number): Promise<number> {
  const input = tfl.input({ shape: [784] });
  let h = tfl.layers.dense({ units: 256, activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.dense({ units: 256, activation: 'relu' }).apply(h) as tfl.SymbolicTensor;
  const digit = tfl.layers.dense({ units: 10, activation: 'softmax', name: 'digit' }).apply(h) as tfl.SymbolicTensor;
  const value = tfl.layers.dense({ units: 1, name: 'value' }).apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: [digit, value] });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: ['categoricalCrossentropy', 'meanSquaredError'] });
  const x = tf.tensor2d(train.x, [train.n, 784]);
  const y1 = tf.tensor2d(train.targets[0].y, [train.n, 10]);
  const y2 = tf.tensor2d(train.targets[1].y, [train.n, 1]);
  const times: number[] = [];
  let t0 = performance.now();
  await model.fit(x, [y1, y2], {
    epochs: epochs + 1,
    batchSize,
    shuffle: true,
    verbose: 0,
    yieldEvery: 'never',
    callbacks: {
      onEpochEnd: async () => {
        const t = performance.now();
        times.push(t - t0);
        t0 = t;
      },
    },
  });
  tf.dispose([x, y1, y2]);
  model.dispose();
  return train.n / (median(times.slice(1)) / 1000);
}

export async function runW1(options: W1Options = {}): Promise<W1Result> {
  const rows = options.rows ?? 8192;
  const epochs = options.epochs ?? 5;
  const batchSize = options.batchSize ?? 128;
  const train = w1Data(rows, new Rng(7));
  // Interleave so that machine noise hits both alike.
  const ml: number[] = [];
  const mlPlain: number[] = [];
  const fit: number[] = [];
  for (let round = 0; round < 2; round++) {
    ml.push(await multilossRate(train, epochs, batchSize, true));
    mlPlain.push(await multilossRate(train, epochs, batchSize, false));
    fit.push(await fitRate(train, epochs, batchSize));
  }
  const multiloss = Math.max(...ml);
  const fitBest = Math.max(...fit);
  return {
    multiloss,
    multilossNoMetrics: Math.max(...mlPlain),
    fit: fitBest,
    ratio: multiloss / fitBest,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}
