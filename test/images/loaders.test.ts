import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { isMultilossError } from '../../src/errors.js';
import { encodeIdx, parseIdx } from '../../src/data/images/idx.js';
import { readIdxFile, readIdxImages, readImageFolder } from '../../src/io/image-files.js';
import { tempDir } from '../helpers.js';

const dataError = (re: RegExp) => (e: unknown) => isMultilossError(e) && e.kind === 'data' && re.test(e.message) && !e.message.includes('\n');

describe('IDX loader', () => {
  const dir = tempDir();
  const pixels = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 37) % 256);
  const images = encodeIdx([3, 4, 5], 'uint8', pixels);
  const labels = encodeIdx([3], 'uint8', [7, 0, 9]);
  writeFileSync(join(dir, 'images-idx3-ubyte'), images);
  writeFileSync(join(dir, 'labels-idx1-ubyte'), labels);
  writeFileSync(join(dir, 'images-idx3-ubyte.gz'), gzipSync(images));
  writeFileSync(join(dir, 'labels-idx1-ubyte.gz'), gzipSync(labels));

  it('reads images and labels written by the test (plain and gzipped)', () => {
    for (const ext of ['', '.gz']) {
      const set = readIdxImages(join(dir, `images-idx3-ubyte${ext}`), join(dir, `labels-idx1-ubyte${ext}`));
      assert.equal(set.n, 3);
      assert.deepEqual(set.shape, [4, 5, 1]);
      assert.equal(set.x.length, 60);
      set.x.forEach((v, i) => assert.equal(v, Math.fround(pixels[i] / 255)));
      assert.deepEqual(set.labels.label, ['7', '0', '9']);
    }
  });

  it('reads every IDX element type, big-endian', () => {
    const values = [-3.5, 0, 1.25, 1000];
    for (const type of ['int16', 'int32', 'float32', 'float64'] as const) {
      const v = type.startsWith('int') ? values.map(Math.trunc) : values;
      const arr = parseIdx(encodeIdx([2, 2], type, v), 'x');
      assert.deepEqual(arr.shape, [2, 2]);
      assert.equal(arr.type, type);
      assert.deepEqual(Array.from(arr.data), v);
    }
    const bytes = encodeIdx([2], 'int16', [258, -2]);
    assert.deepEqual(Array.from(bytes.subarray(8)), [1, 2, 0xff, 0xfe]);
  });

  it('rejects a truncated file with a clear error', () => {
    const path = join(dir, 'truncated');
    writeFileSync(path, images.subarray(0, images.length - 7));
    assert.throws(() => readIdxFile(path), dataError(/truncated IDX file: 69 bytes, its header \(uint8, shape 3×4×5\) needs 76$/));
    writeFileSync(path, images.subarray(0, 9));
    assert.throws(() => readIdxFile(path), dataError(/truncated IDX file: 9 bytes, the header of 3 dimensions needs 16$/));
    writeFileSync(path + '.gz', gzipSync(images).subarray(0, 20));
    assert.throws(() => readIdxFile(path + '.gz'), dataError(/truncated or damaged gzip data/));
  });

  it('rejects a wrong magic number with a clear error', () => {
    const path = join(dir, 'bad-magic');
    const bad = Uint8Array.from(images);
    bad[2] = 0x07;
    writeFileSync(path, bad);
    assert.throws(() => readIdxFile(path), dataError(/not an IDX file: wrong magic number 0x00 0x00 0x07 0x03/));
    writeFileSync(path, Buffer.from('P5\n4 5\n255\n'));
    assert.throws(() => readIdxFile(path), dataError(/not an IDX file: wrong magic number 0x50 0x35/));
  });

  it('rejects labels that do not match the images', () => {
    writeFileSync(join(dir, 'labels2'), encodeIdx([2], 'uint8', [1, 2]));
    assert.throws(() => readIdxImages(join(dir, 'images-idx3-ubyte'), join(dir, 'labels2')), dataError(/labels file holds 2 values for 3 images/));
  });
});

