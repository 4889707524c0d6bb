/**
 * Streaming image folders: pixels decoded per batch from the file list, the
 * same batches (so the same weights) as the folder read into memory, and
 * bounded memory as the folder grows (peak RSS measured in child processes).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { isMultilossError } from '../../src/errors.js';
import { imageHeader, readImageFolder, streamImageFolder, type ImageFolderOptions } from '../../src/io/image-files.js';
import { predictImageOutputs } from '../../src/model/images.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { fitImageModel } from '../../src/training/fit-images.js';
import { ROOT, tempDir, useDefaultBackend } from '../helpers.js';
import { folderConfig, folderRaw, imageRgba, pngBytes, writeImageFolder } from './folder-fixture.js';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { checkpointWriter, disposeCheckpoint, readCheckpoint } from '../../src/io/checkpoints.js';

const dataError = (re: RegExp) => (e: unknown) => isMultilossError(e) && e.kind === 'data' && re.test(e.message) && !e.message.includes('\n');
const weights = (m: MultilossModel) => m.network.model.getWeights().map((w) => Array.from(w.dataSync()));

describe('streaming an image folder', () => {
  const dir = tempDir();
  const csv = writeImageFolder(join(dir, 'train'), 30, 10, 10, { missingLevelEvery: 4 });
  const heldOut = writeImageFolder(join(dir, 'validation'), 9, 10, 10);
  before(useDefaultBackend);

  it('trains to the same weights as the folder in memory (split, standardisation, augmentation)', async () => {
    const options: ImageFolderOptions = { labels: csv, size: [8, 8], scale: 'standardize' };
    const config = folderConfig();
    const augment = { shift: 1, flip: true };
    const stream = streamImageFolder(options);
    assert.equal('x' in stream, false, 'no pixels held');
    const streamed = await fitImageModel(config, stream, { augment });
    const memory = await fitImageModel(config, readImageFolder(options), { augment });
    assert.deepEqual(weights(streamed), weights(memory));
    assert.deepEqual(streamed.meta.metrics, memory.meta.metrics);
    assert.deepEqual(streamed.meta.images, memory.meta.images);
    // Prediction from a stream: the same outputs as from the set in memory.
    assert.deepEqual(predictImageOutputs(streamed, stream, 7), predictImageOutputs(memory, readImageFolder(options), 7));
    streamed.dispose();
    memory.dispose();
  });

  it('validates on a held-out folder streamed as well', async () => {
    const config = folderConfig({ validation: { split: 0 } });
    const streamed = await fitImageModel(config, streamImageFolder({ labels: csv }), { validation: streamImageFolder({ labels: heldOut }) });
    const memory = await fitImageModel(config, readImageFolder({ labels: csv }), { validation: readImageFolder({ labels: heldOut }) });
    assert.deepEqual(weights(streamed), weights(memory));
    assert.deepEqual(streamed.meta.history.map((e) => e.validation), memory.meta.history.map((e) => e.validation));
    assert.ok(streamed.meta.metrics.validation);
    streamed.dispose();
    memory.dispose();
  });

  it('an augmented, standardised streaming run interrupted inside an epoch resumes to the weights of an uninterrupted run', async () => {
    const raw = { ...folderRaw, training: { epochs: 3, batchSize: 8, seed: 5, earlyStopping: false } };
    const config = resolveConfig(parseConfig(raw));
    const options: ImageFolderOptions = { labels: csv, scale: 'standardize' };
    const augment = { shift: 2, flip: true };
    let held = 0;
    const straight = await fitImageModel(config, streamImageFolder(options), { augment, onSplit: (rows) => (held = rows.length) });
    const ckDir = join(dir, 'ck');
    const interrupt = { interrupted: false };
    await assert.rejects(
      fitImageModel(config, streamImageFolder(options), {
        augment,
        checkpoint: checkpointWriter(ckDir, raw),
        interrupt,
        callbacks: { onBatchEnd: (log) => void (log.epoch === 2 && log.batch === 2 && (interrupt.interrupted = true)) },
      }),
      /training interrupted after epoch 1/,
    );
    const ck = await readCheckpoint(ckDir);
    assert.equal(ck.resume.state.batch, 2);
    assert.equal(ck.resume.state.order?.length, 30 - held, 'the epoch’s order of the training images is saved');
    let resumed: MultilossModel;
    try {
      resumed = await fitImageModel(resolveConfig(parseConfig(ck.config)), streamImageFolder(options), { augment, resume: ck.resume });
    } finally {
      disposeCheckpoint(ck);
    }
    const expected = weights(straight);
    weights(resumed).forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(v - expected[i][j]) <= 1e-6 * Math.max(1, Math.abs(v)), `weight ${i}[${j}]: ${v} vs ${expected[i][j]}`)));
    straight.dispose();
    resumed.dispose();
  });

  it('checks every file’s header when opened: a file that is no image, a PNG or JPEG of another size — before training', () => {
    const bad = join(dir, 'headers');
    const labels = writeImageFolder(bad, 4, 6, 6);
    writeFileSync(join(bad, 'img0002.png'), 'not an image');
    assert.throws(() => streamImageFolder({ labels }), dataError(/img0002\.png: not a PNG or JPEG image .*\(labels\.csv row 3\)$/));
    writeFileSync(join(bad, 'img0002.png'), pngBytes(imageRgba(2, 6, 7).rgba, 6, 7));
    assert.throws(() => streamImageFolder({ labels }), dataError(/img0002\.png: image is 6×7 \(height×width\), the first image \(img0000\.png\) is 6×6; .*\(labels\.csv row 3\)$/));
    assert.equal(streamImageFolder({ labels, size: [6, 6] }).n, 4, 'with a size, other sizes are resized');
    writeFileSync(join(bad, 'img0002.png'), jpeg.encode({ width: 5, height: 6, data: imageRgba(2, 6, 5).rgba }, 90).data);
    assert.throws(() => streamImageFolder({ labels }), dataError(/img0002\.png: image is 6×5 \(height×width\)/));
  });

  it('reads the size a PNG or JPEG header declares (what decoding gives)', () => {
    for (const [h, w] of [[6, 9], [31, 2]]) {
      const rgba = imageRgba(1, h, w).rgba;
      assert.deepEqual(imageHeader(pngBytes(rgba, h, w)), { kind: 'PNG', height: h, width: w });
      assert.deepEqual(imageHeader(jpeg.encode({ width: w, height: h, data: rgba }, 90).data), { kind: 'JPEG', height: h, width: w });
    }
    assert.equal(imageHeader(new TextEncoder().encode('GIF89a')), undefined);
  });

  it('damage past the header, met during an epoch, stops training with an error naming the file and row', async () => {
    const bad = join(dir, 'bad');
    const labels = writeImageFolder(bad, 12, 6, 6);
    const png = pngBytes(imageRgba(7, 6, 6).rgba, 6, 6);
    writeFileSync(join(bad, 'img0007.png'), png.subarray(0, 40));
    const stream = streamImageFolder({ labels });
    await assert.rejects(fitImageModel(folderConfig(), stream), dataError(/img0007\.png: cannot decode the PNG image \(.*\) \(labels\.csv row 8\)$/));
  });
});

/** Peak RSS (bytes) of a child that trains one epoch on the first `n` images of `folder` streamed, or only reads them into memory. */
function peakRss(folder: string, n: number, how: 'stream' | 'read'): number {
  const script = `
    import { initBackend } from './src/engine/backend.ts';
    import { readImageFolder, streamImageFolder } from './src/io/image-files.ts';
    import { fitImageModel } from './src/training/fit-images.ts';
    import { parseConfig } from './src/config/schema.ts';
    import { resolveConfig } from './src/config/resolve.ts';
    await initBackend('wasm');
    const options = { labels: ${JSON.stringify(join(folder, `labels-${n}.csv`))}, channels: 3 };
    const images = ${how === 'stream' ? 'streamImageFolder' : 'readImageFolder'}(options);
    if (${JSON.stringify(how)} === 'read') { console.log(JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024, n: images.n })); process.exit(0); }
    const config = resolveConfig(parseConfig({ targets: [{ name: 'shape', kind: 'classification' }], model: { trunk: [4] },
      training: { epochs: 1, batchSize: 128, seed: 1, earlyStopping: false, trainMetrics: false }, validation: { split: 0 } }));
    config.training.evaluationBatchSize = 128;
    const model = await fitImageModel(config, images);
    model.dispose();
    console.log(JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024 }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { maxRss: number }).maxRss;
}

describe('streaming memory', () => {
  it('peak RSS grows far less than the decoded pixels as the folder grows from 2,000 to 8,000 RGB images of 64×64', (t) => {
    const folder = tempDir();
    // 16 distinct images, copied: decoding is what costs memory, not variety. 2,000 vs 8,000 images
    // keep the added pixels (281 MB) far above the allocator's run-to-run noise (±20 MB).
    const distinct = Array.from({ length: 16 }, (_, k) => {
      const img = imageRgba(k, 64, 64);
      return { bytes: pngBytes(img.rgba, 64, 64), shape: img.shape };
    });
    const lines = ['file,shape'];
    for (let k = 0; k < 8000; k++) {
      const name = `i${k}.png`;
      writeFileSync(join(folder, name), distinct[k % 16].bytes);
      lines.push(`${name},${distinct[k % 16].shape}`);
    }
    writeFileSync(join(folder, 'labels-2000.csv'), lines.slice(0, 2001).join('\n') + '\n');
    writeFileSync(join(folder, 'labels-8000.csv'), lines.join('\n') + '\n');
    const decoded = (n: number) => n * 64 * 64 * 3 * 4;
    const small = peakRss(folder, 2000, 'stream');
    const large = peakRss(folder, 8000, 'stream');
    const inMemory = peakRss(folder, 8000, 'read');
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
    const growth = large - small;
    const pixels = decoded(8000) - decoded(2000);
    t.diagnostic(`peak RSS streamed: 2,000 images ${mb(small)}, 8,000 images ${mb(large)}; read into memory (no training): 8,000 images ${mb(inMemory)}; decoded pixels of 8,000 images ${mb(decoded(8000))}`);
    assert.ok(growth < 0.25 * pixels, `streamed: peak RSS ${mb(small)} → ${mb(large)} (+${mb(growth)}) for +${mb(pixels)} of decoded pixels`);
    // The control: only reading the same folder into memory already holds the pixels.
    assert.ok(inMemory - large > 0.5 * decoded(8000), `in memory ${mb(inMemory)}, streamed ${mb(large)}, decoded pixels ${mb(decoded(8000))}`);
  });
});
