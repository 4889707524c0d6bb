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
 * `augment` (the options', else the configuration's `data.augment`)
 * transforms the training batches only (`transformBatches`).
 * `fitSeparateImages` trains one such network per head on the images
 * labelled for it (index lists again: a stream fits separate models too).
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
import { cellLabel, fitHead, type Head, type HeadSpec } from '../model/heads/index.js';
import { checkImageShape, modelPixelTransform, networksOf } from '../model/images.js';
import type { Evaluation, MultilossModel } from '../model/multiloss-model.js';
import type { EncodedData } from './data.js';
import { missingValuesOf, trainFitted, validationSplitOf, type FitOptions } from './fit.js';
import type { SplitLog } from './history.js';
import { evaluateEncoded } from './trainer.js';
import { subModelConfig, trainSeparately, type SeparateFitOptions } from './fit-separate.js';
import { mergeSplitLogs, type SeparateModels } from '../model/separate-models.js';
import type { MultiOutputModel } from '../model/multi-output.js';

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

/** Separate models on images: the options of `fitSeparate`, plus held-out images and augmentation (as `ImageFitOptions`). */
export interface SeparateImageFitOptions extends SeparateFitOptions, Pick<ImageFitOptions, 'validation' | 'augment'> {}

type Images = ImageSet | ImageStream;

function columnOf(table: Table, column: string, head: string): number {
  const i = table.columns.indexOf(column);
  if (i < 0) throw new MultilossError('data', `${table.source}: no label column "${column}" (head "${head}"); label columns: ${table.columns.join(', ') || '(none)'}`);
  return i;
}

