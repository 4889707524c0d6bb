/**
 * Reader options of the image loaders: resizing, channels, scaling, JSON
 * labels, a folder without labels, and one-line errors naming the file or row.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { isMultilossError } from '../../src/errors.js';
import { encodeIdx } from '../../src/data/images/idx.js';
import { ChannelStats, resizeBilinear } from '../../src/data/images/pixels.js';
import { readIdxImages, readImageFolder } from '../../src/io/image-files.js';
import { Rng } from '../../src/util/rng.js';
import { ROOT, tempDir, useDefaultBackend } from '../helpers.js';
import { writeImageFolder } from './folder-fixture.js';

const dataError = (re: RegExp) => (e: unknown) => isMultilossError(e) && e.kind === 'data' && re.test(e.message) && !e.message.includes('\n');
const configError = (re: RegExp) => (e: unknown) => isMultilossError(e) && e.kind === 'config' && re.test(e.message) && !e.message.includes('\n');

function randomImage(h: number, w: number, c: number, seed: string): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: h * w * c }, () => rng.next());
}

describe('resizeBilinear', () => {
  before(useDefaultBackend);

  it('equals tfjs resizeBilinear with half-pixel centres (alignCorners false), up and down, 1 and 3 channels', () => {
    for (const [from, to] of [
      [[32, 32, 3], [16, 16]],
      [[7, 5, 1], [12, 9]],
      [[10, 20, 3], [6, 7]],
      [[4, 4, 1], [4, 4]],
    ] as [[number, number, number], [number, number]][]) {
      const src = randomImage(...from, from.join());
      const ours = resizeBilinear(src, from, to);
      const theirs = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(src, from), to, false, true).dataSync() as Float32Array);
      assert.equal(ours.length, theirs.length);
      const worst = ours.reduce((m, v, i) => Math.max(m, Math.abs(v - theirs[i])), 0);
      assert.ok(worst < 1e-5, `${from.join('×')} → ${to.join('×')}: max difference ${worst}`);
    }
  });
});

describe('image folder reader options', () => {
  const dir = tempDir();
  const csv = writeImageFolder(dir, 6, 32, 32);

  it('size: [height, width] resizes every image (bilinear) — the same as resizing the unresized pixels', () => {
    const full = readImageFolder({ labels: csv });
    const small = readImageFolder({ labels: csv, size: [16, 12] });
    assert.deepEqual(small.shape, [16, 12, 3]);
    assert.deepEqual(small.pixels, { channels: 3, size: [16, 12], scale: 'unit' });
    for (let k = 0; k < full.n; k++) {
      const want = resizeBilinear(full.x.subarray(k * 32 * 32 * 3, (k + 1) * 32 * 32 * 3), [32, 32, 3], [16, 12]);
      assert.deepEqual(small.x.subarray(k * 16 * 12 * 3, (k + 1) * 16 * 12 * 3), want);
    }
    // Images of different sizes are read when a size is set.
    writeImageFolder(join(dir, 'other'), 1, 20, 24);
    copyFileSync(join(dir, 'other', 'img0000.png'), join(dir, 'odd.png'));
    writeFileSync(join(dir, 'mixed.csv'), 'file,shape\nimg0000.png,a\nodd.png,b\n');
    assert.deepEqual(readImageFolder({ labels: join(dir, 'mixed.csv'), size: [8, 8] }).shape, [8, 8, 3]);
  });

  it('channels 1 with a size: luminance, then resize', () => {
    const grey = readImageFolder({ labels: csv, channels: 1 });
    const small = readImageFolder({ labels: csv, channels: 1, size: [8, 8] });
    assert.deepEqual(small.shape, [8, 8, 1]);
    assert.deepEqual(small.x.subarray(0, 64), resizeBilinear(grey.x.subarray(0, 1024), [32, 32, 1], [8, 8]));
  });

  it('scale: symmetric maps to [−1, 1] (2v − 1); standardize reads [0, 1] (the model standardises)', () => {
    const unit = readImageFolder({ labels: csv });
    const sym = readImageFolder({ labels: csv, scale: 'symmetric' });
    const std = readImageFolder({ labels: csv, scale: 'standardize' });
    assert.deepEqual(sym.x, unit.x.map((v) => v * 2 - 1));
    assert.ok(Math.min(...sym.x) < -0.5 && Math.max(...sym.x) > 0.5);
    assert.deepEqual(std.x, unit.x);
    assert.equal(std.pixels?.scale, 'standardize');
  });

  it('labels from JSON: an array of objects, JSON lines, or one object keyed by file name — the same set as from the CSV', () => {
    const fromCsv = readImageFolder({ labels: csv });
    const rows = fromCsv.files?.map((f, i) => ({ file: f.slice(dir.length + 1), shape: fromCsv.labels.shape[i], level: fromCsv.labels.level[i] })) ?? [];
    writeFileSync(join(dir, 'labels.json'), JSON.stringify(rows));
    writeFileSync(join(dir, 'keyed.json'), JSON.stringify(Object.fromEntries(rows.map(({ file, ...rest }) => [file, rest]))));
    writeFileSync(join(dir, 'named.json'), JSON.stringify(rows.map(({ file, ...rest }) => ({ image: file, ...rest }))));
    writeFileSync(join(dir, 'lines.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    for (const [labels, fileColumn] of [['labels.json'], ['keyed.json'], ['named.json', 'image'], ['lines.jsonl']]) {
      const set = readImageFolder({ labels: join(dir, labels), ...(fileColumn ? { fileColumn } : {}) });
      assert.deepEqual(set.labels, fromCsv.labels, labels);
      assert.deepEqual(set.x, fromCsv.x, labels);
    }
  });

  it('without labels: every PNG/JPEG file of dir, sorted by name, with the file names', () => {
    const plain = join(dir, 'plain');
    writeImageFolder(plain, 3, 32, 32);
    writeFileSync(join(plain, 'notes.txt'), 'not an image');
    const set = readImageFolder({ dir: plain, size: [16, 16] });
    assert.equal(set.n, 3);
    assert.deepEqual(set.labels, {});
    assert.deepEqual(set.files?.map((f) => f.slice(plain.length + 1)), ['img0000.png', 'img0001.png', 'img0002.png']);
    assert.deepEqual(set.x, readImageFolder({ labels: join(plain, 'labels.csv'), size: [16, 16] }).x);
  });

  it('one-line errors naming the file, row or option', () => {
    // A corrupt image: the file and its labels row.
    writeFileSync(join(dir, 'corrupt.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(30, 7)]));
    writeFileSync(join(dir, 'corrupt.csv'), 'file,shape\nimg0000.png,a\ncorrupt.png,b\n');
    assert.throws(() => readImageFolder({ labels: join(dir, 'corrupt.csv') }), dataError(/corrupt\.png: cannot decode the PNG image \(.*\) \(corrupt\.csv row 2\)$/));
    // A wrong size without `size`: both sizes and the file.
    writeFileSync(join(dir, 'sizes.csv'), 'file,shape\nimg0000.png,a\nodd.png,b\n');
    assert.throws(() => readImageFolder({ labels: join(dir, 'sizes.csv') }), dataError(/odd\.png: image is 20×24 \(height×width\), the first image \(img0000\.png\) is 32×32; .*set size: \[height, width\]/));
    // A labels row naming a missing file.
    writeFileSync(join(dir, 'gone.csv'), 'file,shape\nimg0000.png,a\nimg0001.png,b\ngone.png,c\n');
    assert.throws(() => readImageFolder({ labels: join(dir, 'gone.csv') }), dataError(/gone\.csv: row 3 names gone\.png, which is not in the image folder /));
    // A missing folder; a labels file without the file column (JSON too).
    assert.throws(() => readImageFolder({ labels: csv, dir: join(dir, 'nowhere') }), dataError(/nowhere: no such image folder$/));
    assert.throws(() => readImageFolder({ dir: join(dir, 'nowhere') }), dataError(/nowhere: no such image folder$/));
    writeFileSync(join(dir, 'nofile.json'), JSON.stringify([{ name: 'img0000.png', shape: 'a' }]));
    assert.throws(() => readImageFolder({ labels: join(dir, 'nofile.json') }), dataError(/nofile\.json: no column "file" naming the image files \(columns: name, shape\); set fileColumn$/));
    // Bad options.
    assert.throws(() => readImageFolder({ labels: csv, size: [0, 4] as unknown as [number, number] }), configError(/images\.size: expected \[height, width\]/));
    assert.throws(() => readImageFolder({ labels: csv, scale: 'minmax' as never }), configError(/images\.scale: expected one of unit, symmetric, standardize, got "minmax"/));
    assert.throws(() => readImageFolder({ labels: csv, channels: 4 as never }), configError(/images\.channels: expected 1 or 3, got 4/));
  });

  it('an unreadable folder (EACCES): one-line error naming it', () => {
    // The parent can be listed by anyone: the error must come from the locked folder itself.
    chmodSync(dir, 0o755);
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    writeImageFolder(locked, 1, 4, 4);
    chmodSync(locked, 0o000);
    try {
      // As root every folder is readable: the check runs in a child process as user nobody.
      const script = `import { readImageFolder } from './src/io/image-files.ts';
        try { readImageFolder({ dir: ${JSON.stringify(locked)} }); console.log('read'); } catch (e) { console.log(e.kind + ': ' + e.message); }`;
      const asRoot = process.getuid?.() === 0;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout.trim(), /^data: .*locked: cannot read the image folder \(permission denied\)$/);
    } finally {
      chmodSync(locked, 0o755);
    }
  });
});

describe('IDX reader options', () => {
  it('size, channels and scale apply as for folders', () => {
    const dir = tempDir();
    const pixels = Uint8Array.from({ length: 2 * 6 * 6 }, (_, i) => (i * 53) % 256);
    writeFileSync(join(dir, 'images'), encodeIdx([2, 6, 6], 'uint8', pixels));
    const plain = readIdxImages(join(dir, 'images'));
    assert.deepEqual(plain.pixels, { channels: 1, scale: 'unit' });
    const set = readIdxImages(join(dir, 'images'), undefined, { size: [3, 3], channels: 3, scale: 'symmetric' });
    assert.deepEqual(set.shape, [3, 3, 3]);
    assert.deepEqual(set.pixels, { channels: 3, size: [3, 3], scale: 'symmetric' });
    const grey = resizeBilinear(plain.x.subarray(36, 72), [6, 6, 1], [3, 3]);
    // Image 2, pixel 4, every channel: the grey value resized, then 2v − 1.
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(set.x[27 + 4 * 3 + c] - (grey[4] * 2 - 1)) < 1e-6);
    // A numeric scale divides the raw values and records no format.
    assert.equal(readIdxImages(join(dir, 'images'), undefined, { scale: 1 }).pixels, undefined);
  });
});

describe('ChannelStats', () => {
  it('gives the per-channel mean and population std, whatever the batching', () => {
    const x = randomImage(5, 4, 3, 'stats');
    const whole = new ChannelStats(3);
    whole.add(x);
    const parts = new ChannelStats(3);
    parts.add(x.subarray(0, 12));
    parts.add(x.subarray(12, 48));
    parts.add(x.subarray(48));
    for (let c = 0; c < 3; c++) {
      const v = Array.from(x).filter((_, i) => i % 3 === c);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      for (const s of [whole.result(), parts.result()]) {
        assert.ok(Math.abs(s.mean[c] - mean) < 1e-12 && Math.abs(s.std[c] - std) < 1e-12);
      }
    }
  });
});
