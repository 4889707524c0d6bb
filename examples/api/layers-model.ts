/**
 * Train your own multi-output tfjs LayersModel with multiloss: one head per
 * named output, PCGrad on the layers the outputs share, missing labels.
 *
 *   node --import tsx examples/api/layers-model.ts
 *
 * (In a project that depends on multiloss, import from 'multiloss' instead of
 * the sources.)
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describeSharing, initBackend, trainLayersModel, type HeadConfig } from '../../src/index.js';

await initBackend();

// A functional model: one shared trunk, three named outputs. The class output may end in
// softmax and the yes/no output in sigmoid: multiloss trains them from their logits.
const input = tfl.input({ shape: [3] });
const trunk = tfl.layers.dense({ units: 16, activation: 'relu', name: 'trunk' }).apply(input) as tfl.SymbolicTensor;
const kind = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'kind' }).apply(trunk) as tfl.SymbolicTensor;
const flagged = tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'flagged' }).apply(trunk) as tfl.SymbolicTensor;
const price = tfl.layers.dense({ units: 1, name: 'price' }).apply(trunk) as tfl.SymbolicTensor;
const model = tfl.model({ inputs: input, outputs: [kind, flagged, price] });

// Synthetic rows: three features; `flagged` is unknown in every fourth row.
const xs = Array.from({ length: 300 }, (_, i) => [Math.sin(i), Math.cos(i * 1.3), ((i * 37) % 100) / 100]);
const ys = {
  kind: xs.map(([a, b]) => (a > 0.3 ? 'high' : b > 0 ? 'mid' : 'low')),
  flagged: xs.map(([a, , c], i) => (i % 4 === 0 ? null : a + c > 0.8 ? 1 : 0)),
  price: xs.map(([a, b, c]) => 100 + 20 * a - 10 * b + 5 * c),
};

const heads: Record<string, HeadConfig> = {
  kind: { kind: 'classification', classes: ['low', 'mid', 'high'] },
  flagged: { kind: 'binary' },
  // Trained on (price − mean) / std (fitted on the training rows); metrics and decoded predictions in the price's unit.
  price: { kind: 'regression', loss: 'huber', standardize: true },
};
console.log('shared layers:', describeSharing(model, heads).sharedLayers.join(', '));

const result = await trainLayersModel(
  model,
  { heads, balance: { method: 'pcgrad' }, training: { epochs: 15, batchSize: 32, learningRate: 0.01, seed: 1 }, validationSplit: 0.2 },
  { xs, ys },
);
const v = result.metrics.validation?.heads;
console.log(`epochs: ${result.epochs}`);
console.log(`kind accuracy ${v?.kind.metrics.accuracy.toFixed(2)}, flagged accuracy ${v?.flagged.metrics.accuracy.toFixed(2)}, price MAE ${v?.price.metrics.mae.toFixed(2)}`);

// The model itself was trained in place: plain tfjs predicts with it (probabilities here, as its
// last layer is a softmax). Decoded predictions come back in the labels' terms.
const probabilities = model.predict(tf.tensor2d([[0.9, 0.1, 0.5]])) as tf.Tensor[];
console.log('P(kind):', Array.from(probabilities[0].dataSync(), (p) => p.toFixed(2)).join(' '));
const [row] = result.predictDecoded(tf.tensor2d([[0.9, 0.1, 0.5]]));
console.log(`decoded: kind ${(row.kind as { label: string }).label}, flagged ${(row.flagged as { label: string }).label}, price ${(row.price as number).toFixed(1)} (true ${(100 + 18 - 1 + 2.5).toFixed(1)})`);
