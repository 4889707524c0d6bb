import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { BalanceSpec, BalancingStrategy } from '../balancing/index.js';
import { MultilossError } from '../errors.js';
import type { Head, HeadPrediction } from '../model/heads/head.js';
import type { OutputSpec, TrainableNetwork } from '../model/trainable-network.js';
import { subsetData, type EncodedData } from '../training/data.js';
import type { History, SplitLog } from '../training/history.js';
import { splitTrainValidation, type Stratum, type TrainValidationSplit } from '../data/split.js';
import type { TrainingStop } from '../training/early-stopping.js';
import { MemoryBatchSource } from '../training/batch-source.js';
import { resolveTrainingOptions, type TrainerOptions, type TrainingConfig } from '../training/options.js';
import { runTraining } from '../training/run.js';
import { evaluateEncoded, evaluateSource } from '../training/trainer.js';
import type { InterruptFlag, ResumePoint, TrainingCallbacks } from '../training/types.js';
import { ElementStream, isStreamSource, readSource, type ArrayData, type DataSource, type DatasetLike, type LabelReader, type RawData } from './data.js';
import { FunctionNetwork, type FunctionModel } from './function-network.js';
import { buildHead, labelReader, planHead, type HeadConfig, type HeadPlan } from './heads.js';
import { classPicker, encode, encodedRows, firstRows, streamBatchSource, streamedData, subsetRaw, validationOf, type PreparedData } from './stream-data.js';
import { LayersModelNetwork, type SharingDescription } from './layers-network.js';

/** Options shared by every entry point. */
export interface TrainOptions {
  /** One head per output, by output name (the order here is the heads' order). */
  heads: Record<string, HeadConfig>;
  /** The balancing method: a name, or `{ method, mode?, …options }` (default 'static'). */
  balance?: string | BalanceSpec;
  training?: TrainingConfig;
  /** Validation data, evaluated after each epoch (exact streaming metrics). */
  validationData?: DataSource;
  /**
   * Or: hold out this fraction of the training rows (seeded by training.seed):
   * the rows the CLI, streaming and image training take for the same data,
   * seed and fraction (see `splitTrainValidation`).
   */
  validationSplit?: number;
  /** Stratify `validationSplit` on the first classification head (default true, as `validation.stratify`). */
  stratifySplit?: boolean;
  callbacks?: TrainingCallbacks;
  resume?: ResumePoint;
  /** Set `interrupted` to stop after the current step with an 'interrupt' checkpoint. */
  interrupt?: InterruptFlag;
}

export interface TrainLayersModelOptions extends TrainOptions {
  /**
   * Overrides which variables gradient methods balance: layer names,
   * variable names or variables. Must include every variable two or more
   * outputs use. Default: derived from the graph.
   */
  sharedVariables?: readonly (string | tf.Variable)[];
}

/**
 * What training produced. The model's variables hold the trained weights:
 * those of the last epoch run — also when a callback or early stopping ended
 * training — except with `training.earlyStopping` and `restoreBest` (the
 * default), where they are the best epoch's (`bestEpoch`).
 */
export interface TrainingResult {
  history: History;
  /** The heads, in the order of `options.heads`. */
  heads: readonly Head[];
  /** The network adapter the trainer ran (forward passes, shared/head variables). */
  network: TrainableNetwork;
  /** Epochs run (less than configured when stopped early). */
  epochs: number;
  /** True when a callback (`control.stop()`) or early stopping ended training before `training.epochs`. */
  stopped: boolean;
  /** With early stopping: the best epoch, whose weights the model holds when `restoreBest` (default). */
  bestEpoch?: number;
  /** With `validationSplit`: the held-out rows, as 0-based indices of the training data's rows, ascending. */
  validationRows?: number[];
  /** Why training ended (patience exhausted, epoch cap, callback), the monitor and the best epoch; `describeStop` words it. */
  stop: TrainingStop;
  /** The weight of each head at the end (the balancing method's last weights). */
  weights: Record<string, number>;
  /** The balancing method and its state (e.g. uncertainty's log-variances). */
  balancing: { method: string; state: Record<string, unknown> };
  /** Loss and metrics of the final weights, exact over the whole set. */
  metrics: { train: SplitLog; validation?: SplitLog };
  /**
   * The network's outputs by output name, activated (probabilities for
   * softmax/sigmoid heads; a standardized regression head's value is in its
   * standardized space). The caller disposes them.
   */
  predict(xs: tf.Tensor): Record<string, tf.Tensor2D>;
  /** One decoded prediction per row: class labels with probabilities, numbers in the label's unit. */
  predictDecoded(xs: tf.Tensor): Record<string, HeadPrediction>[];
  /** Loss and metrics of the current weights on labelled data. */
  evaluate(data: DataSource): Promise<SplitLog>;
}

