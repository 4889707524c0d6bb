import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { evaluateImages, fitSeparateImages, imageInputSpecOf, imageReadOptions, isImageModel, parseConfig, predictImages, readImageSource, resolveConfig, streamImageFolder, trainFromConfig } from '../../src/index.js';
import { tempDir, useDefaultBackend } from '../helpers.js';
import { writeImageFolder } from './image-folder.js';

const dir = tempDir('multiloss-images-lib-');
writeImageFolder(join(dir, 'train'), { n: 64, missingHorizontal: (i) => i % 4 === 0 });
writeImageFolder(join(dir, 'held'), { n: 16, seed: 4 });
const TARGETS = 'targets:\n  - { name: vertical, kind: classification }\n  - { name: horizontal, kind: classification }\n';

describe('image sources through the library', () => {
  before(useDefaultBackend);

  it('trainFromConfig reads data and validation.data image folders relative to the config file', async () => {
    const config = join(dir, 'held.yaml');
    writeFileSync(config, `data: { images: train, labels: train/labels.csv, channels: 1 }\nvalidation: { data: { images: held, labels: held/labels.csv, channels: 1 } }\n${TARGETS}training: { epochs: 2, seed: 1 }\n`);
    const model = await trainFromConfig(config);
    try {
      assert.ok(isImageModel(model));
      assert.deepEqual(imageInputSpecOf(model), { source: 'folder' });
      // The pixel preparation is recorded once, in meta.images (not in the configuration's image spec).
      assert.deepEqual(imageReadOptions(model), { channels: 1, scale: 'unit' });
      // Validated on the 16 held-out images every epoch.
      assert.equal(model.meta.history.length, 2);
      assert.ok(model.meta.history.every((e) => e.validation !== undefined));
      assert.deepEqual(evaluateImages(model, readImageSource({ images: join(dir, 'held'), labels: join(dir, 'held', 'labels.csv'), channels: 1 })).labelled, { vertical: 16, horizontal: 16 });
    } finally {
      model.dispose();
    }
  });

  it('validation.data must be images when the training data are', async () => {
    const config = join(dir, 'mixed.yaml');
    writeFileSync(config, `data: { images: train, labels: train/labels.csv }\nvalidation: { data: train/labels.csv }\n${TARGETS}`);
    await assert.rejects(trainFromConfig(config), /^MultilossError: validation\.data: the training data are images, so the validation data must be images too \(\{ images: DIR, labels: FILE \} or \{ idx: … \}\), not \S+labels\.csv$/);
  });

  it('fitSeparateImages: one model per head, each on the images labelled for it; predictions and evaluation as a joint model gives them', async () => {
    const images = readImageSource({ images: join(dir, 'train'), labels: join(dir, 'train', 'labels.csv'), channels: 1 });
    const config = resolveConfig(parseConfig({ targets: [{ name: 'vertical', kind: 'classification' }, { name: 'horizontal', kind: 'classification' }], approach: 'separate', training: { epochs: 2, seed: 1 }, validation: { split: 0.25 } }));
    const begun: string[] = [];
    const model = await fitSeparateImages(config, images, { onModelBegin: (_k, _n, head) => begun.push(head) });
    try {
      assert.deepEqual(begun, ['vertical', 'horizontal']);
      assert.equal(model.models.length, 2);
      const trained = model.models.map((m) => m.meta.history[0].train);
      assert.ok(trained[0] && trained[1]);
      const held = readImageSource({ images: join(dir, 'held'), labels: join(dir, 'held', 'labels.csv'), channels: 1 });
      const predictions = predictImages(model, held);
      assert.equal(predictions.length, 16);
      assert.deepEqual(Object.keys(predictions[0]), ['vertical', 'horizontal']);
      const evaluation = evaluateImages(model, held);
      assert.deepEqual(Object.keys(evaluation.heads), ['vertical', 'horizontal']);
      assert.equal(evaluation.loss, evaluation.heads.vertical.loss + evaluation.heads.horizontal.loss);
    } finally {
      model.dispose();
    }
  });

  it('fitSeparateImages on a streamed folder, standardised: each sub-model its own mean/std, the same weights and predictions as the folder read whole', async () => {
    const options = { labels: join(dir, 'train', 'labels.csv'), channels: 1 as const, size: [6, 6] as [number, number], scale: 'standardize' as const };
    const config = resolveConfig(parseConfig({ targets: [{ name: 'vertical', kind: 'classification' }, { name: 'horizontal', kind: 'classification' }], approach: 'separate', training: { epochs: 2, seed: 3, batchSize: 8 }, validation: { split: 0.25 } }));
    const whole = await fitSeparateImages(config, readImageSource({ images: join(dir, 'train'), labels: options.labels, channels: 1, size: [6, 6], scale: 'standardize' }));
    const streamed = await fitSeparateImages(config, streamImageFolder(options));
    try {
      const [v, h] = whole.models.map((m) => m.meta.images);
      // The horizontal model trains on the images labelled for it only: other statistics.
      assert.notEqual(v?.mean?.[0], h?.mean?.[0]);
      streamed.models.forEach((m, k) => {
        assert.deepEqual(m.meta.images, whole.models[k].meta.images);
        const a = m.network.model.getWeights().map((w) => Array.from(w.dataSync()));
        const b = whole.models[k].network.model.getWeights().map((w) => Array.from(w.dataSync()));
        assert.deepEqual(a, b);
      });
      // Predictions read the 8×8 files with the models' options (resized, each network standardised with its own figures).
      const held = streamImageFolder({ dir: join(dir, 'held'), ...imageReadOptions(whole) });
      assert.deepEqual(predictImages(streamed, held), predictImages(whole, readImageSource({ unlabelled: { images: join(dir, 'held'), channels: 1, size: [6, 6], scale: 'standardize' } })));
    } finally {
      whole.dispose();
      streamed.dispose();
    }
  });
});
