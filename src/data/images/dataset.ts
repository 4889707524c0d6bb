/**
 * Image datasets: pixels plus label columns, row-aligned. Browser-safe (the
 * file loaders are in ./node.ts).
 */
import { MultilossError } from '../../errors.js';
import type { Cell, Table } from '../table.js';
import { FeaturePreprocessor } from '../preprocess.js';
import { tableFromColumns } from '../table-build.js';

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
}

/** Values per image. */
export function imageSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Throws a one-line error if the pixels or a label column do not match `n` and `shape`. */
export function checkImageSet(set: ImageSet): void {
  const [h, w, c] = set.shape;
  if (![h, w, c].every((d) => Number.isInteger(d) && d >= 1)) throw new MultilossError('data', `${set.source}: image shape must be [height, width, channels] of whole numbers ≥ 1, got [${set.shape.join(', ')}]`);
  if (set.x.length !== set.n * h * w * c) throw new MultilossError('data', `${set.source}: ${set.x.length} pixel values for ${set.n} images of ${h}×${w}×${c} (expected ${set.n * h * w * c})`);
  for (const [name, col] of Object.entries(set.labels)) {
    if (col.length !== set.n) throw new MultilossError('data', `${set.source}: label column "${name}" has ${col.length} entries for ${set.n} images`);
  }
}

/** The label columns as a table (one row per image), what the heads are fitted and encoded on. */
export function labelTable(set: ImageSet): Table {
  const columns = Object.keys(set.labels);
  return tableFromColumns(set.source, columns.map((name) => ({ name, values: set.labels[name] })));
}

/** Images `idx` (in that order) with their labels. */
export function subsetImages(set: ImageSet, idx: readonly number[]): ImageSet {
  const d = imageSize(set.shape);
  const x = new Float32Array(idx.length * d);
  idx.forEach((i, r) => x.set(set.x.subarray(i * d, (i + 1) * d), r * d));
  const labels: Record<string, Cell[]> = {};
  for (const [name, col] of Object.entries(set.labels)) labels[name] = idx.map((i) => col[i]);
  return { n: idx.length, shape: [...set.shape], x, labels, source: set.source };
}

/** The identity preprocessing on flat pixel rows (what multiloss.json records for an image model). */
export function pixelPreprocessor(shape: readonly number[]): FeaturePreprocessor {
  const features = Array.from({ length: imageSize(shape) }, (_, i) => ({ name: `pixel_${i}`, type: 'numeric' as const, mean: 0, std: 1, missingIndicator: false }));
  return FeaturePreprocessor.fromJSON({ version: 1, features });
}
