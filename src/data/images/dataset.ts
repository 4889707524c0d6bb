/**
 * Image datasets: pixels plus label columns, row-aligned. Browser-safe (the
 * file loaders are in ./node.ts).
 */
import { MultilossError } from '../../errors.js';
import type { Cell, Table } from '../table.js';
import { FeaturePreprocessor } from '../preprocess.js';
import { tableFromColumns } from '../table-build.js';
import type { PixelFormat } from './pixels.js';

export interface ImageSet {
  /** Number of images. */
  n: number;
  /** One image's shape: [height, width, channels]. */
  shape: [number, number, number];
  /** n·H·W·C values, row-major (image, row, column, channel), usually scaled to [0, 1]. */
  x: Float32Array;
  /** Label columns by name, one cell per image (null: missing). A head's `column` names one. */
  labels: Record<string, Cell[]>;
  /** Where the images came from, for messages. */
  source: string;
  /** How the pixel values were made from the files (set by the readers; recorded with a model trained on them). */
  pixels?: PixelFormat;
  /** Each image's file (folder readers), for predictions and messages. */
  files?: string[];
}

/**
 * Images whose pixels are read on demand (a folder larger than memory): the
 * labels are in memory, `load` decodes the images asked for. What
 * `fitImageModel` streams from (see `streamImageFolder`).
 */
export interface ImageStream extends Omit<ImageSet, 'x'> {
  /** Pixels of images `idx` (0-based, in that order): idx.length·H·W·C values, as an ImageSet's `x`. */
  load(idx: readonly number[]): Float32Array;
}

/** True for an ImageStream (pixels loaded on demand), false for an ImageSet. */
export function isImageStream(images: ImageSet | ImageStream): images is ImageStream {
  return typeof (images as ImageStream).load === 'function';
}

/** Pixels of images `idx` of a set or stream, in that order. */
export function loadImages(images: ImageSet | ImageStream, idx: readonly number[]): Float32Array {
  if (isImageStream(images)) return images.load(idx);
  const d = imageSize(images.shape);
  const x = new Float32Array(idx.length * d);
  idx.forEach((i, r) => x.set(images.x.subarray(i * d, (i + 1) * d), r * d));
  return x;
}

/** Values per image. */
export function imageSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Throws a one-line error if the pixels or a label column do not match `n` and `shape`. */
export function checkImageSet(set: ImageSet | ImageStream): void {
  const [h, w, c] = set.shape;
  if (![h, w, c].every((d) => Number.isInteger(d) && d >= 1)) throw new MultilossError('data', `${set.source}: image shape must be [height, width, channels] of whole numbers ≥ 1, got [${set.shape.join(', ')}]`);
  if (!isImageStream(set) && set.x.length !== set.n * h * w * c) throw new MultilossError('data', `${set.source}: ${set.x.length} pixel values for ${set.n} images of ${h}×${w}×${c} (expected ${set.n * h * w * c})`);
  for (const [name, col] of Object.entries(set.labels)) {
    if (col.length !== set.n) throw new MultilossError('data', `${set.source}: label column "${name}" has ${col.length} entries for ${set.n} images`);
  }
}

/** The label columns as a table (one row per image), what the heads are fitted and encoded on. */
export function labelTable(set: Pick<ImageSet, 'labels' | 'source'>): Table {
  const columns = Object.keys(set.labels);
  return tableFromColumns(set.source, columns.map((name) => ({ name, values: set.labels[name] })));
}

/** Images `idx` (in that order) with their labels. */
export function subsetImages(set: ImageSet | ImageStream, idx: readonly number[]): ImageSet {
  const x = loadImages(set, idx);
  const labels: Record<string, Cell[]> = {};
  for (const [name, col] of Object.entries(set.labels)) labels[name] = idx.map((i) => col[i]);
  const files = set.files ? { files: idx.map((i) => (set.files as string[])[i]) } : {};
  return { n: idx.length, shape: [...set.shape], x, labels, source: set.source, ...(set.pixels ? { pixels: set.pixels } : {}), ...files };
}

/** Images `idx` of a set (copied, as `subsetImages`) or of a stream (a stream of those images: nothing decoded now). */
export function imagesAt(images: ImageSet | ImageStream, idx: readonly number[]): ImageSet | ImageStream {
  if (!isImageStream(images)) return subsetImages(images, idx);
  const labels: Record<string, Cell[]> = {};
  for (const [name, col] of Object.entries(images.labels)) labels[name] = idx.map((i) => col[i]);
  const files = images.files ? { files: idx.map((i) => (images.files as string[])[i]) } : {};
  const at = [...idx];
  return { ...images, n: at.length, labels, ...files, load: (rows) => images.load(rows.map((r) => at[r])) };
}

/**
 * The preprocessing of flat pixel rows (what multiloss.json records for an
 * image model): the identity, or with `standardize` each value's channel
 * mean and std (channels last), so that predicting from rows of `pixel_i`
 * standardises as the image path does.
 */
export function pixelPreprocessor(shape: readonly number[], standardize?: { mean: readonly number[]; std: readonly number[] }): FeaturePreprocessor {
  const c = shape[shape.length - 1];
  const features = Array.from({ length: imageSize(shape) }, (_, i) => ({
    name: `pixel_${i}`,
    type: 'numeric' as const,
    mean: standardize ? standardize.mean[i % c] : 0,
    std: standardize ? standardize.std[i % c] : 1,
    missingIndicator: false,
  }));
  return FeaturePreprocessor.fromJSON({ version: 1, features });
}