function balanceSpec(b: TrainOptions['balance']): BalanceSpec {
  if (b === undefined) return { method: 'static' };
  if (typeof b === 'string') {
    const [method, mode] = b.split(':');
    return mode ? { method, mode: mode as BalanceSpec['mode'] } : { method };
  }
  return b;
}

/** Checks heads against outputs, listing both mismatches at once. */
function matchHeads(outputNames: readonly string[], heads: Record<string, HeadConfig>, what: string): void {
  if (!heads || typeof heads !== 'object') throw new MultilossError('config', 'options.heads: expected { outputName: { kind, … } }');
  const names = Object.keys(heads);
  const noHead = outputNames.filter((o) => !names.includes(o));
  const noOutput = names.filter((h) => !outputNames.includes(h));
  if (noHead.length || noOutput.length) {
    const parts: string[] = [];
    if (noHead.length) parts.push(`${what} output${noHead.length > 1 ? 's' : ''} without a head: ${noHead.map((n) => `"${n}"`).join(', ')}`);
    if (noOutput.length) parts.push(`head${noOutput.length > 1 ? 's' : ''} without a ${what} output: ${noOutput.map((n) => `"${n}"`).join(', ')}`);
    throw new MultilossError('config', `${parts.join('; ')} (outputs: ${outputNames.join(', ')}; heads: ${names.join(', ') || 'none'})`);
  }
}

interface Prepared {
  plans: HeadPlan[];
  network: TrainableNetwork;
  inputShape?: (number | null)[];
  /** Extra checks once the strategy exists. */
  checkStrategy(strategy: BalancingStrategy, options: TrainerOptions): void;
}

/**
 * Trains a functional tfjs LayersModel with named outputs through multiloss's
 * training loop: one head per output (`options.heads`, keyed by output name),
 * a balancing method, masks and sample weights, early stopping, checkpoints.
 * The model's own variables are trained in place.
 *
 * Shared variables (what gradient methods balance) are derived from the graph:
 * the layers used by two or more outputs (see `describeSharing`). An output
 * whose last layer applies softmax/sigmoid is trained from its logits (the
 * activation is left out of the loss and put back for metrics and
 * predictions); an output without an activation is read as the raw value
 * (logits for a classification head). Layer regularizers and constraints are
 * not applied (use `optimizer: { name: 'adamw', weightDecay }`).
 *
 * @example
 * const result = await trainLayersModel(model, {
 *   heads: { species: { kind: 'classification', classes: ['a', 'b', 'c'] }, mass: { kind: 'regression' } },
 *   balance: 'pcgrad',
 *   training: { epochs: 20, batchSize: 32, seed: 1 },
 * }, { xs, ys: { species: speciesIndices, mass: masses } });
 */
