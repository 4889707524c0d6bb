import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { ModoState } from '../../src/balancing/aggregation/index.js';
import { readConfigFile } from '../../src/io/config-file.js';
import { trainFromConfig } from '../../src/io/train-from-config.js';
import { PENGUINS_CONFIG, useDefaultBackend } from '../helpers.js';

// A method that declares several independent batches per step (MoDo: 3): the trainer takes that many
// consecutive batches of the epoch's order per step, so an epoch is one pass over the rows in fewer steps.
async function train(balance: Record<string, unknown>, training: Record<string, unknown>) {
  const config = readConfigFile(PENGUINS_CONFIG);
  config.training = { ...(config.training as object), epochs: 4, earlyStopping: false, ...training };
  config.balance = balance;
  const ends: { epoch: number; batch: number; batches: number }[] = [];
  const model = await trainFromConfig(config, {}, { callbacks: { onBatchEnd: (log) => void ends.push({ epoch: log.epoch, batch: log.batch, batches: log.batches }) } });
  const result = { state: (model.meta.balance.state as { aggregator: ModoState }).aggregator, history: model.meta.history, ends };
  model.dispose();
  return result;
}

describe('multi-batch gradient methods in the training loop (modo)', () => {
  before(useDefaultBackend);

  it('three batches per step: every epoch ends after its last batch, in a third of the steps; λ stays on the simplex', async () => {
    const tensors = tf.memory().numTensors;
    const { state, history, ends } = await train({ method: 'modo', gamma: 0.5 }, { batchSize: 32 });
    const batches = ends[0].batches;
    assert.equal(batches, 9, 'penguins: 258 training rows in batches of 32');
    const steps = Math.ceil(batches / 3);
    assert.equal(state.step, 4 * steps, 'one weight update per three batches');
    assert.deepEqual(
      ends.filter((e) => e.epoch === 1).map((e) => e.batch),
      [3, 6, 9],
    );
    const lambda = state.lambda!;
    assert.ok(lambda.every((l) => l >= 0) && Math.abs(lambda.reduce((a, b) => a + b, 0) - 1) < 1e-12, `λ = ${lambda}`);
    assert.ok(Math.max(...lambda) - Math.min(...lambda) > 0.05, `λ moved from uniform: ${lambda}`);
    for (const e of history) assert.ok(Number.isFinite(e.train.loss) && e.update !== undefined, `epoch ${e.epoch}`);
    assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind');
  });

  it("an epoch's short last group reuses its batches: 10 batches make 4 steps, the epoch still ends at batch 10", async () => {
    const { state, ends } = await train({ method: 'modo' }, { batchSize: 26 });
    assert.equal(ends[0].batches, 10);
    assert.deepEqual(
      ends.filter((e) => e.epoch === 2).map((e) => e.batch),
      [3, 6, 9, 10],
    );
    assert.equal(state.step, 4 * 4);
  });

  it('sdmgrad: three batches per step too; its weights stay on the simplex and the sum-scale weights follow (T·w + λ)/(1 + λ)', async () => {
    const config = readConfigFile(PENGUINS_CONFIG);
    config.training = { ...(config.training as object), epochs: 2, earlyStopping: false, batchSize: 32 };
    config.balance = { method: 'sdmgrad', lambda: 0.3 };
    const model = await trainFromConfig(config);
    const state = (model.meta.balance.state as { aggregator: { step: number; weights: number[] } }).aggregator;
    const update = model.meta.history.at(-1)!.update!;
    model.dispose();
    assert.equal(state.step, 2 * 3);
    assert.ok(state.weights.every((w) => w >= 0) && Math.abs(state.weights.reduce((a, b) => a + b, 0) - 1) < 1e-12, `w = ${state.weights}`);
    assert.ok(Object.keys(update).length === 3, 'per-head update figures');
  });

  it("every batch of a step counts once in the epoch's figures: with the weights frozen, the epoch's losses and metrics are static's", async () => {
    // learningRate 1e-30: Adam's steps vanish below float32 rounding, so both runs see the same model on
    // the same rows in the same order (the epoch's order is drawn before any step).
    const frozen = { batchSize: 32, epochs: 1, learningRate: 1e-30 };
    const modo = await train({ method: 'modo' }, frozen);
    const plain = await train({ method: 'static' }, frozen);
    for (const [name, head] of Object.entries(plain.history[0].train.heads)) {
      const got = modo.history[0].train.heads[name];
      assert.ok(Math.abs(got.loss - head.loss) <= 1e-6 * Math.abs(head.loss), `${name}: loss ${got.loss} vs ${head.loss}`);
      assert.deepEqual(got.metrics, head.metrics, name);
    }
  });

  it('is refused in rep mode (the rows of different batches are different samples)', async () => {
    await assert.rejects(train({ method: 'modo', mode: 'rep' }, {}), /balance\.mode: method "modo" is not valid in mode "rep"; valid: param/);
  });
});