/** Some images of a set or stream (`rows`, 0-based, in order) with their label table. */
export interface ImagePart {
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

/** The images a run trains and validates on (unlabelled images dropped), as `splitInput` gives a table's rows. */
export interface ImageSplit {
  /** Every labelled training image before the validation split (the whole input when validation images were given). */
  all: ImagePart;
  train: ImagePart;
  validation?: ImagePart;
}

/** Checks the images, drops unlabelled ones and takes the seeded (stratified) validation split, or uses the given validation images. */
export function splitImages(config: ResolvedConfig, images: Images, given: Images | undefined, warn: (m: string) => void, onSplit?: FitOptions['onSplit']): ImageSplit {
  checkImageSet(images);
  if (images.n === 0) throw new MultilossError('data', `${images.source}: no images`);
  const all = labelledImages(images, config, warn);
  if (given) {
    checkImageSet(given);
    if (given.shape.join() !== images.shape.join()) {
      throw new MultilossError('data', `${given.source}: validation images are ${given.shape.join('×')}, training images ${images.shape.join('×')}`);
    }
    checkSameFormat(images, given);
    return { all, train: all, validation: labelledImages(given, config, warn) };
  }
  if (config.validation.split > 0) {
    // The split of every front door (data/split.ts), on the images' indices before unlabelled ones are dropped.
    const table = imageLabels(images, config);
    const split = validationSplitOf(config, table, 'images');
    const train = Array.from(split.train);
    const validation = Array.from(split.validation);
    onSplit?.(validation);
    return { all, train: { images, rows: train, table: selectRows(table, split.train) }, validation: { images, rows: validation, table: selectRows(table, split.validation) } };
  }
  return { all, train: all };
}

/**
 * Trains a model on images (see the module comment): an ImageSet in memory,
 * or an ImageStream whose pixels are loaded batch by batch (the same batches
 * in the same order, so the same weights, as the set in memory).
 */
export async function fitImageModel(config: ResolvedConfig, images: Images, options: ImageFitOptions = {}): Promise<MultilossModel> {
  const warn = options.warn ?? (() => undefined);
  if (config.approach === 'separate') throw new MultilossError('config', 'approach: separate trains one model per target: use fitSeparateImages (the CLI does)');
  const augment = augmentOf(config, options);
  const { validation: given, augment: _augment, onSplit, ...fit } = options;
  const split = splitImages(config, images, given, warn, onSplit);
  return fitImageParts(config, split, augment, fit);
}

/** The augmentation a run applies: the options' (library), else the configuration's (`data.augment`); undefined when it changes nothing. */
function augmentOf(config: ResolvedConfig, options: Pick<ImageFitOptions, 'augment'>): AugmentOptions | undefined {
  const augment = options.augment ?? config.images?.augment;
  return checkAugment(augment, 'augment') ? augment : undefined;
}

/** Trains one network on the parts of a split (the images of `split.train` may be a subset of a set or stream, by index). */
async function fitImageParts(config: ResolvedConfig, { all, train, validation }: ImageSplit, augment: AugmentOptions | undefined, fit: FitOptions): Promise<MultilossModel> {
  const images = train.images;
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
  if (augment) {
    // A black pixel under the images' scaling: what a shift moves in.
    const black = format?.scale === 'symmetric' ? -1 : 0;
    const fill = augment.fill ?? Array.from({ length: channels }, (_, k) => (stats ? (black - stats.mean[k]) / stats.std[k] : black));
    const options = { ...augment, fill };
    const [h, w, c] = images.shape;
    const seed = config.training.seed;
    const source = isBatchSource(trainData) ? trainData : new MemoryBatchSource(trainData, units);
    trainData = transformBatches(source, (batch, at) => ({ ...batch, x: augmentImages(batch.x, batch.n, [h, w, c], options, augmentationRng(seed, at.epoch, at.batch)) }), trainRows);
  }
  const validationData = validation && validation.rows.length
    ? isImageStream(validation.images)
      ? loadedEvaluationSource(validation.rows.length, shape, targetsOf(validation), units, loader(validation))
      : inMemory(validation)
    : undefined;
  const record: ImagePreprocessing | undefined = format ? { ...format, ...(stats ? { mean: stats.mean, std: stats.std } : {}) } : undefined;
  const encoders = { preprocessor: pixelPreprocessor(shape, stats), heads, missing: missingValuesOf(config), inputShape: shape, ...(record ? { images: record } : {}) };
  return trainFitted(config, encoders, trainData, validationData, fit);
}

function isBatchSource(v: EncodedData | BatchSource): v is BatchSource {
  return typeof (v as BatchSource).epoch === 'function';
}

/** The images of a part labelled for `head` (the same part when every image is). */
function partLabelledFor(p: ImagePart, head: HeadSpec): ImagePart {
  const at = mapCells(p.table.data[columnOf(p.table, head.column, head.name)], (cell) => cellLabel(cell) !== null);
  const keep: number[] = [];
  for (let i = 0; i < p.rows.length; i++) if (at(i)) keep.push(i);
  return keep.length === p.rows.length ? p : { images: p.images, rows: keep.map((i) => p.rows[i]), table: selectRows(p.table, keep) };
}

/**
 * Separate models on images (approach `separate`): one single-head model per
 * target, each trained on the images labelled for it (indices into the same
 * set or stream: nothing copied), with the validation split taken once over
 * all targets, exactly as `fitSeparate` does for tables (and through the same
 * run: checkpoints, resume, interrupt). Each model records its own pixel
 * preparation (with `standardize`, the mean and std of its own images).
 */
export async function fitSeparateImages(config: ResolvedConfig, images: Images, options: SeparateImageFitOptions = {}): Promise<SeparateModels> {
  const warn = options.warn ?? (() => undefined);
  const augment = augmentOf(config, options);
  const joint: ResolvedConfig = { ...config, approach: 'joint' };
  const { train, validation } = splitImages(joint, images, options.validation, warn, options.onSplit);
  const configs = config.heads.map((head) => subModelConfig(config, head, config.features, options.deltaMBaseline ?? false));
  return trainSeparately(config, configs, options, (k, fitOptions) => {
    const head = config.heads[k];
    const own = partLabelledFor(train, head);
    let val = validation && partLabelledFor(validation, head);
    if (validation && validation.rows.length && val?.rows.length === 0) warn(`head "${head.name}": no labelled validation image; its model trains without validation`);
    if (val?.rows.length === 0) val = undefined;
    return fitImageParts(configs[k], { all: own, train: own, validation: val }, augment, fitOptions);
  });
}

/**
 * Per-head losses and metrics on labelled images, with the number of images
 * and of labelled images per head (as `evaluate` on a table); each network's
 * pixel preparation applied (see `modelPixelTransform`).
 */
export function evaluateImages(model: MultiOutputModel | MultilossModel, images: ImageSet): Evaluation {
  checkImageSet(images);
  checkImageShape(model, images.shape, images.source);
  const evaluations = networksOf(model).map((m) => {
    const transform = modelPixelTransform(m, images);
    const table = normalizeMissing(labelTable(images), m.meta.missingValues);
    m.heads.forEach((h) => columnOf(table, h.spec.column, h.name));
    const data: EncodedData = { n: images.n, inputSize: imageSize(images.shape), inputShape: [...images.shape], x: transform(images.x), targets: m.heads.map((h) => h.encode(table)) };
    const labelled: Record<string, number> = {};
    m.heads.forEach((h, k) => (labelled[h.name] = data.targets[k].mask.reduce((a, b) => a + b, 0)));
    return { split: evaluateEncoded(m.network, m.heads, data, m.meta.balance.weights), labelled };
  });
  const split = mergeSplitLogs(evaluations.map((e) => e.split)) as SplitLog;
  return { ...split, rows: images.n, labelled: Object.assign({}, ...evaluations.map((e) => e.labelled)) as Record<string, number> };
}