export async function trainLayersModel(model: tfl.LayersModel, options: TrainLayersModelOptions, data: DataSource): Promise<TrainingResult> {
  matchHeads(model.outputNames, options.heads, 'model');
  const outputIndex = (name: string) => model.outputNames.indexOf(name);
  const plans = Object.entries(options.heads).map(([name, config]) => {
    const shape = model.outputs[outputIndex(name)].shape;
    const width = shape.length === 2 && typeof shape[1] === 'number' ? shape[1] : undefined;
    return planHead(name, config, width);
  });
  const network = new LayersModelNetwork(model, outputSpecs(plans), { sharedVariables: options.sharedVariables });
  return run(
    {
      plans,
      network,
      inputShape: model.inputs[0].shape.slice(1),
      checkStrategy: (strategy) => {
        const sharing = network.describeSharing();
        checkShared(strategy, network, () => describeHeadLayers(sharing));
        if (strategy.kind === 'gradient' && strategy.mode === 'rep' && network.repUnavailable) {
          throw new MultilossError('config', `balance.mode "rep" needs a single shared representation, but ${network.repUnavailable}; use mode: param`);
        }
        if (strategy.kind === 'loss' && strategy.requires?.sharedGradNorms && network.lastSharedVariables.length === 0) {
          throw new MultilossError('config', `balance.method "${strategy.name}" needs a shared layer with weights`);
        }
      },
    },
    options,
    data,
  );
}

/** Describes a LayersModel's derived sharing: which layers are shared and which belong to each output. */
export function describeSharing(model: tfl.LayersModel, heads: Record<string, HeadConfig>, options: { sharedVariables?: readonly (string | tf.Variable)[] } = {}): SharingDescription {
  matchHeads(model.outputNames, heads, 'model');
  const plans = Object.entries(heads).map(([name, config]) => {
    const shape = model.outputs[model.outputNames.indexOf(name)].shape;
    return planHead(name, config, shape.length === 2 && typeof shape[1] === 'number' ? shape[1] : undefined);
  });
  return new LayersModelNetwork(model, outputSpecs(plans), options).describeSharing();
}

function describeHeadLayers(s: SharingDescription): string {
  return Object.entries(s.headLayers)
    .map(([name, layers]) => `${name} ← ${layers.join(', ') || '(no layer of its own)'}`)
    .join('; ');
}

function checkShared(strategy: BalancingStrategy, network: TrainableNetwork, describe: () => string): void {
  if (strategy.kind === 'gradient' && network.sharedVariables.length === 0) {
    throw new MultilossError(
      'config',
      `balance.method "${strategy.name}" balances the gradients of the variables two or more outputs share, but no layer of this model is used by two outputs (${describe()}); use a loss-based method, or share a layer`,
    );
  }
}

function outputSpecs(plans: readonly HeadPlan[]): OutputSpec[] {
  return plans.map((p) => ({ name: p.name, units: p.units, activation: p.activation }));
}

/**
 * Trains a model written as plain tfjs-core code (`FunctionModel`: a forward
 * function and its variables) through multiloss's training loop. Output
 * names are the keys of `model.variables.heads` (and of what `forward`
 * returns); the variables are trained in place.
 *
 * @example
 * const w = tf.variable(tf.randomNormal([4, 8])), a = tf.variable(tf.zeros([8, 1])), b = tf.variable(tf.zeros([8, 1]));
 * await trainFunctionModel({
 *   forward: (x) => { const h = tf.relu(tf.matMul(x, w)); return { a: tf.matMul(h, a), b: tf.matMul(h, b) }; },
 *   variables: { shared: [w], heads: { a: [a], b: [b] } },
 * }, { heads: { a: { kind: 'regression' }, b: { kind: 'binary' } } }, { xs, ys: { a: ya, b: yb } });
 */
export async function trainFunctionModel(model: FunctionModel, options: TrainOptions, data: DataSource): Promise<TrainingResult> {
  if (!model || typeof model !== 'object' || !model.variables?.heads) throw new MultilossError('config', 'a function model needs variables: { shared, heads }');
  const outputNames = Object.keys(model.variables.heads);
  matchHeads(outputNames, options.heads, 'model');
  const plans = Object.entries(options.heads).map(([name, config]) => planHead(name, config, config.units));
  const network = new FunctionNetwork(model, outputSpecs(plans));
  return run(
    {
      plans,
      network,
      checkStrategy: (strategy, trainer) => {
        checkShared(strategy, network, () => 'variables.shared is empty');
        if (!network.split) {
          const need = 'needs the model split into trunk(x) and heads (the gradients at the shared representation)';
          if (strategy.kind === 'gradient' && strategy.mode === 'rep') throw new MultilossError('config', `balance.mode "rep" ${need}; use mode: param`);
          if (strategy.kind === 'loss' && strategy.requires?.sharedGradNorms) throw new MultilossError('config', `balance.method "${strategy.name}" ${need}`);
          if (trainer.diagnostics) throw new MultilossError('config', `training.diagnostics ${need} (gradient methods record diagnostics in param mode without it)`);
        }
      },
    },
    options,
    data,
  );
}

