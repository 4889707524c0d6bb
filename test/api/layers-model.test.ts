import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfd from '@tensorflow/tfjs-data';
import { describeSharing, trainLayersModel, type ArrayData, type HeadConfig, type TrainingEpochLog } from '../../src/api/index.js';
import type { ClassificationHead } from '../../src/model/heads/classification.js';
import type { BinaryHead } from '../../src/model/heads/binary.js';
import type { RegressionHead } from '../../src/model/heads/regression.js';
import { fitModel } from '../../src/training/fit.js';
import { MultiHeadNetwork } from '../../src/model/network.js';
import { Rng } from '../../src/util/rng.js';
import { useDefaultBackend } from '../helpers.js';
import { handBuiltModel, MedianAbsoluteError, penguinArrays, penguinConfig, registerCustomParts, TRAINING, weightValues, type PenguinArrays } from './fixtures.js';

const SEED = 7;

interface Setup {
  heads: Record<string, HeadConfig>;
  train: PenguinArrays;
  validation: PenguinArrays;
}

/** Heads and arrays that encode the penguins exactly as the CLI path does (classes, mean and std from its heads). */
async function setup(): Promise<Setup> {
  const config = penguinConfig({ method: 'static' }, { epochs: 1 });
  const { train, validation, tables } = penguinArrays(config);
  const cli = await fitModel(config, { table: tables.train, validation: tables.validation });
  const [species, sex, mass] = cli.heads as [ClassificationHead, BinaryHead, RegressionHead];
  cli.dispose();
  return {
    heads: {
      species: { kind: 'classification', classes: species.classes },
      sex: { kind: 'binary', classes: sex.classes, metrics: ['brier'] },
      mass: { kind: 'regression', loss: 'scaled_huber', mean: mass.mean, std: mass.std },
    },
    train,
    validation,
  };
}

function arrays(a: PenguinArrays): ArrayData {
  return { xs: a.x, ys: { species: a.species, sex: a.sex, mass: a.mass } };
}

