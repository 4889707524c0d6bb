import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { isMultilossError } from '../../src/errors.js';
import { subsetImages, type ImageSet } from '../../src/data/images/dataset.js';
import { evaluateImages, fitImageModel } from '../../src/training/fit-images.js';
import { predictImageOutputs, predictImages } from '../../src/model/images.js';
import { buildMultiMnist, CANVAS, composeCanvas, DIGIT, type MultiMnist } from '../../src/data/images/multimnist.js';
import { resizeBilinear } from '../../src/data/images/pixels.js';
import { loadMnistDigits } from '../../src/io/image-files.js';
import { loadModel, saveModel } from '../../src/io/model-dir.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { multiMnistConfig } from '../../examples/multimnist/lenet.js';
import { tempDir, useDefaultBackend } from '../helpers.js';

describe('MultiMNIST', () => {
  let data: MultiMnist;
  before(() => {
    data = buildMultiMnist(loadMnistDigits(), { train: 2000, test: 500, seed: 0 });
  });

  it('composes 28×28×1 images with left and right digit labels 0–9', () => {
    for (const set of [data.train, data.test]) {
      assert.deepEqual(set.shape, [28, 28, 1]);
      assert.equal(set.x.length, set.n * 784);
      assert.ok(set.x.every((v) => v >= 0 && v <= 1));
      for (const head of ['left', 'right']) {
        assert.equal(set.labels[head].length, set.n);
        assert.deepEqual([...new Set(set.labels[head])].sort(), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      }
    }
    assert.equal(data.train.n, 2000);
    assert.equal(data.test.n, 500);
  });

  it('train and test images come from disjoint digit sets', () => {
    const train = new Set(data.trainDigits);
    assert.ok(data.testDigits.length > 0 && train.size > 0);
    assert.ok(data.testDigits.every((d) => !train.has(d)));
  });

  it('is deterministic for a seed', () => {
    const again = buildMultiMnist(loadMnistDigits(), { train: 2000, test: 500, seed: 0 });
    assert.deepEqual(again.train.labels, data.train.labels);
    assert.deepEqual(again.test.x, data.test.x);
  });

  it('puts the left digit at the top-left and the right digit at the bottom-right of a 36×36 canvas, then resizes to 28×28', () => {
    const left = new Float32Array(DIGIT * DIGIT).fill(0.25);
    const right = new Float32Array(DIGIT * DIGIT).fill(0.75);
    const canvas = composeCanvas(left, right);
    const at = (y: number, x: number) => canvas[y * CANVAS + x];
    assert.equal(at(0, 0), 0.25);
    assert.equal(at(7, 7), 0.25);
    assert.equal(at(8, 8), 0.75); // overlap: the brighter pixel
    assert.equal(at(35, 35), 0.75);
    assert.equal(at(0, 35), 0);
    assert.equal(at(35, 0), 0);
    const flat = resizeBilinear(new Float32Array(36 * 36).fill(0.5), [36, 36, 1], [28, 28]);
    assert.ok(flat.every((v) => Math.abs(v - 0.5) < 1e-6));
  });
});

describe('conv trunks on images', () => {
  let data: MultiMnist;
  before(async () => {
    await useDefaultBackend();
    data = buildMultiMnist(loadMnistDigits(), { train: 2000, test: 500, seed: 0 });
  });

  it('a small MultiMNIST run (2,000 images, 2 epochs, LeNet) is clearly better than chance on both heads', async () => {
    const config = resolveConfig(parseConfig({ ...multiMnistConfig({ epochs: 2, seed: 1 }), training: { epochs: 2, batchSize: 64, learningRate: 2e-3, seed: 1, trainMetrics: false } }));
    const model = await fitImageModel(config, data.train);
    const ev = evaluateImages(model, data.test);
    const left = ev.heads.left.metrics.accuracy as number;
    const right = ev.heads.right.metrics.accuracy as number;
    assert.ok(left > 0.3 && right > 0.3, `test accuracy left ${left}, right ${right} (chance 0.1)`);
    model.dispose();
  });

  describe('an image model saves, loads and predicts', () => {
    let model: MultilossModel;
    let test: ImageSet;
    const dir = join(tempDir(), 'img');
    before(async () => {
      const train = subsetImages(data.train, Array.from({ length: 256 }, (_, i) => i));
      test = subsetImages(data.test, Array.from({ length: 40 }, (_, i) => i));
      const raw = {
        ...multiMnistConfig({ epochs: 1 }),
        model: { trunk: [{ type: 'conv', filters: 4, kernel: 3, stride: 2, batchNorm: true, pool: { type: 'avg', size: 2 } }, { type: 'conv', filters: 6, globalPool: 'max', dropout: 0.1 }] },
        architecture: { kind: 'shared', towers: [8] },
        validation: { split: 0.25 },
      };
      model = await fitImageModel(resolveConfig(parseConfig(raw)), train);
      await saveModel(model, dir);
    });

    it('loadModel → predictImages gives identical outputs', async () => {
      const loaded = await loadModel(dir);
      const a = predictImageOutputs(model, test);
      const b = predictImageOutputs(loaded, test);
      a.forEach((x, i) => assert.deepEqual(b[i], x));
      assert.deepEqual(predictImages(loaded, test), predictImages(model, test));
      // The flat-pixel preprocessing path of MultilossModel gives the same outputs too.
      const rows = Array.from({ length: test.n }, (_, r) => Object.fromEntries(Array.from(test.x.subarray(r * 784, (r + 1) * 784), (v, i) => [`pixel_${i}`, v])));
      loaded.predictOutputs(rows).forEach((x, i) => assert.deepEqual(x, a[i]));
      loaded.dispose();
    });

    it('plain tfjs loads the saved network and gives the same outputs on N×28×28×1 input', async () => {
      const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      const weights = readFileSync(join(dir, modelJson.weightsManifest[0].paths[0]));
      const plain = await tfl.loadLayersModel(
        tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) }),
      );
      const outs = plain.predict(tf.tensor4d(test.x, [test.n, 28, 28, 1])) as tf.Tensor[];
      const ours = predictImageOutputs(model, test);
      outs.forEach((t, i) => t.dataSync().forEach((v, k) => assert.ok(Math.abs(v - ours[i][k]) < 1e-5, `${v} vs ${ours[i][k]}`)));
      tf.dispose(outs);
      plain.dispose();
    });

    it('an image of the wrong size or channel count is a clear one-line error', () => {
      const check = (re: RegExp) => (e: unknown) => isMultilossError(e) && e.kind === 'data' && re.test(e.message) && !e.message.includes('\n');
      assert.throws(
        () => predictImages(model, { n: 1, shape: [28, 28, 3], x: new Float32Array(28 * 28 * 3), source: 'rgb.png' }),
        check(/^rgb\.png: images of shape 28×28×3 \(height×width×channels\) do not fit this model's input 28×28×1: 3 channel\(s\); the model expects 1$/),
      );
      assert.throws(() => predictImages(model, { n: 1, shape: [32, 32, 1], x: new Float32Array(32 * 32), source: 'big' }), check(/size 32×32; the model expects 28×28$/));
    });
  });

  for (const [kind, architecture, balance] of [
    ['mmoe with conv experts', { kind: 'mmoe', experts: 2, expertLayers: [{ type: 'conv', filters: 4, pool: 'max' }, 16] }, { method: 'pcgrad', mode: 'param' }],
    ['cross-stitch with conv columns', { kind: 'cross-stitch', columnLayers: [{ type: 'conv', filters: 4, pool: 'max' }, { type: 'conv', filters: 4, pool: 'max' }, 16] }, { method: 'mgda', mode: 'rep' }],
    ['ple with conv experts', { kind: 'ple', levels: 2, expertLayers: [{ type: 'conv', filters: 4, stride: 2 }, 12] }, { method: 'gradnorm' }],
  ] as const) {
    it(`${kind} trains (${balance.method}) and matches plain tfjs`, async () => {
      const train = subsetImages(data.train, Array.from({ length: 128 }, (_, i) => i));
      const model = await fitImageModel(resolveConfig(parseConfig({ ...multiMnistConfig({ epochs: 1, balance }), architecture, training: { epochs: 1, batchSize: 32, seed: 2 } })), train);
      for (const h of Object.values(model.meta.history[0].train.heads)) assert.ok(Number.isFinite(h.loss));
      const dir = join(tempDir(), 'm');
      await saveModel(model, dir);
      const loaded = await loadModel(dir);
      const test = subsetImages(data.test, [0, 1, 2, 3, 4]);
      const a = predictImageOutputs(model, test);
      predictImageOutputs(loaded, test).forEach((x, i) => assert.deepEqual(x, a[i]));
      const outs = loaded.network.model.predict(tf.tensor4d(test.x, [5, 28, 28, 1])) as tf.Tensor[];
      outs.forEach((t, i) => t.dataSync().forEach((v, k) => assert.ok(Math.abs(v - a[i][k]) < 1e-5)));
      tf.dispose(outs);
      loaded.dispose();
      model.dispose();
    });
  }
});
