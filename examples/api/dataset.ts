/**
 * Data in other forms: a tf.data.Dataset of batches and an async iterable,
 * with per-output masks and sample weights. Both stream: a first pass fits the
 * heads on the labels, then every epoch reads the source again and its rows go
 * to the trainer as they arrive, in the source's order (never reshuffled),
 * cut into batches of training.batchSize whatever the element size — so the
 * same rows in the same order give the same model whatever form they came in.
 * (A generator object can be read once: it is kept in memory after its first pass.)
 *
 *   node --import tsx examples/api/dataset.ts
 */
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfd from '@tensorflow/tfjs-data';
import { initBackend, trainLayersModel, type ArrayData, type HeadConfig } from '../../src/index.js';

await initBackend();

function buildModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [4] });
  const h = tfl.layers.dense({ units: 12, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }), name: 'shared' }).apply(input) as tfl.SymbolicTensor;
  const size = tfl.layers.dense({ units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }), name: 'size' }).apply(h) as tfl.SymbolicTensor;
  const tags = tfl.layers.dense({ units: 3, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }), name: 'tags' }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: [size, tags] });
}

const n = 240;
const rows = Array.from({ length: n }, (_, i) => [Math.sin(i), Math.cos(i / 3), (i % 11) / 11, (i % 2) - 0.5]);
const size = rows.map(([a, b]) => 2 * a - b);
const tags = rows.map(([a, b, c]) => [a > 0 ? 1 : 0, b > 0.5 ? 1 : 0, c > 0.5 ? 1 : 0]);
const tagsKnown = rows.map((_, i) => i % 6 !== 0); // the tags of every sixth row are unknown
const sizeWeight = rows.map((_, i) => (i < 40 ? 3 : 1)); // the first rows count three times

const heads: Record<string, HeadConfig> = { size: { kind: 'regression' }, tags: { kind: 'multilabel', classes: ['a', 'b', 'c'] } };
const options = { heads, balance: 'uncertainty', training: { epochs: 10, batchSize: 24, learningRate: 0.02, seed: 11 } };

// 1. A tf.data.Dataset: elements { xs, ys, masks?, sampleWeights? } keyed by output name, batched.
const dataset = tfd
  .zip({
    xs: tfd.array(rows),
    ys: tfd.zip({ size: tfd.array(size), tags: tfd.array(tags) }),
    masks: tfd.zip({ tags: tfd.array(tagsKnown.map(Number)) }),
    sampleWeights: tfd.zip({ size: tfd.array(sizeWeight) }),
  })
  .batch(64);
const fromDataset = buildModel();
const a = await trainLayersModel(fromDataset, options, dataset);

// 2. An async iterable yielding plain-array batches (a database cursor, a file reader …).
async function* batches(): AsyncGenerator<ArrayData> {
  for (let start = 0; start < n; start += 50) {
    const end = Math.min(n, start + 50);
    yield {
      xs: rows.slice(start, end),
      ys: { size: size.slice(start, end), tags: tags.slice(start, end).map((t, i) => (tagsKnown[start + i] ? t : null)) },
      sampleWeights: { size: Float32Array.from(sizeWeight.slice(start, end)) },
    };
  }
}
const fromIterable = buildModel();
const b = await trainLayersModel(fromIterable, options, batches());

const other = fromIterable.getWeights();
const same = fromDataset.getWeights().every((w, i) => w.dataSync().every((v, k) => v === other[i].dataSync()[k]));
console.log(`dataset: size RMSE ${a.metrics.train.heads.size.metrics.rmse.toFixed(3)}, tags micro-F1 ${a.metrics.train.heads.tags.metrics.micro_f1.toFixed(2)}`);
console.log(`iterable: size RMSE ${b.metrics.train.heads.size.metrics.rmse.toFixed(3)}, tags micro-F1 ${b.metrics.train.heads.tags.metrics.micro_f1.toFixed(2)}`);
console.log('identical weights:', same);
if (!same) process.exitCode = 1;
