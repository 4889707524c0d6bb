import { tableRows } from '../../src/data/table-build.js';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  registerBalancingMethod,
  registerHeadKind,
  registerMetric,
  trainLayersModel,
  type GradientBalancer,
  type LossBalancer,
  type StreamingMetric,
} from '../../src/api/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { registerLoss } from '../../src/api/index.js';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { MultilossError } from '../../src/errors.js';
import { readConfigFile } from '../../src/io/config-file.js';
import { readTableFile } from '../../src/io/table-file.js';
import { fitModel } from '../../src/training/fit.js';
import { useDefaultBackend } from '../helpers.js';
import { handBuiltModel, penguinArrays, penguinConfig, registerCustomParts, weightValues } from './fixtures.js';

/** Mean absolute error in percentage points (outputs and labels are fractions). */
class PointsError implements StreamingMetric {
  readonly name = 'points_error';
  readonly higherIsBetter = false;
  private sum = 0;
  private n = 0;
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array): void {
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      this.sum += Math.abs(yTrue[i] - yPred[i]) * 100;
      this.n++;
    }
  }
  result(): number {
    return this.n ? this.sum / this.n : NaN;
  }
  reset(): void {
    this.sum = 0;
    this.n = 0;
  }
}

/** A gradient method written by a user: the plain sum of the heads' gradients, every weight 1. */
function plainSum(): GradientBalancer {
  return {
    kind: 'gradient',
    name: 'plain_sum',
    mode: 'param',
    combineGradients(grads, tasks, dim) {
      const direction = new Float32Array(dim);
      for (let t = 0; t < tasks; t++) for (let j = 0; j < dim; j++) direction[j] += grads[t * dim + j];
      return { direction, weights: new Float64Array(tasks).fill(1) };
    },
    getState: () => ({}),
    setState: () => undefined,
  };
}

/** A loss-based method written by a user: weights ∝ 1 / (running mean loss), summing to T. */
function inverseLoss(heads: readonly { name: string }[], options: Record<string, unknown>): LossBalancer {
  const beta = (options.beta as number | undefined) ?? 0.9;
  let mean: number[] = heads.map(() => 1);
  const weights = () => {
    const inv = mean.map((m) => 1 / Math.max(m, 1e-3));
    const s = inv.reduce((a, b) => a + b, 0);
    return inv.map((w) => (w * heads.length) / s);
  };
  return {
    kind: 'loss',
    name: 'inverse_loss',
    combine(losses) {
      const w = tf.tensor1d(weights());
      return { total: tf.sum(tf.mul(tf.stack(losses), w)) as tf.Scalar, weights: w };
    },
    afterStep(feedback) {
      mean = mean.map((m, t) => beta * m + (1 - beta) * feedback.losses[t]);
    },
    variables: () => [],
    getState: () => ({ mean }),
    setState: (s) => void (mean = s.mean as number[]),
  };
}

