/**
 * Seeded augmentations: the pure functions on plain arrays, the batch
 * transform hook (same batches after a resume), and training with them
 * (deterministic, training batches only).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { augmentationRng, augmentImages, checkAugment } from '../../src/data/images/augment.js';
import { subsetImages, type ImageSet } from '../../src/data/images/dataset.js';
import { isMultilossError } from '../../src/errors.js';
import { readImageFolder } from '../../src/io/image-files.js';
import { MemoryBatchSource, transformBatches } from '../../src/training/batch-source.js';
import type { EncodedData } from '../../src/training/data.js';
import { evaluateImages, fitImageModel } from '../../src/training/fit-images.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir, useDefaultBackend } from '../helpers.js';
import { folderConfig, writeImageFolder } from './folder-fixture.js';

const H = 5;
const W = 4;
const C = 2;
/** Image k's value at (y, x, c): distinct everywhere. */
const value = (k: number, y: number, x: number, c: number) => 1000 * k + 100 * y + 10 * x + c + 1;
function images(n: number): Float32Array {
  const out = new Float32Array(n * H * W * C);
  for (let k = 0; k < n; k++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) out[((k * H + y) * W + x) * C + c] = value(k, y, x, c);
  return out;
}

/** The reference: pad by `p` with `fill`, crop H×W at (p − dy, p − dx), then mirror when asked. */
function padCropFlip(src: Float32Array, k: number, p: number, dy: number, dx: number, mirror: boolean, fill: number[]): number[] {
  const padded = (y: number, x: number, c: number) => {
    const sy = y - p;
    const sx = x - p;
    return sy < 0 || sy >= H || sx < 0 || sx >= W ? fill[c] : src[((k * H + sy) * W + sx) * C + c];
  };
  const out: number[] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const cx = mirror ? W - 1 - x : x;
      for (let c = 0; c < C; c++) out.push(padded(y + p - dy, cx + p - dx, c));
    }
  }
  return out;
}

describe('augmentImages', () => {
  const n = 40;
  const x = images(n);

  it('shift + flip is pad-and-random-crop then mirror, with the offsets drawn per image in order', () => {
    const fill = [-7, -9];
    const out = augmentImages(x, n, [H, W, C], { shift: 2, flip: true, fill }, new Rng('a'));
    const rng = new Rng('a');
    const seen = new Set<string>();
    for (let k = 0; k < n; k++) {
      const dy = rng.int(5) - 2;
      const dx = rng.int(5) - 2;
      const mirror = rng.next() < 0.5;
      seen.add(`${dy},${dx},${mirror}`);
      assert.deepEqual(Array.from(out.subarray(k * H * W * C, (k + 1) * H * W * C)), padCropFlip(x, k, 2, dy, dx, mirror, fill), `image ${k}`);
    }
    assert.ok(seen.size > 10, 'many different shifts and flips');
    assert.deepEqual(x, images(n), 'the input is left alone');
  });

  it('flip alone mirrors about half of the images and moves nothing else', () => {
    const out = augmentImages(x, n, [H, W, C], { flip: true }, new Rng('b'));
    let mirrored = 0;
    for (let k = 0; k < n; k++) {
      const same = out[((k * H) * W) * C] === value(k, 0, 0, 0);
      mirrored += same ? 0 : 1;
      assert.deepEqual(Array.from(out.subarray(k * H * W * C, (k + 1) * H * W * C)), padCropFlip(x, k, 0, 0, 0, !same, [0, 0]));
    }
    assert.ok(mirrored > 10 && mirrored < 30, `${mirrored} of ${n} mirrored`);
  });

  it('is a function of the generator: the same seed, epoch and batch give the same images; another batch differs', () => {
    const opts = { shift: 1, flip: true };
    assert.deepEqual(augmentImages(x, n, [H, W, C], opts, augmentationRng(3, 1, 4)), augmentImages(x, n, [H, W, C], opts, augmentationRng(3, 1, 4)));
    assert.notDeepEqual(augmentImages(x, n, [H, W, C], opts, augmentationRng(3, 1, 4)), augmentImages(x, n, [H, W, C], opts, augmentationRng(3, 1, 5)));
    assert.equal(checkAugment({}), false);
    assert.equal(checkAugment({ shift: 0, flip: false }), false);
    assert.throws(() => checkAugment({ shift: 1.5 }), (e: unknown) => isMultilossError(e) && /augment\.shift: expected a whole number of pixels ≥ 0, got 1\.5/.test(e.message));
  });
});