/**
 * One inference pass and every head's per-sample loss on the first rows, so
 * that a wrong output shape or a custom loss that returns the wrong shape or
 * a non-finite value fails before any weight changes.
 */
function preflight(network: TrainableNetwork, heads: readonly Head[], data: EncodedData): void {
  const idx = Array.from({ length: Math.min(8, data.n) }, (_, i) => i);
  const sample = subsetData(data, idx, heads.map((h) => h.units));
  tf.tidy(() => {
    const x = tf.tensor(sample.x, [sample.n, ...(sample.inputShape ?? [sample.inputSize])]);
    const raw = network.forwardHeads(network.forwardTrunk(x, false), x);
    raw.forEach((r, h) => {
      const y = tf.tensor2d(sample.targets[h].y, [sample.n, heads[h].units]);
      heads[h].loss.perSample(y, r);
    });
  });
}

/**
 * The validation split of every front door (data/split.ts) on labels read
 * from the data: a row's stratum is the class (the largest entry of the
 * label row) of the first classification head, null when that label is
 * missing; rows without any label take no part.
 */
function splitRows(labels: RawData['labels'], plans: readonly HeadPlan[], n: number, options: TrainOptions, seed: number): TrainValidationSplit {
  const h = options.stratifySplit === false ? -1 : plans.findIndex((p) => p.kind === 'classification');
  const strata = range(n).map((i): Stratum | undefined => {
    if (!labels.some((l) => l.mask[i] > 0)) return undefined;
    if (h < 0) return '';
    if (!(labels[h].mask[i] > 0)) return null;
    const u = plans[h].units;
    const row = labels[h].values.subarray(i * u, (i + 1) * u);
    let best = 0;
    for (let k = 1; k < u; k++) if (row[k] > row[best]) best = k;
    return String(best);
  });
  const split = splitTrainValidation(n, options.validationSplit ?? 0, seed, strata);
  if (split.train.length === 0 && split.validation.length > 0) throw new MultilossError('config', `validationSplit ${options.validationSplit} leaves no training rows`);
  return split;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Arrays: read whole, split, heads fitted on the training labels, encoded in memory. */
async function wholeData(
  data: DataSource,
  options: TrainOptions,
  plans: readonly HeadPlan[],
  readers: readonly LabelReader[],
  inputShape: readonly (number | null)[] | undefined,
  seed: number,
): Promise<PreparedData> {
  const units = plans.map((p) => p.units);
  let trainRaw = await readSource(data, readers, inputShape, 'training data');
  let validationRaw: RawData | undefined;
  let validationRows: number[] | undefined;
  if (options.validationSplit) {
    const split = splitRows(trainRaw.labels, plans, trainRaw.n, options, seed);
    validationRows = split.validation;
    validationRaw = subsetRaw(trainRaw, split.validation, units);
    trainRaw = subsetRaw(trainRaw, split.train, units);
  }
  const built = plans.map((p, h) => buildHead(p, trainRaw.labels[h]));
  const heads = built.map((b) => b.head);
  const validation = validationRaw ? encode(validationRaw, built) : await validationOf(options.validationData, readers, inputShape, built);
  const train = encode(trainRaw, built);
  plans.forEach((p, h) => {
    if (!train.targets[h].mask.some((m) => m > 0)) throw new MultilossError('data', `training data: output "${p.name}" has no label in any row`);
  });
  // Rows in which every output is unlabelled carry nothing: dropped, as the CLI does.
  const keep: number[] = [];
  for (let i = 0; i < train.n; i++) if (train.targets.some((t) => t.mask[i] > 0)) keep.push(i);
  const trainData = keep.length < train.n ? subsetData(train, keep, units) : train;
  return {
    heads,
    built,
    trainData: options.training?.shuffle === false ? new MemoryBatchSource(trainData, units, false) : trainData,
    validation,
    trainEvaluation: trainData,
    sample: subsetData(trainData, range(Math.min(8, trainData.n)), units),
    validationRows,
  };
}

/**
 * A Dataset or iterable with a validation split: pass 1 keeps only the labels (to fit the
 * heads, take the validation split — the same rows as for arrays — and drop unlabelled
 * rows); every epoch then streams the source again, in its order. Without a split,
 * stream-data.ts's `streamedData` keeps nothing per row.
 */
async function splitStreamedData(
  data: DatasetLike<unknown> | AsyncIterable<ArrayData> | Iterable<ArrayData>,
  options: TrainOptions,
  plans: readonly HeadPlan[],
  readers: readonly LabelReader[],
  inputShape: readonly (number | null)[] | undefined,
  seed: number,
): Promise<PreparedData> {
  const units = plans.map((p) => p.units);
  const stream = new ElementStream(data, readers, inputShape, 'training data');
  const parts: RawData['labels'][] = [];
  const sizes: number[] = [];
  let rowShape: number[] | undefined;
  for await (const part of stream.parts()) {
    if (rowShape && part.rowShape.join(',') !== rowShape.join(',')) {
      throw new MultilossError('data', `training data: rows of shape [${part.rowShape.join(', ')}] after rows of shape [${rowShape.join(', ')}]`);
    }
    rowShape ??= part.rowShape;
    parts.push(part.labels);
    sizes.push(part.n);
  }
  const n = sizes.reduce((a, b) => a + b, 0);
  if (n === 0) throw new MultilossError('data', 'training data: the source yielded no rows');
  const cat = (h: number, key: 'values' | 'mask' | 'sampleWeight', width: number): Float32Array => {
    const out = new Float32Array(n * width);
    let at = 0;
    parts.forEach((p, k) => {
      out.set(p[h][key], at);
      at += sizes[k] * width;
    });
    return out;
  };
  const labels = units.map((u, h) => ({ values: cat(h, 'values', u), mask: cat(h, 'mask', 1), sampleWeight: cat(h, 'sampleWeight', 1) }));
  parts.length = 0;
  // Row classes: 0 training, 1 validation (the split), 2 row without any label (dropped).
  const classes = new Uint8Array(n);
  let nVal = 0;
  let validationRows: number[] | undefined;
  if (options.validationSplit) {
    const split = splitRows(labels, plans, n, options, seed);
    validationRows = split.validation;
    nVal = split.validation.length;
    for (const i of split.validation) classes[i] = 1;
  }
  for (let i = 0; i < n; i++) if (classes[i] === 0 && !labels.some((l) => l.mask[i] > 0)) classes[i] = 2;
  const trainIdx = range(n).filter((i) => classes[i] === 0);
  const pick = (src: Float32Array, w: number) => {
    const out = new Float32Array(trainIdx.length * w);
    trainIdx.forEach((r, i) => out.set(src.subarray(r * w, (r + 1) * w), i * w));
    return out;
  };
  const trainLabels = labels.map((l, h) => ({ values: pick(l.values, units[h]), mask: pick(l.mask, 1), sampleWeight: pick(l.sampleWeight, 1) }));
  const built = plans.map((p, h) => buildHead(p, trainLabels[h]));
  const heads = built.map((b) => b.head);
  plans.forEach((p, h) => {
    if (!trainLabels[h].mask.some((m) => m > 0)) throw new MultilossError('data', `training data: output "${p.name}" has no label in any row`);
  });
  const trainRows = trainIdx.length;
  const rowsOfClass = (want: number, batchSize: number, skip = 0) => encodedRows(stream, built, units, batchSize, classPicker(classes, want, skip));
  const trainData = streamBatchSource(trainRows, (batchSize, skip) => rowsOfClass(0, batchSize, skip));
  const sample = await firstRows(rowsOfClass(0, 8));
  return {
    heads,
    built,
    trainData,
    validation: nVal > 0 ? { rows: nVal, batches: (size) => rowsOfClass(1, size) } : await validationOf(options.validationData, readers, inputShape, built),
    trainEvaluation: { rows: trainRows, batches: (size) => rowsOfClass(0, size) },
    sample,
    validationRows,
  };
}

async function run(prepared: Prepared, options: TrainOptions, data: DataSource): Promise<TrainingResult> {
  const { plans, network } = prepared;
  const trainer0 = resolveTrainingOptions(options.training, (options.validationSplit ?? 0) > 0 || options.validationData !== undefined);
  // Data: arrays are read whole; a Dataset or iterable is streamed (see `DataSource`).
  const readers = plans.map((p) => labelReader(p));
  const units = plans.map((p) => p.units);
  let data_: PreparedData | undefined;
  const outcome = await runTraining({
    network,
    ownsNetwork: false,
    balance: balanceSpec(options.balance),
    balanced: plans.map((p) => ({ name: p.name, kind: p.kind, weight: p.config.weight ?? 1 })),
    options: trainer0,
    check: (strategy) => {
      prepared.checkStrategy(strategy, trainer0);
      const split = options.validationSplit;
      if (split !== undefined && (!(split >= 0 && split < 1) || options.validationData !== undefined)) {
        throw new MultilossError('config', options.validationData !== undefined ? 'give validationData or validationSplit, not both' : `validationSplit must be in [0, 1), got ${split}`);
      }
    },
    data: async () => {
      data_ = !isStreamSource(data)
        ? await wholeData(data, options, plans, readers, prepared.inputShape, trainer0.seed)
        : options.validationSplit
          ? await splitStreamedData(data, options, plans, readers, prepared.inputShape, trainer0.seed)
          : await streamedData(data, options.validationData, plans, readers, prepared.inputShape);
      preflight(network, data_.heads, data_.sample);
      return { heads: data_.heads, train: data_.trainData, validation: data_.validation, trainEvaluation: data_.trainEvaluation };
    },
    callbacks: options.callbacks,
    interrupt: options.interrupt,
    resume: options.resume,
  });
  const { heads, built, validationRows } = data_ as PreparedData;
  const { history, weights } = outcome;
  const evalBatch = trainer0.evaluationBatchSize;
  return {
    history,
    heads,
    network,
    epochs: history.length,
    stopped: outcome.stopped,
    bestEpoch: outcome.bestEpoch,
    validationRows,
    stop: outcome.stop,
    weights: Object.fromEntries(heads.map((h, i) => [h.name, weights[i]])),
    balancing: outcome.balance,
    metrics: { train: outcome.metrics.train as SplitLog, validation: outcome.metrics.validation },
    predict(xs: tf.Tensor): Record<string, tf.Tensor2D> {
      const out = network.predict(xs);
      return Object.fromEntries(heads.map((h, i) => [h.name, out[i]]));
    },
    predictDecoded(xs: tf.Tensor): Record<string, HeadPrediction>[] {
      const out = network.predict(xs);
      const values = out.map((t) => t.dataSync() as Float32Array);
      tf.dispose(out);
      return Array.from({ length: xs.shape[0] }, (_, r) => Object.fromEntries(heads.map((h, i) => [h.name, h.decode(values[i], r)])));
    },
    async evaluate(source: DataSource): Promise<SplitLog> {
      if (isStreamSource(source)) {
        const stream = new ElementStream(source, readers, prepared.inputShape, 'evaluation data');
        return evaluateSource(network, heads, { rows: 1, batches: (size) => encodedRows(stream, built, units, size) }, weights, evalBatch);
      }
      const raw = await readSource(source, readers, prepared.inputShape, 'evaluation data');
      return evaluateEncoded(network, heads, encode(raw, built), weights, evalBatch);
    },
  };
}
