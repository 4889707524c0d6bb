/**
 * Training on images. The image entry point beside `fitModel` (which reads
 * tables): `fitImageModel(config, images)` takes an ImageSet (pixels + label
 * columns), fits the heads on the label columns, and trains a network built by
 * the configured architecture on rows of shape H×W×C (EncodedData with
 * `inputShape`) through the same path as every configuration front door
 * (`trainFitted` → `runTraining`). The result is an ordinary MultilossModel:
 * saved and loaded like any other (model.json holds the H×W×C input). Its
 * feature preprocessor is the identity (or the standardisation below) on H·W·C numeric "pixel_i" features,
 * so the model also predicts from flat pixel rows; `predictImages`
 * (model/images.ts) predicts from an ImageSet and checks the image shape.
 * The images come in memory (an ImageSet) or streamed (an ImageStream, pixels
 * loaded per batch, see training/image-batches.ts: the same batches, hence the
 * same weights). A set read with `scale: 'standardize'` is standardised per
 * channel with the training images' mean and std; the pixel preparation is
 * recorded in the model (`meta.images`) so prediction applies the same.
 * `augment` transforms the training batches only (`transformBatches`).
 * Browser-safe.
 */
import type { ResolvedConfig } from '../config/resolve.js';
import { checkImageSet, imageSize, isImageStream, labelTable, loadImages, pixelPreprocessor, type ImageSet, type ImageStream } from '../data/images/dataset.js';
import { augmentationRng, augmentImages, checkAugment, type AugmentOptions } from '../data/images/augment.js';
import { ChannelStats, standardizePixels, type ImagePreprocessing } from '../data/images/pixels.js';
import { MemoryBatchSource, transformBatches, type BatchSource, type EvaluationSource } from './batch-source.js';
import { LoadedImageSource, loadedEvaluationSource } from './image-batches.js';
import { normalizeMissing } from '../data/missing.js';
import { selectRows } from '../data/split.js';
import type { Table } from '../data/table.js';
import { mapCells } from '../data/column.js';
import { concatTables } from '../data/table-build.js';
import { MultilossError } from '../errors.js';
import { cellLabel, fitHead, type Head } from '../model/heads/index.js';
import { modelPixelTransform } from '../model/images.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import type { EncodedData } from './data.js';
import { missingValuesOf, trainFitted, validationSplitOf, type FitOptions } from './fit.js';
import type { SplitLog } from './history.js';
import { evaluateEncoded } from './trainer.js';

/**
 * As for tables (`FitOptions`): callbacks, warnings (images dropped, …),
 * checkpoints, resume, interrupt, a caller's early-stopping monitor and
 * `onSplit` (told the validation split's images, 0-based, ascending).
 */
export interface ImageFitOptions extends FitOptions {
  /** Held-out images (in memory or streamed); otherwise `config.validation.split` of the training images (seeded, stratified). */
  validation?: ImageSet | ImageStream;
  /**
   * Seeded augmentation of the training batches (off by default): never
   * applied to validation or final metrics. Drawn from (training.seed, epoch,
   * batch), so two runs, and a resumed run, see the same images. `fill`
   * defaults to a black pixel's value under the images' scaling.
   */
  augment?: AugmentOptions;
}

type Images = ImageSet | ImageStream;

function columnOf(table: Table, column: string, head: string): number {
  const i = table.columns.indexOf(column);
  if (i < 0) throw new MultilossError('data', `${table.source}: no label column "${column}" (head "${head}"); label columns: ${table.columns.join(', ') || '(none)'}`);
  return i;
}

