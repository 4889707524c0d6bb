/**
 * What an image model records of its pixel preparation (size, channels,
 * scale, the training images' per-channel mean/std) and that prediction and
 * evaluation on new files apply the same.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { subsetImages, type ImageSet } from '../../src/data/images/dataset.js';
import { ChannelStats, resizeBilinear } from '../../src/data/images/pixels.js';
import { isMultilossError } from '../../src/errors.js';
import { readImageFolder, readImagesForModel } from '../../src/io/image-files.js';
import { loadModel, saveModel } from '../../src/io/model-dir.js';
import { imageReadOptions, predictImageOutputs, predictImages } from '../../src/model/images.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { evaluateImages, fitImageModel } from '../../src/training/fit-images.js';
import { tempDir, useDefaultBackend } from '../helpers.js';
import { folderConfig, writeImageFolder } from './folder-fixture.js';

describe('an image model records and applies its pixel preparation', () => {
  const dir = tempDir();
  const csv = writeImageFolder(join(dir, 'train'), 24, 32, 32);
  let model: MultilossModel;
  let loaded: MultilossModel;
  let train: ImageSet;
  let validationRows: number[] = [];

  before(async () => {
    await useDefaultBackend();
    train = readImageFolder({ labels: csv, size: [16, 16], scale: 'standardize' });
    model = await fitImageModel(folderConfig({ training: { epochs: 1, batchSize: 8, seed: 5, earlyStopping: false } }), train, { onSplit: (rows) => (validationRows = [...rows]) });
    await saveModel(model, join(dir, 'model'));
    loaded = await loadModel(join(dir, 'model'));
  });
  after(() => {
    model.dispose();
    loaded.dispose();
  });

  it('saves size, channels, scale and the training images’ per-channel mean and std', () => {
    const trainRows = Array.from({ length: train.n }, (_, i) => i).filter((i) => !validationRows.includes(i));
    assert.equal(validationRows.length, 6);
    const stats = new ChannelStats(3);
    stats.add(subsetImages(train, trainRows).x);
    const { mean, std } = stats.result();
    const recorded = loaded.meta.images;
    assert.deepEqual({ ...recorded, mean: undefined, std: undefined }, { channels: 3, size: [16, 16], scale: 'standardize', mean: undefined, std: undefined });
    recorded?.mean?.forEach((m, c) => assert.ok(Math.abs(m - mean[c]) < 1e-9, `mean of channel ${c}`));
    recorded?.std?.forEach((s, c) => assert.ok(Math.abs(s - std[c]) < 1e-9, `std of channel ${c}`));
    assert.deepEqual(imageReadOptions(loaded), { channels: 3, size: [16, 16], scale: 'standardize' });
  });

  it('predicts a folder of 32×32 images read with the model’s options exactly as the pre-resized images', () => {
    const viaModel = readImagesForModel(loaded, { dir: join(dir, 'train') });
    assert.deepEqual(viaModel.shape, [16, 16, 3]);
    const full = readImageFolder({ dir: join(dir, 'train') });
    const d = 32 * 32 * 3;
    const x = new Float32Array(full.n * 16 * 16 * 3);
    for (let k = 0; k < full.n; k++) x.set(resizeBilinear(full.x.subarray(k * d, (k + 1) * d), [32, 32, 3], [16, 16]), k * 16 * 16 * 3);
    const preResized: ImageSet = { n: full.n, shape: [16, 16, 3], x, labels: {}, source: 'pre-resized', pixels: { channels: 3, size: [16, 16], scale: 'unit' } };
    assert.deepEqual(predictImageOutputs(loaded, viaModel), predictImageOutputs(loaded, preResized));
    assert.deepEqual(predictImageOutputs(loaded, viaModel), predictImageOutputs(model, viaModel));
    // The flat-pixel path (rows of pixel_i through the model's preprocessor) standardises the same way.
    const rows = [0, 1].map((r) => Object.fromEntries(Array.from(x.subarray(r * 768, (r + 1) * 768), (v, i) => [`pixel_${i}`, v])));
    const flat = loaded.predictOutputs(rows);
    const images = predictImageOutputs(loaded, { ...preResized, n: 2, x: x.subarray(0, 2 * 768) });
    flat.forEach((out, h) => out.forEach((v, i) => assert.ok(Math.abs(v - images[h][i]) < 1e-5, `head ${h}, value ${i}: ${v} vs ${images[h][i]}`)));
  });

  it('evaluates with the same standardisation as training (the validation split’s figures come back)', () => {
    const ev = evaluateImages(loaded, subsetImages(train, validationRows));
    const saved = loaded.meta.metrics.validation;
    assert.ok(saved);
    for (const h of ['shape', 'level']) assert.ok(Math.abs(ev.heads[h].loss - saved.heads[h].loss) < 1e-5 * Math.max(1, saved.heads[h].loss), `${h}: ${ev.heads[h].loss} vs ${saved.heads[h].loss}`);
  });

  it('refuses images read another way, naming the options to read them with', () => {
    const raw = readImageFolder({ dir: join(dir, 'train') });
    assert.throws(
      () => predictImages(loaded, raw),
      (e: unknown) => isMultilossError(e) && /size 32×32; the model expects 16×16 \(read them with the model's reading options: \{"channels":3,"size":\[16,16\],"scale":"standardize"\}\)$/.test(e.message),
    );
    const symmetric = readImageFolder({ dir: join(dir, 'train'), size: [16, 16], scale: 'symmetric' });
    assert.throws(() => predictImages(loaded, symmetric), (e: unknown) => isMultilossError(e) && /pixel values in \[-1, 1\] \(scale symmetric\), the model was trained on \[0, 1\].*read the images with scale "standardize"$/.test(e.message));
  });
});
