/**
 * Training on images. The image entry point beside `fitModel` (which reads
 * tables): `fitImageModel(config, images)` takes an ImageSet (pixels + label
 * columns), fits the heads on the label columns, and trains a network built by
 * the configured architecture on rows of shape H×W×C (EncodedData with
 * `inputShape`). The result is an ordinary MultilossModel: saved and loaded
 * like any other (model.json holds the H×W×C input). Its feature preprocessor
 * is the identity on H·W·C numeric "pixel_i" features, so the model also
 * predicts from flat pixel rows; `predictImages` predicts from an ImageSet and
 * checks the image shape. Browser-safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createStrategy } from '../../balancing/index.js';
import type { BalancingStrategy } from '../../balancing/strategy.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { MultilossError } from '../../errors.js';
import { architectureFactory } from '../../model/architectures/index.js';
import { cellLabel, fitHead, type Head, type HeadPrediction } from '../../model/heads/index.js';
import { MultilossModel, type Prediction } from '../../model/multiloss-model.js';
import type { EncodedData } from '../../training/data.js';
import { tableStrata, type FitOptions } from '../../training/fit.js';
import { Rng } from '../../training/rng.js';
import { evaluateEncoded, Trainer, type TrainerCallbacks } from '../../training/trainer.js';
import type { SplitLog } from '../../training/history.js';
import { FORMAT_VERSION, VERSION } from '../../version.js';
import { DEFAULT_MISSING, normalizeMissing } from '../missing.js';
import { FeaturePreprocessor } from '../preprocess.js';
import { selectRows, splitTrainValidation } from '../split.js';
import type { Table } from '../table.js';
import { mapCells } from '../column.js';
import { concatTables } from '../table-build.js';
import { checkImageSet, imageSize, labelTable, subsetImages, type ImageSet } from './dataset.js';

export interface ImageFitOptions {
  /** Held-out images; otherwise `config.validation.split` of the training images (seeded, stratified). */
  validation?: ImageSet;
  callbacks?: TrainerCallbacks;
  /** Non-fatal notices (images dropped, …). */
  warn?: (message: string) => void;
  /** Told the validation split's images (0-based indices, ascending) before training, as `FitOptions.onSplit`. */
  onSplit?: FitOptions['onSplit'];
}

/** The identity preprocessing on flat pixel rows (what multiloss.json records for an image model). */
export function pixelPreprocessor(shape: readonly number[]): FeaturePreprocessor {
  const features = Array.from({ length: imageSize(shape) }, (_, i) => ({ name: `pixel_${i}`, type: 'numeric' as const, mean: 0, std: 1, missingIndicator: false }));
  return FeaturePreprocessor.fromJSON({ version: 1, features });
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
  return normalizeMissing(labelTable(set), [...DEFAULT_MISSING, ...(config.missingValues ?? [])]);
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

/** The image shape a model takes ([H, W, C]; [k] for a tabular model). */
export function modelInputShape(model: MultilossModel): number[] {
  return model.network.model.inputs[0].shape.slice(1) as number[];
}

/** Throws a one-line error unless `shape` is the model's input shape. */
export function checkImageShape(model: MultilossModel, shape: readonly number[], source: string): void {
  const want = modelInputShape(model);
  if (want.length !== 3) throw new MultilossError('data', `${source}: this model takes tabular rows of ${want.join('×')} features, not images`);
  if (shape.length === 3 && shape[0] === want[0] && shape[1] === want[1] && shape[2] === want[2]) return;
  const what = shape[0] === want[0] && shape[1] === want[1] ? `${shape[2]} channel(s); the model expects ${want[2]}` : `size ${shape[0]}×${shape[1]}; the model expects ${want[0]}×${want[1]}`;
  throw new MultilossError('data', `${source}: images of shape ${shape.join('×')} (height×width×channels) do not fit this model's input ${want.join('×')}: ${what}`);
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
    const split = splitTrainValidation(images.n, config.validation.split, config.training.seed, tableStrata(table, config));
    if (split.train.length === 0) throw new MultilossError('config', `validation.split ${config.validation.split} leaves no training images`);
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

  const architecture = architectureFactory(config.architecture.kind);
  architecture.validate(config.architecture, config.trunk);
  const outputs = heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation }));
  const network = architecture.create(config.architecture, config.trunk, shape, outputs, new Rng(config.training.seed));
  let strategy: BalancingStrategy;
  let trainer: Trainer;
  try {
    strategy = createStrategy(
      config.balance,
      heads.map((h) => ({ name: h.name, kind: h.kind, weight: h.spec.weight ?? 1 })),
    );
    trainer = new Trainer(network, heads, strategy, config.training);
  } catch (e) {
    network.dispose();
    throw e;
  }
  let state: Record<string, unknown>;
  try {
    await trainer.fit(trainData, validationData, options.callbacks ?? {});
    state = strategy.getState();
  } catch (e) {
    network.dispose();
    throw e;
  } finally {
    trainer.dispose();
    if (strategy.kind === 'loss') strategy.dispose?.();
  }
  const weights = trainer.currentWeights();
  const metrics = {
    train: evaluateEncoded(network, heads, trainData, weights),
    validation: validationData ? evaluateEncoded(network, heads, validationData, weights) : undefined,
  };
  return new MultilossModel(network, heads, pixelPreprocessor(shape), {
    format: 'multiloss',
    formatVersion: FORMAT_VERSION,
    libraryVersion: VERSION,
    createdAt: new Date().toISOString(),
    missingValues: [...DEFAULT_MISSING, ...(config.missingValues ?? [])],
    config,
    balance: { method: strategy.name, state, weights },
    metrics,
    history: trainer.history,
  });
}

/** The saved network's outputs for a set of images, one n×units array per head. Checks the image shape first. */
export function predictImageOutputs(model: MultilossModel, images: Pick<ImageSet, 'n' | 'shape' | 'x' | 'source'>, batchSize = 256): Float32Array[] {
  checkImageShape(model, images.shape, images.source);
  const d = imageSize(images.shape);
  if (images.x.length !== images.n * d) throw new MultilossError('data', `${images.source}: ${images.x.length} pixel values for ${images.n} images of ${images.shape.join('×')}`);
  const outs = model.heads.map((h) => new Float32Array(images.n * h.units));
  for (let start = 0; start < images.n; start += batchSize) {
    const m = Math.min(batchSize, images.n - start);
    const results = tf.tidy(() => model.network.predict(tf.tensor4d(images.x.subarray(start * d, (start + m) * d), [m, ...images.shape])));
    results.forEach((t, h) => {
      outs[h].set(t.dataSync() as Float32Array, start * model.heads[h].units);
      t.dispose();
    });
  }
  return outs;
}

/** Decoded predictions of every head, one object per image. */
export function predictImages(model: MultilossModel, images: Pick<ImageSet, 'n' | 'shape' | 'x' | 'source'>): Prediction[] {
  const outs = predictImageOutputs(model, images);
  return Array.from({ length: images.n }, (_, i) => {
    const p: Record<string, HeadPrediction> = {};
    model.heads.forEach((h, k) => (p[h.name] = h.decode(outs[k], i)));
    return p;
  });
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