describe('the browser entry', () => {
  it('offers the pure pixel functions (augmentation, resizing, standardisation)', async () => {
    const browser = await import('../../src/browser.js');
    for (const name of ['augmentImages', 'augmentationRng', 'resizeBilinear', 'standardizePixels', 'ChannelStats', 'pixelsFromRgba']) assert.equal(typeof (browser as Record<string, unknown>)[name], 'function', name);
  });
});

describe('transformBatches', () => {
  it('hands out the same transformed batches after a resume inside an epoch', async () => {
    const n = 10;
    const data: EncodedData = { n, inputSize: H * W * C, inputShape: [H, W, C], x: images(n), targets: [{ y: new Float32Array(n), yMetric: new Float32Array(n), mask: new Float32Array(n).fill(1), weight: new Float32Array(n).fill(1) }] };
    const source = transformBatches(new MemoryBatchSource(data, [1]), (b, at) => ({ ...b, x: augmentImages(b.x, b.n, [H, W, C], { shift: 1, flip: true }, augmentationRng(9, at.epoch, at.batch)) }));
    const whole = await source.epoch({ epoch: 2, rng: new Rng(1), batchSize: 3, skip: 0 });
    const all: Float32Array[] = [];
    for (let b = await whole.next(); b; b = await whole.next()) all.push(b.x);
    assert.equal(all.length, 4);
    const resumed = await source.epoch({ epoch: 2, rng: new Rng('unused'), batchSize: 3, skip: 2, order: whole.order });
    assert.deepEqual((await resumed.next())?.x, all[2]);
    assert.deepEqual((await resumed.next())?.x, all[3]);
    assert.equal(await resumed.next(), null);
  });
});

describe('training with augmentation', () => {
  const dir = tempDir();
  const csv = writeImageFolder(dir, 24, 8, 8);
  let set: ImageSet;
  before(async () => {
    await useDefaultBackend();
    set = readImageFolder({ labels: csv });
  });

  it('is deterministic, changes the training, and never touches validation', async () => {
    const config = folderConfig();
    const augment = { shift: 2, flip: true };
    let validationRows: number[] = [];
    const a = await fitImageModel(config, set, { augment, onSplit: (r) => (validationRows = [...r]) });
    const b = await fitImageModel(config, set, { augment });
    const plain = await fitImageModel(config, set);
    const weights = (m: typeof a) => m.network.model.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(weights(a), weights(b), 'two runs: identical weights');
    assert.notDeepEqual(weights(a), weights(plain), 'augmentation changes what is learnt');
    // The saved validation figures are those of the unaugmented validation images.
    const ev = evaluateImages(a, subsetImages(set, validationRows));
    const saved = a.meta.metrics.validation;
    assert.ok(saved);
    for (const h of ['shape', 'level']) assert.ok(Math.abs(ev.heads[h].loss - saved.heads[h].loss) < 1e-5 * Math.max(1, saved.heads[h].loss), `${h}: ${ev.heads[h].loss} vs ${saved.heads[h].loss}`);
    // So are the final training figures (evaluated on the training images as they are).
    const trainRows = Array.from({ length: set.n }, (_, i) => i).filter((i) => !validationRows.includes(i));
    const evTrain = evaluateImages(a, subsetImages(set, trainRows));
    assert.ok(Math.abs(evTrain.heads.shape.loss - (a.meta.metrics.train?.heads.shape.loss ?? NaN)) < 1e-5);
    const tensors = tf.memory().numTensors;
    for (const m of [a, b, plain]) m.dispose();
    assert.ok(tf.memory().numTensors < tensors);
  });
});

