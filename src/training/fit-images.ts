/**
 * Training on images. The image entry point beside `fitModel` (which reads
 * tables): `fitImageModel(config, images)` takes an ImageSet (pixels + label
 * columns), fits the heads on the label columns, and trains a network built by
 * the configured architecture on rows of shape H×W×C (EncodedData with
 * `inputShape`) through the same path as every configuration front door
 * (`trainFitted` → `runTraining`). The result is an ordinary MultilossModel:
 * saved and loaded like any other (model.json holds the H×W×C input). Its
 * feature preprocessor is the identity on H·W·C numeric "pixel_i" features,
 * so the model also predicts from flat pixel rows; `predictImages`
 * (model/images.ts) predicts from an ImageSet and checks the image shape.
 * Browser-safe.
 */
import type { ResolvedConfig } from '../config/resolve.js';
import { checkImageSet, imageSize, labelTable, pixelPreprocessor, subsetImages, type ImageSet } from '../data/images/dataset.js';
import { normalizeMissing } from '../data/missing.js';
import { selectRows } from '../data/split.js';
import type { Table } from '../data/table.js';
import { mapCells } from '../data/column.js';
import { concatTables } from '../data/table-build.js';
import { MultilossError } from '../errors.js';
import { cellLabel, fitHead, type Head, type HeadSpec } from '../model/heads/index.js';
import { checkImageShape, networksOf } from '../model/images.js';
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
  /** Held-out images; otherwise `config.validation.split` of the training images (seeded, stratified). */
  validation?: ImageSet;
}

/** Separate models on images: the options of `fitSeparate`, plus held-out images. */
export interface SeparateImageFitOptions extends SeparateFitOptions {
  /** Held-out images; otherwise `config.validation.split` of the training images (seeded, stratified). */
  validation?: ImageSet;
}

function columnOf(table: Table, column: string, head: string): number {
  const i = table.columns.indexOf(column);
  if (i < 0) throw new MultilossError('data', `${table.source}: no label column "${column}" (head "${head}"); label columns: ${table.columns.join(', ') || '(none)'}`);
  return i;
}

/** Images with their label table. */
export interface LabelledImages {
  set: ImageSet;
  table: Table;
}

/** The label table of every image, missing values normalised. */
function imageLabels(set: ImageSet, config: ResolvedConfig): Table {
  return normalizeMissing(labelTable(set), missingValuesOf(config));
}

/** Drops images without any label; errors for a head without any label. */
function labelledImages(set: ImageSet, config: ResolvedConfig, warn: (m: string) => void): LabelledImages {
  const table = imageLabels(set, config);
  const cols = config.heads.map((h) => columnOf(table, h.column, h.name));
  const has = cols.map((c) => mapCells(table.data[c], (cell) => cellLabel(cell) !== null));
  const rows = Array.from({ length: table.length }, (_, i) => i);
  config.heads.forEach((h, k) => {
    if (!rows.some(has[k])) throw new MultilossError('data', `${set.source}: label column "${h.column}" (head "${h.name}") has no value for any image`);
  });
  const keep: number[] = [];
  for (const i of rows) if (has.some((h) => h(i))) keep.push(i);
  if (keep.length === set.n) return { set, table };
  warn(`${set.source}: dropped ${set.n - keep.length} image(s) without any label`);
  const sub = subsetImages(set, keep);
  return { set: sub, table: selectRows(table, keep) };
}

/** The images a run trains and validates on (unlabelled images dropped), as `splitInput` gives a table's rows. */
export interface ImageSplit {
  /** Every labelled training image before the validation split (the whole input when validation images were given). */
  all: LabelledImages;
  train: LabelledImages;
  validation?: LabelledImages;
}

/** Checks the images, drops unlabelled ones and takes the seeded (stratified) validation split, or uses the given validation images. */
export function splitImages(config: ResolvedConfig, images: ImageSet, given: ImageSet | undefined, warn: (m: string) => void, onSplit?: FitOptions['onSplit']): ImageSplit {
  checkImageSet(images);
  if (images.n === 0) throw new MultilossError('data', `${images.source}: no images`);
  const all = labelledImages(images, config, warn);
  if (given) {
    checkImageSet(given);
    if (given.shape.join() !== images.shape.join()) {
      throw new MultilossError('data', `${given.source}: validation images are ${given.shape.join('×')}, training images ${images.shape.join('×')}`);
    }
    return { all, train: all, validation: labelledImages(given, config, warn) };
  }
  if (config.validation.split > 0) {
    // The split of every front door (data/split.ts), on the images' indices before unlabelled ones are dropped.
    const table = imageLabels(images, config);
    const split = validationSplitOf(config, table, 'images');
    const part = (idx: number[]): LabelledImages => ({ set: subsetImages(images, idx), table: selectRows(table, idx) });
    onSplit?.(split.validation);
    return { all, train: part(split.train), validation: part(split.validation) };
  }
  return { all, train: all };
}

