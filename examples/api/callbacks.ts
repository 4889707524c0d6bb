/**
 * Callbacks with typed logs (every head's unweighted loss, weight, metrics and
 * gradient diagnostics), stopping from a callback, early stopping with the
 * best weights restored, and checkpoints to resume from.
 *
 *   node --import tsx examples/api/callbacks.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, trainLayersModel, type ArrayData, type TrainingCheckpoint } from '../../src/index.js';

await initBackend();

function buildModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [3] });
  const h = tfl.layers.dense({ units: 12, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }), name: 'shared' }).apply(input) as tfl.SymbolicTensor;
  const y = tfl.layers.dense({ units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }), name: 'y' }).apply(h) as tfl.SymbolicTensor;
  const c = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }), name: 'c' }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: [y, c] });
}
const xs = Array.from({ length: 200 }, (_, i) => [Math.sin(i), Math.cos(i * 0.37), (i % 9) / 9]);
const data: ArrayData = { xs, ys: { y: xs.map(([a, b]) => a * b), c: xs.map(([, , z]) => (z > 0.5 ? 1 : 0)) } };
const heads = { y: { kind: 'regression' }, c: { kind: 'classification' } };

// 1. Logs, and a callback that stops training after epoch 3. Without early stopping the model keeps
//    the weights of the last epoch run.
const model = buildModel();
const result = await trainLayersModel(
  model,
  {
    heads,
    balance: 'mgda',
    training: { epochs: 20, batchSize: 32, learningRate: 0.01, seed: 5 },
    validationSplit: 0.25,
    callbacks: {
      onTrainBegin: ({ epochs, batchesPerEpoch, heads }) => console.log(`training ${heads.join(' + ')}: up to ${epochs} epochs of ${batchesPerEpoch} batches`),
      onEpochEnd: (log, control) => {
        const y = log.heads.y;
        const c = log.heads.c;
        console.log(
          `epoch ${log.epoch}: y loss ${y.loss.toFixed(4)} (weight ${y.weight.toFixed(2)}, val rmse ${y.validation?.metrics.rmse.toFixed(3)}, ‖g‖ ${y.gradNorm?.toFixed(3)}), ` +
            `c loss ${c.loss.toFixed(4)} (weight ${c.weight.toFixed(2)}), cos(y, c) ${y.cosine?.c.toFixed(2)}`,
        );
        if (log.epoch === 3) control.stop();
      },
    },
  },
  data,
);
console.log(`stopped after ${result.epochs} epochs (stopped: ${result.stopped})`);

// 2. Early stopping on a validation figure, restoring the best epoch's weights; checkpoints kept
//    in memory here (write them to disk in a real run: model.save plus the JSON of `state`).
let saved: { weights: tf.Tensor[]; state: TrainingCheckpoint['state']; optimizer: { name: string; tensor: tf.Tensor }[] } | undefined;
let best: tf.Tensor[] | undefined; // the best epoch's weights, for a resumed run to restore at its end
const model2 = buildModel();
const stopped = await trainLayersModel(
  model2,
  {
    heads,
    training: { epochs: 60, batchSize: 32, learningRate: 0.05, seed: 5, earlyStopping: { monitor: 'validation.c.accuracy', patience: 5 }, checkpointEvery: 5 },
    validationSplit: 0.25,
    callbacks: {
      onCheckpoint: async (ck) => {
        if (ck.reason === 'best') {
          tf.dispose(best ?? []);
          best = ck.weights.map((w) => tf.clone(w));
        }
        if (saved) tf.dispose([...saved.weights, ...saved.optimizer.map((o) => o.tensor)]);
        saved = { weights: ck.weights.map((w) => tf.clone(w)), state: structuredClone(ck.state), optimizer: ck.optimizer.map((o) => ({ name: o.name, tensor: tf.clone(o.tensor) })) };
      },
    },
  },
  data,
);
console.log(`early stopping: ran ${stopped.epochs} epochs, best epoch ${stopped.bestEpoch} (its weights are in the model)`);

// 3. Resume from the last checkpoint: same data and settings, training continues where it was.
if (saved) {
  const model3 = buildModel();
  const resumed = await trainLayersModel(
    model3,
    {
      heads,
      training: { epochs: 60, batchSize: 32, learningRate: 0.05, seed: 5, earlyStopping: { monitor: 'validation.c.accuracy', patience: 5 } },
      validationSplit: 0.25,
      resume: { weights: saved.weights, state: saved.state, optimizer: saved.optimizer, bestWeights: best },
    },
    data,
  );
  const a = model2.getWeights().map((w) => w.dataSync());
  const same = model3.getWeights().every((w, i) => w.dataSync().every((v, k) => v === a[i][k]));
  console.log(`resumed at epoch ${saved.state.epoch}: ${resumed.epochs} epochs in the history, best epoch ${resumed.bestEpoch}; same weights as the uninterrupted run: ${same}`);
  if (!same) process.exitCode = 1;
}
