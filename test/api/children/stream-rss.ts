// Child process of test/api/stream-memory.test.ts: trains a LayersModel for one epoch from a
// re-iterable generator of `rows` rows (batches of `batch`), after a warm-up run on a few
// batches, and prints JSON: the resident set size before the large run and the process's
// largest resident set size after it (bytes), the batches it trained and its losses.
import * as tfl from '@tensorflow/tfjs-layers';
import { trainLayersModel } from '../../../src/api/index.js';
import { initBackend } from '../../../src/engine/backend.js';

const rows = Number(process.argv[2]);
const batch = Number(process.argv[3]);
const FEATURES = 8;

/** `n` rows in batches: y = Σ x_j / 8 with x from a cheap deterministic sequence. */
function source(n: number) {
  return {
    async *[Symbol.asyncIterator]() {
      for (let start = 0; start < n; start += batch) {
        const m = Math.min(batch, n - start);
        const xs = new Float32Array(m * FEATURES);
        const y = new Float32Array(m);
        for (let i = 0; i < m; i++) {
          let s = 0;
          for (let j = 0; j < FEATURES; j++) {
            const v = (((start + i) * (j + 3)) % 97) / 97 - 0.5;
            xs[i * FEATURES + j] = v;
            s += v;
          }
          y[i] = s / FEATURES;
        }
        yield { xs, ys: { y } };
      }
    },
  };
}

let batchesPerEpoch = 0;
let batchesTrained = 0;

async function train(n: number) {
  batchesPerEpoch = 0;
  batchesTrained = 0;
  const input = tfl.input({ shape: [FEATURES] });
  const hidden = tfl.layers.dense({ units: 4, activation: 'relu', name: 'shared' }).apply(input) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 1, name: 'y' }).apply(hidden) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: [out] });
  const result = await trainLayersModel(model, { heads: { y: { kind: 'regression' } }, training: { epochs: 1, batchSize: batch, evaluationBatchSize: batch, learningRate: 0.01, seed: 1 }, callbacks: { onTrainBegin: (info) => void (batchesPerEpoch = info.batchesPerEpoch), onBatchEnd: () => void batchesTrained++ } }, source(n));
  model.dispose();
  return result;
}

await initBackend('wasm');
await train(batch * 3);
global.gc?.();
const before = process.memoryUsage().rss;
const result = await train(rows);
const peak = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ before, peak, batchesPerEpoch, batchesTrained, loss: result.history[0].train.heads.y.loss, finalLoss: result.metrics.train.heads.y.loss }));
