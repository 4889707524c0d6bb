import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadModel, saveModel } from '../../src/io/model-dir.js';
import { trainFromConfig } from '../../src/io/train-from-config.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { penguins, PENGUINS_CONFIG, tempDir, useDefaultBackend } from '../helpers.js';
import { readConfigFile } from '../../src/io/config-file.js';

describe('save, load, predict', () => {
  let model: MultilossModel;
  const dir = join(tempDir(), 'm');
  const rows = penguins();

  before(async () => {
    await useDefaultBackend();
    const config = readConfigFile(PENGUINS_CONFIG);
    config.training = { ...(config.training as object), epochs: 5 };
    model = await trainFromConfig(config);
    await saveModel(model, dir);
  });

  it('train → save → load → predict gives identical outputs', async () => {
    const loaded = await loadModel(dir);
    assert.deepEqual(loaded.predict(rows), model.predict(rows));
    const a = model.predictOutputs(rows);
    const b = loaded.predictOutputs(rows);
    a.forEach((x, i) => assert.deepEqual(b[i], x));
    loaded.dispose();
  });

  it('the saved network loads with plain tfjs and gives the same raw outputs', async () => {
    const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const weights = readFileSync(join(dir, modelJson.weightsManifest[0].paths[0]));
    const plain = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0].weights,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      }),
    );
    assert.deepEqual(plain.outputNames, ['species', 'sex', 'body_mass_g']);
    const { x } = model.encodeFeatures(rows);
    const outs = plain.predict(tf.tensor2d(x, [rows.length, model.preprocessor.outputSize])) as tf.Tensor[];
    const ours = model.predictOutputs(rows);
    outs.forEach((t, i) => {
      const v = t.dataSync();
      assert.equal(v.length, ours[i].length);
      for (let k = 0; k < v.length; k++) assert.ok(Math.abs(v[k] - ours[i][k]) <= 1e-6, `output ${i}[${k}]: ${v[k]} vs ${ours[i][k]}`);
    });
    tf.dispose(outs);
    plain.dispose();
  });

  it('multiloss.json records heads, encoders, preprocessing, config, metrics and version', () => {
    const meta = JSON.parse(readFileSync(join(dir, 'multiloss.json'), 'utf8'));
    assert.equal(meta.format, 'multiloss');
    assert.equal(meta.formatVersion, 1);
    assert.equal(typeof meta.libraryVersion, 'string');
    assert.deepEqual(meta.heads.map((h: { spec: { name: string } }) => h.spec.name), ['species', 'sex', 'body_mass_g']);
    assert.deepEqual(meta.heads[0].classes, ['Adelie', 'Chinstrap', 'Gentoo']);
    assert.ok(meta.heads[2].mean > 3000 && meta.heads[2].std > 100);
    assert.equal(meta.preprocessing.features.length, 4);
    assert.equal(meta.config.training.epochs, 5);
    assert.ok(meta.metrics.validation.heads.species);
    assert.equal(meta.history.length, 5);
  });

  it('saving over an existing model replaces it whole and leaves no temporary files', async () => {
    await saveModel(model, dir);
    const { readdirSync } = await import('node:fs');
    const parent = join(dir, '..');
    assert.deepEqual(readdirSync(parent), ['m']);
    assert.deepEqual(readdirSync(dir).sort(), ['model.json', 'multiloss.json', 'weights.bin']);
  });
});