describe('custom parts registered by name: library heads and config-built models use them', () => {
  before(async () => {
    await useDefaultBackend();
    registerCustomParts();
    registerMetric('points_error', () => new PointsError());
    registerHeadKind({
      kind: 'fraction',
      activation: 'sigmoid',
      loss: 'binary_crossentropy',
      metrics: ['points_error'],
      decode: (output, row) => ({ percent: Math.round(output[row] * 1000) / 10 }),
    });
    registerBalancingMethod('plain_sum', () => plainSum());
    registerBalancingMethod('inverse_loss', (heads, options) => inverseLoss(heads, options));
  });

  it('a registered head kind trains a sigmoid output on fractions, with its metric and decoding', async () => {
    const input = tfl.input({ shape: [2] });
    const h = tfl.layers.dense({ units: 8, activation: 'tanh', name: 'shared' }).apply(input) as tfl.SymbolicTensor;
    const share = tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'share' }).apply(h) as tfl.SymbolicTensor;
    const big = tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'big' }).apply(h) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: [share, big] });
    const xs = Array.from({ length: 120 }, (_, i) => [Math.cos(i), Math.sin(i * 0.7)]);
    const ys = { share: xs.map(([a]) => (a + 1) / 2), big: xs.map(([, b]) => (b > 0 ? 1 : 0)) };
    const result = await trainLayersModel(model, { heads: { share: { kind: 'fraction' }, big: { kind: 'binary' } }, balance: 'inverse_loss', training: { epochs: 30, batchSize: 16, learningRate: 0.03, seed: 1 } }, { xs, ys });
    const first = result.history[0].train.heads.share;
    const last = result.history.at(-1)?.train.heads.share;
    assert.ok(last && last.metrics.points_error < first.metrics.points_error, `points error fell: ${first.metrics.points_error} → ${last?.metrics.points_error}`);
    assert.ok(last.metrics.points_error < 15);
    const w = result.history.at(-1)?.train.heads;
    assert.ok(w && Math.abs(w.share.weight + w.big.weight - 2) < 1e-4, 'the custom balancer\'s weights are logged');
    assert.deepEqual(Object.keys(result.balancing.state), ['mean']);
    const out = result.predict(tf.tensor2d([[1, 0]]));
    const decoded = result.heads[0].decode(out.share.dataSync() as Float32Array, 0) as unknown as { percent: number };
    assert.ok(decoded.percent > 70, `decoded ${JSON.stringify(decoded)}`);
    tf.dispose(Object.values(out));
    model.dispose();
  });

  it('config-built models use registered losses, metrics, head kinds and balancing methods', async () => {
    // The loss `scaled_huber` and the metric `median_ae` (for regression heads) are registered by name only.
    const config = penguinConfig({ method: 'plain_sum' }, { epochs: 2 });
    const { tables } = penguinArrays(config);
    const viaConfig = await fitModel(config, { table: tables.train, validation: tables.validation });
    assert.equal(viaConfig.meta.balance.method, 'plain_sum');
    assert.ok(Number.isFinite(viaConfig.meta.history[1].validation?.heads.mass.metrics.median_ae ?? NaN));
    assert.equal(viaConfig.heads[2].loss.name, 'scaled_huber');

    // A registered head kind through a programmatic (already resolved) configuration.
    const custom = penguinConfig({ method: 'inverse_loss', beta: 0.5 }, { epochs: 1 });
    custom.heads = [custom.heads[0], { name: 'flipper', column: 'Flipper Length (mm)', kind: 'fraction' as never }];
    custom.features = custom.features?.filter((f) => f.name !== 'Flipper Length (mm)');
    const table = { ...tables.train, rows: tableRows(tables.train).map((r) => r.map((c, i) => (i === tables.train.columns.indexOf('Flipper Length (mm)') && typeof c === 'number' ? (c - 170) / 70 : c))) };
    const m = await fitModel(custom, { table });
    assert.equal(m.heads[1].kind, 'fraction');
    assert.ok(Number.isFinite(m.meta.history[0].train.heads.flipper.metrics.points_error));
    viaConfig.dispose();
    m.dispose();
  });

  it('a YAML config file names a registered head kind, and passes its lossOptions to a registered loss', async () => {
    // A user loss with an option: a Huber loss whose δ comes from the config (checked by the loss itself).
    let seenDelta: unknown;
    registerLoss(
      'config_huber',
      (yTrue, yPred, options) => {
        seenDelta = options.delta;
        const delta = options.delta as number;
        const err = tf.abs(tf.sub(yPred, yTrue));
        const quad = tf.minimum(err, delta);
        return tf.reshape(tf.add(tf.mul(0.5, tf.square(quad)), tf.mul(delta, tf.sub(err, quad))), [-1]);
      },
      { validateOptions: (o) => (typeof o.delta === 'number' && o.delta > 0 ? undefined : 'delta must be a positive number') },
    );
    const dir = mkdtempSync(join(tmpdir(), 'multiloss-yaml-registered-'));
    try {
      const yaml = (lossOptions: string, kind = 'fraction') => `
data: ${JSON.stringify(resolve('data/penguins.json'))}
missingValues: ["."]
features: [Island, "Beak Length (mm)", "Beak Depth (mm)"]
targets:
  - { name: species, column: Species, kind: classification }
  - { name: flipper, column: "Flipper Length (mm)", kind: ${kind} }
  - { name: mass, column: "Body Mass (g)", kind: regression, loss: config_huber, lossOptions: ${lossOptions} }
model: { trunk: [8] }
training: { epochs: 1, batchSize: 32, seed: 3 }
`;
      const load = (lossOptions: string, kind?: string) => {
        const path = join(dir, 'run.yaml');
        writeFileSync(path, yaml(lossOptions, kind));
        return resolveConfig(parseConfig(readConfigFile(path), path));
      };
      const config = load('{ delta: 0.25, note: "any JSON goes to a registered loss" }');
      assert.equal(config.heads[1].kind, 'fraction');
      const table = readTableFile(resolve('data/penguins.json'));
      const col = table.columns.indexOf('Flipper Length (mm)');
      // The fraction head wants values in [0, 1].
      const scaled = { ...table, rows: tableRows(table).map((r) => r.map((c, i) => (i === col && typeof c === 'number' ? (c - 170) / 70 : c))) };
      const model = await fitModel(config, { table: scaled });
      assert.equal(model.heads[1].kind, 'fraction');
      assert.equal(model.heads[2].loss.name, 'config_huber');
      assert.equal(seenDelta, 0.25);
      assert.ok(Number.isFinite(model.meta.history[0].train.heads.mass.loss));
      model.dispose();

      // Bad input: an unknown kind lists the registered ones; options a loss does not take are named.
      // One line naming the file and the option, listing the built-in kinds and the registered ones.
      assert.throws(
        () => load('{ delta: 1 }', 'fractoin'),
        (e: unknown) =>
          e instanceof MultilossError &&
          !e.message.includes('\n') &&
          e.message.startsWith(`${join(dir, 'run.yaml')}: targets[1].kind: unknown head kind "fractoin"; valid kinds: classification, binary, multilabel, regression, count, `) &&
          e.message.split('valid kinds: ')[1].split(', ').includes('fraction'),
      );
      await assert.rejects(fitModel(load('{ delta: -1 }'), { table: scaled }), (e: unknown) => e instanceof MultilossError && /head "mass": lossOptions for loss "config_huber": delta must be a positive number/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a built-in loss refuses lossOptions it does not take, naming the option and what it takes', () => {
    assert.throws(
      () => parseConfig({ data: 'x.csv', targets: [{ name: 'm', kind: 'regression', loss: 'mse', lossOptions: { deltaa: 1 } }] }),
      (e: unknown) => e instanceof MultilossError && /lossOptions/.test(e.message) && /deltaa/.test(e.message),
    );
    const config = resolveConfig(parseConfig({ data: 'x.csv', targets: [{ name: 'm', kind: 'regression', loss: 'mse', lossOptions: { delta: 1 } }] }));
    const table = { source: 'rows.csv', columns: ['a', 'm'], rows: Array.from({ length: 8 }, (_, i) => [i, i * 2]) };
    return assert.rejects(fitModel(config, { table }), (e: unknown) => e instanceof MultilossError && e.message.includes('head "m": lossOptions.delta is not an option of loss "mse"; it takes no options'));
  });

  it('a registered gradient method gets each head\'s gradient rows: the plain sum matches static weights of 1', async () => {
    const { train } = penguinArrays(penguinConfig({ method: 'static' }));
    const heads = {
      species: { kind: 'classification', classes: ['Adelie', 'Chinstrap', 'Gentoo'] },
      sex: { kind: 'binary', classes: ['FEMALE', 'MALE'] },
      mass: { kind: 'regression' },
    };
    const data = { xs: train.x, ys: { species: train.species, sex: train.sex, mass: train.mass } };
    const training = { epochs: 2, batchSize: 32, learningRate: 0.01, seed: 3 };
    const a = handBuiltModel(train.inputSize, 5);
    const b = handBuiltModel(train.inputSize, 5);
    await trainLayersModel(a, { heads, balance: 'plain_sum', training }, data);
    await trainLayersModel(b, { heads, balance: 'static', training }, data);
    const wb = weightValues(b);
    weightValues(a).forEach((w, i) => w.forEach((v, k) => assert.ok(Math.abs(v - wb[i][k]) < 1e-4, `weight ${i}[${k}]: ${v} vs ${wb[i][k]}`)));
    a.dispose();
    b.dispose();
  });
});