/** Trains a model on images (see the module comment). */
export async function fitImageModel(config: ResolvedConfig, images: ImageSet, options: ImageFitOptions = {}): Promise<MultilossModel> {
  const warn = options.warn ?? (() => undefined);
  if (config.approach === 'separate') throw new MultilossError('config', 'approach: separate trains one model per target: use fitSeparateImages (the CLI does)');
  const { all, train, validation } = splitImages(config, images, options.validation, warn, options.onSplit);
  const labelled: Table = validation ? concatTables([all.table, validation.table], all.table.source) : all.table;
  const heads: Head[] = config.heads.map((spec) => fitHead(spec, train.table, labelled));
  const shape = [...images.shape];
  const encode = (p: { set: ImageSet; table: Table }): EncodedData => ({
    n: p.set.n,
    inputSize: imageSize(shape),
    inputShape: shape,
    x: p.set.x,
    targets: heads.map((h) => h.encode(p.table)),
  });
  const trainData = encode(train);
  const validationData = validation && validation.set.n ? encode(validation) : undefined;
  const encoders = { preprocessor: pixelPreprocessor(shape), heads, missing: missingValuesOf(config), inputShape: shape };
  const { validation: _validation, onSplit: _onSplit, ...fit } = options;
  return trainFitted(config, encoders, trainData, validationData, fit);
}

/** The images labelled for `head` (the same object when every image is). */
function imagesLabelledFor(p: LabelledImages, head: HeadSpec): LabelledImages {
  const at = mapCells(p.table.data[columnOf(p.table, head.column, head.name)], (cell) => cellLabel(cell) !== null);
  const keep: number[] = [];
  for (let i = 0; i < p.set.n; i++) if (at(i)) keep.push(i);
  return keep.length === p.set.n ? p : { set: subsetImages(p.set, keep), table: selectRows(p.table, keep) };
}

/**
 * Separate models on images (approach `separate`): one single-head model per
 * target, each trained by `fitImageModel` on the images labelled for it, with
 * the validation split taken once over all targets, exactly as `fitSeparate`
 * does for tables (and through the same run: checkpoints, resume, interrupt).
 */
export async function fitSeparateImages(config: ResolvedConfig, images: ImageSet, options: SeparateImageFitOptions = {}): Promise<SeparateModels> {
  const warn = options.warn ?? (() => undefined);
  const joint: ResolvedConfig = { ...config, approach: 'joint' };
  const { train, validation } = splitImages(joint, images, options.validation, warn, options.onSplit);
  const configs = config.heads.map((head) => subModelConfig(config, head, config.features, options.deltaMBaseline ?? false));
  return trainSeparately(config, configs, options, (k, fitOptions) => {
    const head = config.heads[k];
    const own = imagesLabelledFor(train, head);
    let val = validation && imagesLabelledFor(validation, head);
    if (validation && validation.set.n && val?.set.n === 0) warn(`head "${head.name}": no labelled validation image; its model trains without validation`);
    if (val?.set.n === 0) val = undefined;
    return fitImageModel(configs[k], own.set, { ...fitOptions, validation: val?.set });
  });
}

/** Per-head losses and metrics on labelled images, with the number of images and of labelled images per head (as `evaluate` on a table). */
export function evaluateImages(model: MultiOutputModel | MultilossModel, images: ImageSet): Evaluation {
  checkImageSet(images);
  checkImageShape(model, images.shape, images.source);
  const evaluations = networksOf(model).map((m) => {
    const table = normalizeMissing(labelTable(images), m.meta.missingValues);
    m.heads.forEach((h) => columnOf(table, h.spec.column, h.name));
    const data: EncodedData = { n: images.n, inputSize: imageSize(images.shape), inputShape: [...images.shape], x: images.x, targets: m.heads.map((h) => h.encode(table)) };
    const labelled: Record<string, number> = {};
    m.heads.forEach((h, k) => (labelled[h.name] = data.targets[k].mask.reduce((a, b) => a + b, 0)));
    return { split: evaluateEncoded(m.network, m.heads, data, m.meta.balance.weights), labelled };
  });
  const split = mergeSplitLogs(evaluations.map((e) => e.split)) as SplitLog;
  return { ...split, rows: images.n, labelled: Object.assign({}, ...evaluations.map((e) => e.labelled)) as Record<string, number> };
}