describe('image folder loader (PNG / JPEG + CSV of labels)', () => {
  const dir = tempDir();
  const W = 6;
  const H = 4;
  // Pixel (x, y) of image k: red = 40k + 10x, green = 20y, blue = 200.
  const rgba = (k: number): Buffer => {
    const b = Buffer.alloc(W * H * 4);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) b.set([40 * k + 10 * x, 20 * y, 200, 255], 4 * (y * W + x));
    return b;
  };
  for (let k = 0; k < 3; k++) {
    const png = new PNG({ width: W, height: H });
    rgba(k).copy(png.data);
    writeFileSync(join(dir, `img${k}.png`), PNG.sync.write(png));
  }
  writeFileSync(join(dir, 'img3.jpg'), jpeg.encode({ width: W, height: H, data: rgba(3) }, 100).data);
  writeFileSync(join(dir, 'labels.csv'), 'file,shape,size\nimg0.png,circle,1.5\nimg1.png,square,\nimg2.png,circle,2\nimg3.jpg,square,3\n');

  it('reads the images in CSV order with their label columns (RGB)', () => {
    const set = readImageFolder({ labels: join(dir, 'labels.csv') });
    assert.equal(set.n, 4);
    assert.deepEqual(set.shape, [H, W, 3]);
    assert.deepEqual(Object.keys(set.labels), ['shape', 'size']);
    assert.deepEqual(set.labels.shape, ['circle', 'square', 'circle', 'square']);
    assert.equal(set.labels.size[1], null);
    // PNG is lossless: exact values.
    const at = (k: number, y: number, x: number, c: number) => set.x[((k * H + y) * W + x) * 3 + c];
    assert.equal(at(2, 3, 5, 0), Math.fround((80 + 50) / 255));
    assert.equal(at(2, 3, 5, 1), Math.fround(60 / 255));
    assert.equal(at(1, 0, 0, 2), Math.fround(200 / 255));
    // JPEG is lossy: close.
    assert.ok(Math.abs(at(3, 2, 3, 0) - (120 + 30) / 255) < 0.05);
  });

  it('converts to grayscale with channels: 1', () => {
    const set = readImageFolder({ labels: join(dir, 'labels.csv'), channels: 1 });
    assert.deepEqual(set.shape, [H, W, 1]);
    const expected = (0.299 * (40 + 20) + 0.587 * 40 + 0.114 * 200) / 255; // image 1, x 2, y 2
    assert.ok(Math.abs(set.x[(1 * H + 2) * W + 2] - expected) < 1e-6);
  });

  it('errors name the file: missing file column, unreadable image, size mismatch', () => {
    writeFileSync(join(dir, 'nofile.csv'), 'name,shape\nimg0.png,circle\n');
    assert.throws(() => readImageFolder({ labels: join(dir, 'nofile.csv') }), dataError(/no column "file" naming the image files \(columns: name, shape\); set fileColumn$/));
    assert.deepEqual(readImageFolder({ labels: join(dir, 'nofile.csv'), fileColumn: 'name' }).labels, { shape: ['circle'] });
    writeFileSync(join(dir, 'missing.csv'), 'file,shape\nnope.png,circle\n');
    assert.throws(() => readImageFolder({ labels: join(dir, 'missing.csv') }), dataError(/missing\.csv: row 1 names nope\.png, which is not in the image folder /));
    writeFileSync(join(dir, 'text.png'), 'not an image');
    writeFileSync(join(dir, 'text.csv'), 'file,shape\ntext.png,circle\n');
    assert.throws(() => readImageFolder({ labels: join(dir, 'text.csv') }), dataError(/text\.png: not a PNG or JPEG image/));
    const big = new PNG({ width: W + 1, height: H });
    writeFileSync(join(dir, 'big.png'), PNG.sync.write(big));
    writeFileSync(join(dir, 'mixed.csv'), 'file,shape\nimg0.png,circle\nbig.png,square\n');
    assert.throws(() => readImageFolder({ labels: join(dir, 'mixed.csv') }), dataError(/big\.png: image is 4×7 \(height×width\), the first image \(img0\.png\) is 4×6; all images must have the same size, or set size: \[height, width\] to resize them \(mixed\.csv row 2\)$/));
  });
});
