import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { trainFunctionModel, trainLayersModel, type ArrayData, type FunctionModel, type HeadConfig } from '../../src/api/index.js';
import { useDefaultBackend } from '../helpers.js';
import { handBuiltModel, penguinArrays, penguinConfig, registerCustomParts, weightValues } from './fixtures.js';

const HEADS: Record<string, HeadConfig> = {
  species: { kind: 'classification', classes: ['Adelie', 'Chinstrap', 'Gentoo'] },
  sex: { kind: 'binary', classes: ['FEMALE', 'MALE'] },
  mass: { kind: 'regression', loss: 'scaled_huber' },
};

/**
 * The hand-built network written as tfjs-core code, on copies of its initial
 * weights: the same ops (matMul + bias + activation) in the same order.
 */
function asFunctionModel(weights: tf.Tensor[], split: boolean): { model: FunctionModel; variables: tf.Variable[] } {
  const v = weights.map((w) => tf.variable(tf.clone(w)));
  const [k0, b0, k1, b1, ks, bs, kx, bx, km, bm] = v;
  const trunk = (x: tf.Tensor) => tf.tanh(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, k0 as tf.Tensor2D), b0)) as tf.Tensor2D, k1 as tf.Tensor2D), b1));
  const dense = (k: tf.Variable, b: tf.Variable) => (rep: tf.Tensor) => tf.add(tf.matMul(rep as tf.Tensor2D, k as tf.Tensor2D), b);
  const heads = { species: dense(ks, bs), sex: dense(kx, bx), mass: dense(km, bm) };
  const variables = { shared: [k0, b0, k1, b1], heads: { species: [ks, bs], sex: [kx, bx], mass: [km, bm] } };
  const model: FunctionModel = split
    ? { trunk, heads, variables }
    : {
        forward: (x) => {
          const rep = trunk(x);
          return { species: heads.species(rep), sex: heads.sex(rep), mass: heads.mass(rep) };
        },
        variables,
      };
  return { model, variables: v };
}

describe('trainFunctionModel: a model as tfjs-core code plus its variables', () => {
  let data: ArrayData;
  let inputSize: number;
  before(async () => {
    await useDefaultBackend();
    registerCustomParts();
    const { train } = penguinArrays(penguinConfig({ method: 'static' }));
    inputSize = train.inputSize;
    data = { xs: train.x, ys: { species: train.species, sex: train.sex, mass: train.mass } };
  });

  for (const balance of ['uncertainty', 'pcgrad:rep', 'pcgrad'] as const) {
    it(`${balance}: trunk + heads train to the same weights as the equivalent LayersModel`, async () => {
      const training = { epochs: 2, batchSize: 32, learningRate: 0.01, seed: 4, diagnostics: balance === 'uncertainty' };
      const layers = handBuiltModel(inputSize, 9);
      const fn = asFunctionModel(layers.getWeights(), true);
      const a = await trainLayersModel(layers, { heads: HEADS, balance, training }, data);
      const b = await trainFunctionModel(fn.model, { heads: HEADS, balance, training }, data);
      assert.deepEqual(b.history.map((e) => e.train.loss), a.history.map((e) => e.train.loss));
      if (balance === 'uncertainty') assert.ok(b.history[1].diagnostics?.gradNorm.mass, 'diagnostics at the representation');
      const expected = weightValues(layers);
      fn.variables.forEach((v, i) => assert.deepEqual(Float32Array.from(v.dataSync()), expected[i], `variable ${i}`));
      const predicted = b.predict(tf.tensor2d((data.xs as Float32Array).slice(0, 3 * inputSize), [3, inputSize]));
      const sums = (tf.sum(predicted.species, 1).dataSync() as Float32Array).map((s) => Math.round(s * 1e4) / 1e4);
      assert.deepEqual(Array.from(sums), [1, 1, 1], 'predict applies the softmax');
      tf.dispose([...Object.values(predicted), ...fn.variables]);
      layers.dispose();
    });
  }

  it("forward-only: 'param' gradient methods and loss-based methods train (same weights as trunk + heads)", async () => {
    const training = { epochs: 2, batchSize: 32, learningRate: 0.01, seed: 4 };
    const start = handBuiltModel(inputSize, 9);
    const split = asFunctionModel(start.getWeights(), true);
    const whole = asFunctionModel(start.getWeights(), false);
    await trainFunctionModel(split.model, { heads: HEADS, balance: 'pcgrad', training }, data);
    const r = await trainFunctionModel(whole.model, { heads: HEADS, balance: 'pcgrad', training }, data);
    assert.equal(r.epochs, 2);
    whole.variables.forEach((v, i) => assert.deepEqual(v.dataSync(), split.variables[i].dataSync()));
    tf.dispose([...split.variables, ...whole.variables]);
    start.dispose();
  });
});
