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
import { cellLabel, fitHead, type Head } from '../model/heads/index.js';
import { checkImageShape } from '../model/images.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import type { EncodedData } from './data.js';
import { missingValuesOf, trainFitted, validationSplitOf, type FitOptions } from './fit.js';
import type { SplitLog } from './history.js';
import { evaluateEncoded } from './trainer.js';
import type { TrainingCallbacks } from './types.js';

export interface ImageFitOptions {
  /** Held-out images; otherwise `config.validation.split` of the training images (seeded, stratified). */
  validation?: ImageSet;
  callbacks?: TrainingCallbacks<MultilossModel>;
  /** Non-fatal notices (images dropped, …). */
  warn?: (message: string) => void;
  /** Told the validation split's images (0-based indices, ascending) before training, as `FitOptions.onSplit`. */
  onSplit?: FitOptions['onSplit'];
}

function columnOf(table: Table, column: string, head: string): number {
  const i = table.columns.indexOf(column);
  if (i < 0) throw new MultilossError('data', `${table.source}: no label column "${column}" (head "${head}"); label columns: ${table.columns.join(', ') || '(none)'}`);
  return i;
}

/** Images with their label table. */
interface LabelledImages {
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

/** Trains a model on images (see the module comment). */
export async function fitImageModel(config: ResolvedConfig, images: ImageSet, options: ImageFitOptions = {}): Promise<MultilossModel> {
  const warn = options.warn ?? (() => undefined);
  if (config.approach === 'separate') throw new MultilossError('config', 'approach: separate is not available for images; train one single-head configuration per target');
  checkImageSet(images);
  if (images.n === 0) throw new MultilossError('data', `${images.source}: no images`);
  const all = labelledImages(images, config, warn);
  let train = all;
  let validation: LabelledImages | undefined;
  if (options.validation) {
    checkImageSet(options.validation);
    if (options.validation.shape.join() !== images.shape.join()) {
      throw new MultilossError('data', `${options.validation.source}: validation images are ${options.validation.shape.join('×')}, training images ${images.shape.join('×')}`);
    }
    validation = labelledImages(options.validation, config, warn);
  } else if (config.validation.split > 0) {
    // The split of every front door (data/split.ts), on the images' indices before unlabelled ones are dropped.
    const table = imageLabels(images, config);
    const split = validationSplitOf(config, table, 'images');
    const part = (idx: number[]): LabelledImages => ({ set: subsetImages(images, idx), table: selectRows(table, idx) });
    train = part(split.train);
    validation = part(split.validation);
    options.onSplit?.(split.validation);
  }
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
  return trainFitted(config, encoders, trainData, validationData, { callbacks: options.callbacks });
}

/** Per-head losses and metrics on labelled images. */
export function evaluateImages(model: MultilossModel, images: ImageSet): SplitLog {
  checkImageSet(images);
  checkImageShape(model, images.shape, images.source);
  const table = normalizeMissing(labelTable(images), model.meta.missingValues);
  model.heads.forEach((h) => columnOf(table, h.spec.column, h.name));
  const data: EncodedData = { n: images.n, inputSize: imageSize(images.shape), inputShape: [...images.shape], x: images.x, targets: model.heads.map((h) => h.encode(table)) };
  return evaluateEncoded(model.network, model.heads, data, model.meta.balance.weights);
}