describe('trainLayersModel on a hand-built functional model with three outputs', () => {
  let s: Setup;
  before(async () => {
    await useDefaultBackend();
    registerCustomParts();
    s = await setup();
  });

  it('derives the shared layers from the graph (the two trunk layers) and each output\'s own layers', () => {
    const model = handBuiltModel(s.train.inputSize, SEED);
    const sharing = describeSharing(model, s.heads);
    assert.deepEqual(sharing.sharedLayers, ['trunk_dense_0', 'trunk_dense_1']);
    assert.deepEqual(
      sharing.sharedVariables.map((v) => v.replace(/_\d+$/, '')),
      ['trunk_dense_0/kernel', 'trunk_dense_0/bias', 'trunk_dense_1/kernel', 'trunk_dense_1/bias'],
    );
    assert.deepEqual(sharing.headLayers, { species: ['head_species_dense', 'species'], sex: ['head_sex_dense', 'sex'], mass: ['head_mass_dense', 'mass'] });
    assert.deepEqual(sharing.lastSharedVariables.map((v) => v.replace(/_\d+$/, '')), ['trunk_dense_1/kernel', 'trunk_dense_1/bias']);
    assert.equal(sharing.repUnavailable, undefined);
    model.dispose();
  });

  for (const balance of [{ method: 'uncertainty' }, { method: 'pcgrad' }]) {
    it(`${balance.method}: trains through the API with the custom loss and metric, and gives the CLI path's weights exactly`, async () => {
      const config = penguinConfig(balance);
      const { tables } = penguinArrays(config);
      const cli = await fitModel(config, { table: tables.train, validation: tables.validation });

      const model = handBuiltModel(s.train.inputSize, SEED);
      // Same layers, same seeded initialisers: the starting weights are the CLI network's.
      const fresh = handBuiltModel(s.train.inputSize, SEED);
      assert.equal(fresh.getWeights().length, cli.network.model.getWeights().length);
      fresh.dispose();
      const epochLogs: TrainingEpochLog[] = [];
      const result = await trainLayersModel(
        model,
        {
          heads: s.heads,
          balance,
          training: TRAINING,
          validationData: arrays(s.validation),
          callbacks: { onEpochEnd: (log) => void epochLogs.push(log) },
        },
        arrays(s.train),
      );
      assert.equal(result.epochs, 4);
      assert.equal(result.balancing.method, balance.method);
      const last = epochLogs[3];
      for (const h of ['species', 'sex', 'mass']) {
        assert.ok(Number.isFinite(last.heads[h].loss) && last.heads[h].loss > 0, `${h} loss`);
        assert.ok(Number.isFinite(last.heads[h].weight), `${h} weight`);
        assert.ok(last.heads[h].validation, `${h} validation figures`);
      }
      assert.ok(Number.isFinite(last.heads.sex.metrics.brier), 'custom metric asked for by the head');
      assert.ok(Number.isFinite(last.heads.mass.validation?.metrics.median_ae ?? NaN), 'custom metric registered for regression heads');
      if (balance.method === 'pcgrad') {
        assert.ok(last.diagnostics, 'gradient methods record diagnostics');
        assert.ok((last.heads.species.gradNorm ?? 0) > 0);
        assert.ok(Number.isFinite(last.heads.species.cosine?.sex ?? NaN));
      }
      // The CLI path's history and weights, bit for bit.
      assert.equal(cli.meta.history.at(-1)?.train.loss, result.history.at(-1)?.train.loss);
      const cliWeights = weightValues(cli.network.model);
      const apiWeights = weightValues(model);
      assert.equal(apiWeights.length, cliWeights.length);
      apiWeights.forEach((w, i) => assert.deepEqual(w, cliWeights[i], `weight ${i} (${model.weights[i].name})`));
      cli.dispose();
      model.dispose();
    });
  }

  it('a model built by MultiHeadNetwork.create with dropout and batch norm trains to the CLI path\'s weights (pcgrad replays, uncertainty)', async () => {
    const trunk = [
      { units: 16, dropout: 0.2, batchNorm: true },
      { units: 8, activation: 'tanh', dropout: 0.1 },
    ];
    for (const balance of [{ method: 'pcgrad' }, { method: 'uncertainty' }]) {
      const config = penguinConfig(balance, { epochs: 3 }, trunk);
      const { tables } = penguinArrays(config);
      const cli = await fitModel(config, { table: tables.train, validation: tables.validation });
      const net = MultiHeadNetwork.create(
        s.train.inputSize,
        config.trunk,
        cli.heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })),
        new Rng(config.training.seed),
      );
      await trainLayersModel(net.model, { heads: s.heads, balance, training: { ...TRAINING, epochs: 3 } }, arrays(s.train));
      const expected = weightValues(cli.network.model);
      weightValues(net.model).forEach((w, i) => assert.deepEqual(w, expected[i], `${balance.method}: weight ${i} (${net.model.weights[i].name})`));
      cli.dispose();
      net.dispose();
    }
  });

  // A Dataset or iterable streams in its own order (never reshuffled); arrays with shuffle: false keep theirs.
  it('a tf.data.Dataset of batches and plain arrays give identical weights (masks and sample weights in both forms)', async () => {
    const { train } = s;
    const n = train.n;
    const k = train.inputSize;
    const speciesIndex = train.species.map((c) => (c === null ? NaN : (s.heads.species.classes as string[]).indexOf(c)));
    const sexIndex = train.sex.map((c) => (c === null ? NaN : (s.heads.sex.classes as string[]).indexOf(c)));
    const mass = train.mass.map((v) => v ?? NaN);
    const maskSex = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 1));
    const weightMass = Array.from({ length: n }, (_, i) => 0.5 + (i % 3) * 0.25);
    const rows = Array.from({ length: n }, (_, i) => Array.from(train.x.subarray(i * k, (i + 1) * k)));
    const options = { heads: s.heads, balance: 'pcgrad', training: { epochs: 2, batchSize: 16, seed: 3, shuffle: false } };

    const fromArrays = handBuiltModel(k, SEED);
    const xs = tf.tensor2d(train.x, [n, k]);
    const sexTensor = tf.tensor1d(sexIndex);
    await trainLayersModel(fromArrays, options, {
      xs,
      ys: { species: Float32Array.from(speciesIndex), sex: sexTensor, mass },
      masks: { sex: maskSex.map((v) => v === 1) },
      sampleWeights: { mass: Float32Array.from(weightMass) },
    });
    tf.dispose([xs, sexTensor]);

    const fromDataset = handBuiltModel(k, SEED);
    const dataset = tfd
      .zip({
        xs: tfd.array(rows),
        ys: tfd.zip({ species: tfd.array(speciesIndex), sex: tfd.array(sexIndex), mass: tfd.array(mass) }),
        masks: tfd.zip({ sex: tfd.array(maskSex) }),
        sampleWeights: tfd.zip({ mass: tfd.array(weightMass) }),
      })
      .batch(50);
    const before = tf.memory().numTensors;
    await trainLayersModel(fromDataset, options, dataset);
    assert.equal(tf.memory().numTensors, before, 'the dataset\'s tensors are disposed after reading');

    const a = weightValues(fromArrays);
    const b = weightValues(fromDataset);
    a.forEach((w, i) => assert.deepEqual(b[i], w, `weight ${i}`));
    fromArrays.dispose();
    fromDataset.dispose();
  });

  it('an async iterable of batches gives the same weights as the arrays', async () => {
    const { train } = s;
    const k = train.inputSize;
    const options = { heads: s.heads, balance: 'uncertainty', training: { epochs: 1, batchSize: 32, seed: 5, shuffle: false } };
    const whole = handBuiltModel(k, SEED);
    await trainLayersModel(whole, options, arrays(train));
    async function* batches(): AsyncGenerator<ArrayData> {
      for (let start = 0; start < train.n; start += 64) {
        const end = Math.min(train.n, start + 64);
        yield { xs: train.x.subarray(start * k, end * k), ys: { species: train.species.slice(start, end), sex: train.sex.slice(start, end), mass: train.mass.slice(start, end) } };
      }
    }
    const streamed = handBuiltModel(k, SEED);
    await trainLayersModel(streamed, options, batches());
    const a = weightValues(whole);
    weightValues(streamed).forEach((w, i) => assert.deepEqual(w, a[i]));
    whole.dispose();
    streamed.dispose();
  });

  it('validation metrics stream exactly: equal to the metrics of all validation predictions at once', async () => {
    const model = handBuiltModel(s.train.inputSize, SEED);
    const result = await trainLayersModel(
      model,
      { heads: s.heads, training: { epochs: 2, batchSize: 32, seed: 2, evaluationBatchSize: 7 }, validationData: arrays(s.validation) },
      arrays(s.train),
    );
    const v = s.validation;
    const outputs = result.predict(tf.tensor2d(v.x, [v.n, v.inputSize]));
    const last = result.history.at(-1)?.validation;
    assert.ok(last);
    const mass = result.heads[2];
    const yTrue = Float32Array.from(v.mass, (m) => m ?? 0);
    const mask = Float32Array.from(v.mass, (m) => (m === null ? 0 : 1));
    const yPred = mass.toMetricSpace(outputs.mass.dataSync() as Float32Array);
    const once = new MedianAbsoluteError();
    once.update(yTrue, yPred, mask);
    assert.equal(last.heads.mass.metrics.median_ae, once.result());
    // Built-in metrics too: accuracy over all species predictions.
    const classes = s.heads.species.classes as string[];
    const probs = outputs.species.arraySync() as number[][];
    let correct = 0;
    let labelled = 0;
    v.species.forEach((c, i) => {
      if (c === null) return;
      labelled++;
      if (probs[i].indexOf(Math.max(...probs[i])) === classes.indexOf(c)) correct++;
    });
    assert.equal(last.heads.species.metrics.accuracy, correct / labelled);
    tf.dispose(Object.values(outputs));
    model.dispose();
  });

  it('a callback that stops at epoch 3 ends training there; the model keeps the last weights, or the best ones with early stopping', async () => {
    for (const earlyStopping of [false, { monitor: 'validation.loss', mode: 'max' as const, patience: 50 }]) {
      const model = handBuiltModel(s.train.inputSize, SEED);
      const snapshots: Float32Array[][] = [];
      const begun: number[] = [];
      let batchBegins = 0;
      const result = await trainLayersModel(
        model,
        {
          heads: s.heads,
          training: { epochs: 10, batchSize: 64, seed: 1, earlyStopping },
          validationData: arrays(s.validation),
          callbacks: {
            onEpochBegin: ({ epoch }) => void begun.push(epoch),
            onBatchBegin: () => void batchBegins++,
            onEpochEnd: (log, control) => {
              snapshots.push(weightValues(model));
              if (log.epoch === 3) control.stop();
            },
          },
        },
        arrays(s.train),
      );
      assert.equal(result.epochs, 3);
      assert.equal(result.history.length, 3);
      assert.equal(result.stopped, true);
      assert.equal(result.stop.reason, 'callback');
      assert.deepEqual(begun, [1, 2, 3]);
      assert.equal(batchBegins, 3 * Math.ceil(s.train.n / 64));
      let expected = 3;
      if (earlyStopping) {
        const losses = result.history.map((e) => e.validation?.loss ?? NaN);
        expected = losses.indexOf(Math.max(...losses)) + 1;
        assert.equal(result.bestEpoch, expected);
      }
      weightValues(model).forEach((w, i) => assert.deepEqual(w, snapshots[expected - 1][i], `weight ${i}: epoch ${expected}'s`));
      model.dispose();
    }
  });

  it('with validation data early stopping is on by default, as for a config file: relative loss, patience 10, best weights, 200 epochs at most', async () => {
    for (const validation of [{ validationData: arrays(s.validation) }, { validationSplit: 0.25 }]) {
      const model = handBuiltModel(s.train.inputSize, SEED);
      const result = await trainLayersModel(model, { heads: s.heads, training: { batchSize: 64, seed: 1, learningRate: 0.05 }, ...validation }, arrays(s.train));
      const { stop } = result;
      assert.equal(stop.monitor, 'validation.relativeLoss');
      assert.equal(stop.patience, 10);
      assert.equal(stop.maxEpochs, 200);
      assert.equal(stop.reason, 'patience', `${stop.epochs} epochs`);
      assert.equal(stop.epochs, (stop.bestEpoch as number) + 10);
      assert.equal(result.bestEpoch, stop.bestEpoch);
      model.dispose();
    }
    const model = handBuiltModel(s.train.inputSize, SEED);
    const plain = await trainLayersModel(model, { heads: s.heads, training: { batchSize: 64, seed: 1, epochs: 2 } }, arrays(s.train));
    assert.deepEqual(plain.stop, { reason: 'epoch-cap', epochs: 2, maxEpochs: 2, restoredBest: false });
    model.dispose();
  });
});
