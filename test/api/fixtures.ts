import { tableRows } from '../../src/data/table-build.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import { FeaturePreprocessor } from '../../src/data/preprocess.js';
import type { Table } from '../../src/data/table.js';
import { splitInput } from '../../src/training/fit.js';
import { Rng } from '../../src/util/rng.js';
import { registerLoss } from '../../src/losses/index.js';
import { registerMetric, type StreamingMetric } from '../../src/metrics/index.js';
import { penguins } from '../helpers.js';

export const FEATURES = ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)'];
export const TRUNK = [
  { units: 16, activation: 'relu' as const },
  { units: 8, activation: 'tanh' as const },
];

/** A Huber-like loss with δ = 0.5, written by a user: per-sample, from the raw output. */
export function scaledHuber(yTrue: tf.Tensor2D, yPred: tf.Tensor2D): tf.Tensor {
  const err = tf.abs(tf.sub(yPred, yTrue));
  const quad = tf.minimum(err, 0.5);
  return tf.reshape(tf.add(tf.mul(0.5, tf.square(quad)), tf.mul(0.5, tf.sub(err, quad))), [-1]);
}

/** Median absolute error: streaming, exact (keeps every error), not an average of batch figures. */
export class MedianAbsoluteError implements StreamingMetric {
  readonly name = 'median_ae';
  readonly higherIsBetter = false;
  private errors: number[] = [];
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array): void {
    for (let i = 0; i < mask.length; i++) if (mask[i]) this.errors.push(Math.abs(yTrue[i] - yPred[i]));
  }
  result(): number {
    if (!this.errors.length) return NaN;
    const s = [...this.errors].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }
  reset(): void {
    this.errors = [];
  }
}

/** Brier score of a binary head: mean squared error of the probability. */
export class Brier implements StreamingMetric {
  readonly name = 'brier';
  readonly higherIsBetter = false;
  private sum = 0;
  private n = 0;
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array): void {
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      this.sum += (yPred[i] - yTrue[i]) ** 2;
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

export function registerCustomParts(): void {
  registerLoss('scaled_huber', scaledHuber);
  registerMetric('median_ae', () => new MedianAbsoluteError(), { kinds: ['regression'] });
  registerMetric('brier', () => new Brier());
}

/** The training settings of the comparisons (a config file's `training:` and the API's `training` alike). */
export const TRAINING = { epochs: 4, batchSize: 32, learningRate: 0.01, seed: 7 };

export function penguinConfig(balance: Record<string, unknown>, training: Record<string, unknown> = {}, trunk: readonly Record<string, unknown>[] = TRUNK): ResolvedConfig {
  return resolveConfig(
    parseConfig({
      missingValues: ['.'],
      features: FEATURES,
      targets: [
        { name: 'species', column: 'Species', kind: 'classification' },
        { name: 'sex', column: 'Sex', kind: 'binary' },
        { name: 'mass', column: 'Body Mass (g)', kind: 'regression', loss: 'scaled_huber' },
      ],
      validation: { split: 0.25 },
      model: { trunk },
      training: { ...TRAINING, ...training },
      balance,
    }),
  );
}

export interface PenguinArrays {
  x: Float32Array;
  n: number;
  inputSize: number;
  species: (string | null)[];
  sex: (string | null)[];
  mass: (number | null)[];
}

/** The CLI's split and feature preprocessing of the penguins, as arrays for the API. */
export function penguinArrays(config: ResolvedConfig): { train: PenguinArrays; validation: PenguinArrays; tables: { train: Table; validation: Table } } {
  const { train, validation } = splitInput(config, { table: penguins() });
  if (!validation) throw new Error('expected a validation split');
  const pre = FeaturePreprocessor.fit(train, FEATURES.map((name) => ({ name })));
  const arrays = (t: Table): PenguinArrays => {
    const col = (name: string) => t.columns.indexOf(name);
    const str = (name: string) => tableRows(t).map((r) => (r[col(name)] === null ? null : String(r[col(name)])));
    return {
      x: pre.transform(t),
      n: t.length,
      inputSize: pre.outputSize,
      species: str('Species'),
      sex: str('Sex'),
      mass: tableRows(t).map((r) => (r[col('Body Mass (g)')] === null ? null : Number(r[col('Body Mass (g)')]))),
    };
  };
  return { train: arrays(train), validation: arrays(validation), tables: { train, validation } };
}

/**
 * A functional model built by hand with tfjs-layers: two shared dense layers
 * and three outputs (3-way softmax, sigmoid, linear), with the layer names and
 * seeded initialisers MultiHeadNetwork.create uses for the same trunk and seed.
 */
export function handBuiltModel(inputSize: number, seed: number): tfl.LayersModel {
  const rng = new Rng(seed);
  const input = tfl.input({ shape: [inputSize], name: 'features' });
  let h: tfl.SymbolicTensor = input;
  TRUNK.forEach((b, i) => {
    h = tfl.layers.dense({ units: b.units, activation: b.activation, kernelInitializer: tfl.initializers.glorotUniform({ seed: rng.seed() }), name: `trunk_dense_${i}` }).apply(h) as tfl.SymbolicTensor;
  });
  const head = (name: string, units: number, activation: 'softmax' | 'sigmoid' | 'linear') => {
    const dense = tfl.layers.dense({ units, kernelInitializer: tfl.initializers.glorotUniform({ seed: rng.seed() }), name: `head_${name}_dense` });
    return tfl.layers.activation({ activation, name }).apply(dense.apply(h)) as tfl.SymbolicTensor;
  };
  const outputs = [head('species', 3, 'softmax'), head('sex', 1, 'sigmoid'), head('mass', 1, 'linear')];
  return tfl.model({ inputs: input, outputs, name: 'hand_built' });
}

/** Every weight as plain numbers, by position. */
export function weightValues(model: { getWeights(): tf.Tensor[] }): Float32Array[] {
  return model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
}