/** Some images of a set or stream (`rows`, 0-based, in order) with their label table. */
interface ImagePart {
  images: Images;
  rows: number[];
  table: Table;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The label table of every image, missing values normalised. */
function imageLabels(set: Images, config: ResolvedConfig): Table {
  return normalizeMissing(labelTable(set), missingValuesOf(config));
}

/** Drops images without any label; errors for a head without any label. */
function labelledImages(set: Images, config: ResolvedConfig, warn: (m: string) => void): ImagePart {
  const table = imageLabels(set, config);
  const cols = config.heads.map((h) => columnOf(table, h.column, h.name));
  const has = cols.map((c) => mapCells(table.data[c], (cell) => cellLabel(cell) !== null));
  const rows = range(table.length);
  config.heads.forEach((h, k) => {
    if (!rows.some(has[k])) throw new MultilossError('data', `${set.source}: label column "${h.column}" (head "${h.name}") has no value for any image`);
  });
  const keep: number[] = [];
  for (const i of rows) if (has.some((h) => h(i))) keep.push(i);
  if (keep.length === set.n) return { images: set, rows, table };
  warn(`${set.source}: dropped ${set.n - keep.length} image(s) without any label`);
  return { images: set, rows: keep, table: selectRows(table, keep) };
}

/** Pixels of images `idx` of a part (indices into `part.rows`). */
function partPixels(part: ImagePart, idx: readonly number[]): Float32Array {
  return loadImages(part.images, idx.map((i) => part.rows[i]));
}

/** Images per read when statistics are gathered (the same for a set and a stream, so both give the same figures). */
const STATS_CHUNK = 256;

/** Per-channel mean and std of a part's images, read in chunks. */
function channelStatsOf(part: ImagePart, channels: number): { mean: number[]; std: number[] } {
  const stats = new ChannelStats(channels);
  for (let start = 0; start < part.rows.length; start += STATS_CHUNK) {
    stats.add(partPixels(part, range(Math.min(STATS_CHUNK, part.rows.length - start)).map((i) => start + i)));
  }
  return stats.result();
}

/** Throws unless two recorded pixel formats are the same. */
function checkSameFormat(a: Images, b: Images): void {
  if (a.pixels && b.pixels && JSON.stringify(a.pixels) !== JSON.stringify(b.pixels)) {
    throw new MultilossError('data', `${b.source}: validation images were read as ${JSON.stringify(b.pixels)}, training images as ${JSON.stringify(a.pixels)}; read both the same way`);
  }
}

/**
 * Trains a model on images (see the module comment): an ImageSet in memory,
 * or an ImageStream whose pixels are loaded batch by batch (the same batches
 * in the same order, so the same weights, as the set in memory).
 */
export async function fitImageModel(config: ResolvedConfig, images: Images, options: ImageFitOptions = {}): Promise<MultilossModel> {
  const warn = options.warn ?? (() => undefined);
  if (config.approach === 'separate') throw new MultilossError('config', 'approach: separate is not available for images; train one single-head configuration per target');
  checkImageSet(images);
  const augmenting = checkAugment(options.augment, 'augment');
  if (images.n === 0) throw new MultilossError('data', `${images.source}: no images`);
  const all = labelledImages(images, config, warn);
  let train = all;
  let validation: ImagePart | undefined;
  if (options.validation) {
    checkImageSet(options.validation);
    if (options.validation.shape.join() !== images.shape.join()) {
      throw new MultilossError('data', `${options.validation.source}: validation images are ${options.validation.shape.join('×')}, training images ${images.shape.join('×')}`);
    }
    checkSameFormat(images, options.validation);
    validation = labelledImages(options.validation, config, warn);
  } else if (config.validation.split > 0) {
    // The split of every front door (data/split.ts), on the images' indices before unlabelled ones are dropped.
    const table = imageLabels(images, config);
    const split = validationSplitOf(config, table, 'images');
    train = { images, rows: split.train, table: selectRows(table, split.train) };
    validation = { images, rows: split.validation, table: selectRows(table, split.validation) };
    options.onSplit?.(split.validation);
  }
  const labelled: Table = validation ? concatTables([all.table, validation.table], all.table.source) : all.table;
  const heads: Head[] = config.heads.map((spec) => fitHead(spec, train.table, labelled));
  const units = heads.map((h) => h.units);
  const shape = [...images.shape];
  const channels = shape[2];
  const format = images.pixels;
  const stats = format?.scale === 'standardize' ? channelStatsOf(train, channels) : undefined;
  const standardize = (x: Float32Array): Float32Array => (stats ? standardizePixels(x, channels, stats.mean, stats.std) : x);
  const targetsOf = (p: ImagePart) => heads.map((h) => h.encode(p.table));
  // In memory: the pixels gathered (and standardised) once. A stream: loaded per batch.
  const inMemory = (p: ImagePart): EncodedData => {
    const x = p.images === images && p.rows.length === images.n && !isImageStream(images) ? images.x : partPixels(p, range(p.rows.length));
    return { n: p.rows.length, inputSize: imageSize(shape), inputShape: shape, x: standardize(x), targets: targetsOf(p) };
  };
  const loader = (p: ImagePart) => (idx: readonly number[]) => standardize(partPixels(p, idx));
  let trainData: EncodedData | BatchSource;
  let trainRows: EncodedData | EvaluationSource;
  if (isImageStream(images)) {
    const source = new LoadedImageSource(train.rows.length, shape, targetsOf(train), units, loader(train));
    trainData = source;
    trainRows = source.evaluation;
  } else {
    trainData = trainRows = inMemory(train);
  }
  if (augmenting && options.augment) {
    // A black pixel under the images' scaling: what a shift moves in.
    const black = format?.scale === 'symmetric' ? -1 : 0;
    const fill = options.augment.fill ?? Array.from({ length: channels }, (_, k) => (stats ? (black - stats.mean[k]) / stats.std[k] : black));
    const augment = { ...options.augment, fill };
    const [h, w, c] = images.shape;
    const seed = config.training.seed;
    const source = isBatchSource(trainData) ? trainData : new MemoryBatchSource(trainData, units);
    trainData = transformBatches(source, (batch, at) => ({ ...batch, x: augmentImages(batch.x, batch.n, [h, w, c], augment, augmentationRng(seed, at.epoch, at.batch)) }), trainRows);
  }
  const validationData = validation && validation.rows.length
    ? isImageStream(validation.images)
      ? loadedEvaluationSource(validation.rows.length, shape, targetsOf(validation), units, loader(validation))
      : inMemory(validation)
    : undefined;
  const record: ImagePreprocessing | undefined = format ? { ...format, ...(stats ? { mean: stats.mean, std: stats.std } : {}) } : undefined;
  const encoders = { preprocessor: pixelPreprocessor(shape, stats), heads, missing: missingValuesOf(config), inputShape: shape, ...(record ? { images: record } : {}) };
  const { validation: _validation, augment: _augment, onSplit: _onSplit, ...fit } = options;
  return trainFitted(config, encoders, trainData, validationData, fit);
}

function isBatchSource(v: EncodedData | BatchSource): v is BatchSource {
  return typeof (v as BatchSource).epoch === 'function';
}

/** Per-head losses and metrics on labelled images (the model's pixel standardisation applied). */
export function evaluateImages(model: MultilossModel, images: ImageSet): SplitLog {
  checkImageSet(images);
  const transform = modelPixelTransform(model, images);
  const table = normalizeMissing(labelTable(images), model.meta.missingValues);
  model.heads.forEach((h) => columnOf(table, h.spec.column, h.name));
  const data: EncodedData = { n: images.n, inputSize: imageSize(images.shape), inputShape: [...images.shape], x: transform(images.x), targets: model.heads.map((h) => h.encode(table)) };
  return evaluateEncoded(model.network, model.heads, data, model.meta.balance.weights);
}
