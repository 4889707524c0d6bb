import { createStrategy } from '../balancing/index.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { DEFAULT_MISSING, normalizeMissing } from '../data/missing.js';
import { FeaturePreprocessor, type FeatureSpec } from '../data/preprocess.js';
import { selectRows, splitTrainValidation, type Stratum } from '../data/split.js';
import type { RowTable, Table } from '../data/table.js';
import { mapCells } from '../data/column.js';
import { asTable, concatTables } from '../data/table-build.js';
import { MultilossError } from '../errors.js';
import { cellLabel, columnIndex, fitHead, type Head } from '../model/heads/index.js';
import { MultilossModel } from '../model/multiloss-model.js';
import { architectureFactory } from '../model/architectures/index.js';
import { FORMAT_VERSION, VERSION } from '../version.js';
import type { EncodedData } from './data.js';
import type { BatchSource, EvaluationSource } from './batch-source.js';
import type { TrainableNetwork } from '../model/trainable-network.js';
import { Rng } from './rng.js';
import { evaluateSource, Trainer, type CheckpointReason, type EarlyStoppingMonitor, type InterruptFlag, type NamedTensor, type TrainerCallbacks, type TrainerState } from './trainer.js';
import type * as tf from '@tensorflow/tfjs-core';
import type { BalancingStrategy } from '../balancing/strategy.js';
import type { TrainingStop } from './early-stopping.js';
import { labelTotals } from './history.js';

export interface FitInput {
  /** The training table (a validation split is taken from it unless `validation` is given); columnar, or rows of cells. */
  table: Table | RowTable;
  validation?: Table | RowTable;
}

/** A checkpoint as the storage layer sees it: a loadable model of the current weights plus the trainer's state. */
export interface ModelCheckpoint {
  reason: CheckpointReason;
  model: MultilossModel;
  state: TrainerState;
  optimizer: NamedTensor[];
}

/** What a resumed run continues from (read back from a checkpoint). */
export interface ResumePoint {
  /** The checkpointed network weights, in `model.getWeights()` order. */
  weights: tf.Tensor[];
  state: TrainerState;
  optimizer: NamedTensor[];
  /** The best epoch's weights, when early stopping restores them. */
  bestWeights?: tf.Tensor[];
  /** The checkpoint's feature preprocessing: must equal the one fitted now (same data, same config). */
  preprocessing: unknown;
}

export interface FitOptions {
  callbacks?: TrainerCallbacks;
  /** Non-fatal notices (rows dropped, …). */
  warn?: (message: string) => void;
  /** Receives checkpoints (every N epochs, best epoch, interrupt); awaited. */
  checkpoint?: (checkpoint: ModelCheckpoint) => Promise<void>;
  resume?: ResumePoint;
  /** Set `interrupted` to stop after the current step with a checkpoint; fitModel then throws an 'interrupted' error. */
  interrupt?: InterruptFlag;
  /** Early stopping watches this figure instead of the one `training.earlyStopping.monitor` names. */
  monitor?: EarlyStoppingMonitor;
  /**
   * Told the validation split's rows before training starts: 0-based indices
   * of the training data's rows, ascending (not called when validation data is given apart or the split is 0).
   */
  onSplit?: (validationRows: readonly number[]) => void;
}

/** The target columns' indices (a one-line error for a missing one). */
function targetColumns(table: Table, config: ResolvedConfig): number[] {
  return config.heads.map((h) => columnIndex(table, h.column, `target (head "${h.name}")`));
}

/**
 * Each row's stratum in the validation split (see `data/split.ts`): the
 * label of the first classification head when `validation.stratify` (null
 * when missing), one stratum otherwise; `undefined` for a row in which every
 * target is missing (it takes no part). Missing values must be normalised.
 */
export function tableStrata(table: Table, config: ResolvedConfig): (Stratum | undefined)[] {
  const idx = targetColumns(table, config);
  const strataHead = config.validation.stratify ? config.heads.find((h) => h.kind === 'classification') : undefined;
  const at = strataHead ? table.columns.indexOf(strataHead.column) : -1;
  const labelled = labelledAt(table, idx);
  const stratumAt = at < 0 ? () => '' : mapCells(table.data[at], cellLabel);
  return Array.from({ length: table.length }, (_, i) => (labelled(i) ? stratumAt(i) : undefined));
}

/** Whether row i has a label in any of the columns `idx`. */
function labelledAt(table: Table, idx: readonly number[]): (i: number) => boolean {
  const has = idx.map((c) => mapCells(table.data[c], (cell) => cellLabel(cell) !== null));
  return (i) => has.some((h) => h(i));
}

/** Drops rows in which every target is missing; errors for a head with no label at all. */
function dropUnlabelled(table: Table, config: ResolvedConfig, warn: (m: string) => void): Table {
  const idx = targetColumns(table, config);
  config.heads.forEach((h, k) => {
    const has = labelledAt(table, [idx[k]]);
    let any = false;
    for (let i = 0; i < table.length && !any; i++) any = has(i);
    if (!any) {
      throw new MultilossError('data', `${table.source}: target column "${h.column}" (head "${h.name}") has no value in any row`);
    }
  });
  const keep: number[] = [];
  const labelled = labelledAt(table, idx);
  for (let i = 0; i < table.length; i++) if (labelled(i)) keep.push(i);
  if (keep.length < table.length) {
    warn(`${table.source}: dropped ${table.length - keep.length} row(s) in which every target is missing`);
    return selectRows(table, keep);
  }
  return table;
}

/** Every column that is neither a target nor a sample weight. */
export function defaultFeatures(table: Table, config: ResolvedConfig): FeatureSpec[] {
  const used = new Set(config.heads.flatMap((h) => [h.column, ...(h.sampleWeight ? [h.sampleWeight] : [])]));
  const features = table.columns.filter((c) => !used.has(c)).map((name) => ({ name }));
  if (features.length === 0) throw new MultilossError('config', `${table.source}: no feature columns left once the targets are taken out`);
  return features;
}

/** Every cell value read as missing under this configuration. */
function missingValuesOf(config: ResolvedConfig): string[] {
  return config.missingValues ? [...DEFAULT_MISSING, ...config.missingValues] : [...DEFAULT_MISSING];
}

/**
 * A labelled table (validation or test data) as training sees it: missing
 * values normalised, rows in which every target is missing dropped; an error
 * for a missing target column or a target without any value.
 */
export function labelledRows(config: ResolvedConfig, table: Table, warn: (message: string) => void = () => undefined): Table {
  return dropUnlabelled(normalizeMissing(table, missingValuesOf(config)), config, warn);
}

/** The rows a run trains and validates on (missing values normalised, unlabelled rows dropped). */
export interface InputSplit {
  /** Every cell value read as missing. */
  missing: string[];
  /** The training table before the validation split (the whole input when `validation` was given). */
  all: Table;
  train: Table;
  validation?: Table;
  /** The split's validation rows: 0-based indices of the input table's data rows, ascending (absent when `validation` was given or the split is 0). */
  validationRows?: number[];
}

/**
 * Normalises missing values, drops rows without any label and takes the
 * seeded (stratified) validation split — or uses the given validation table.
 * What `fitModel` does first; exported so that separate models and
 * comparisons train on exactly the same split.
 */
export function splitInput(config: ResolvedConfig, input: FitInput, warn: (message: string) => void = () => undefined): InputSplit {
  const missing = missingValuesOf(config);
  const table = asTable(input.table);
  if (table.length === 0) throw new MultilossError('data', `${table.source}: no data rows (only a header)`);
  const normalized = normalizeMissing(table, missing);
  const all = dropUnlabelled(normalized, config, warn);

  if (input.validation) {
    return { missing, all, train: all, validation: labelledRows(config, asTable(input.validation), warn) };
  }
  if (config.validation.split > 0) {
    const split = splitTrainValidation(normalized.length, config.validation.split, config.training.seed, tableStrata(normalized, config));
    if (split.train.length === 0) throw new MultilossError('config', `validation.split ${config.validation.split} leaves no training rows`);
    return { missing, all, train: selectRows(normalized, split.train), validation: selectRows(normalized, split.validation), validationRows: split.validation };
  }
  return { missing, all, train: all };
}

/**
 * Trains a model from a configuration and tables: split, fit preprocessing and
 * target encoders on the training rows, build the network, run the trainer.
 * Browser-safe: reading files is the caller's job.
 */
export async function fitModel(config: ResolvedConfig, input: FitInput, options: FitOptions = {}): Promise<MultilossModel> {
  const warn = options.warn ?? (() => undefined);
  if (config.approach === 'separate') throw new MultilossError('config', 'approach: separate trains one model per target: use fitSeparate (the CLI does)');
  const split = splitInput(config, input, warn);
  const { missing, train, validation, validationRows } = split;
  if (validationRows) options.onSplit?.(validationRows);

  const { preprocessor, heads } = fitEncoders(config, split);
  const encode = (table: Table): EncodedData => ({
    n: table.length,
    inputSize: preprocessor.outputSize,
    x: preprocessor.transform(table),
    targets: heads.map((h) => h.encode(table)),
  });
  const trainData = encode(train);
  const validationData = validation && validation.length ? encode(validation) : undefined;
  return trainFitted(config, { preprocessor, heads, missing }, trainData, validationData, options);
}

/**
 * The feature preprocessing and the heads' encoders of a joint model,
 * fitted on a split's training rows (class lists from every labelled row):
 * what `fitModel` trains with.
 */
export function fitEncoders(config: ResolvedConfig, split: InputSplit): FittedEncoders {
  const { missing, all, train, validation } = split;
  const features = config.features ?? defaultFeatures(all, config);
  for (const f of features) {
    const h = config.heads.find((x) => x.column === f.name);
    if (h) throw new MultilossError('config', `column "${f.name}" is both a feature and the target of head "${h.name}"`);
  }
  const preprocessor = FeaturePreprocessor.fit(train, features);
  // Class lists come from every labelled row; a validation file may order its columns differently.
  const labelled = validation ? concatTables([all, validation], all.source) : all;
  const heads: Head[] = config.heads.map((spec) => fitHead(spec, train, labelled));
  return { preprocessor, heads, missing };
}

/** What is fitted before training: the feature preprocessing and the heads' encoders. */
export interface FittedEncoders {
  preprocessor: FeaturePreprocessor;
  heads: Head[];
  /** Every cell value read as missing. */
  missing: string[];
}

/**
 * Builds the network and the strategy and runs the trainer on encoded rows in
 * memory or a streaming source (shared by `fitModel` and `fitModelStream`).
 */
export async function trainFitted(
  config: ResolvedConfig,
  encoders: FittedEncoders,
  trainData: EncodedData | BatchSource,
  validationData: EncodedData | EvaluationSource | undefined,
  options: FitOptions,
  /**
   * The final training and validation metrics when `trainData` is a stream
   * (the rows read once more, in order; both splits in one pass when they share a file).
   */
  finalMetrics?: (network: TrainableNetwork, heads: readonly Head[], weights: readonly number[]) => Promise<MultilossModel['meta']['metrics']>,
): Promise<MultilossModel> {
  const { preprocessor, heads, missing } = encoders;
  const seed = config.training.seed;
  const rng = new Rng(seed);
  const architecture = architectureFactory(config.architecture.kind);
  architecture.validate(config.architecture, config.trunk);
  const network = architecture.create(
    config.architecture,
    config.trunk,
    [preprocessor.outputSize],
    heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })),
    rng,
  );
  let strategy;
  let trainer;
  try {
    strategy = createStrategy(
      config.balance,
      heads.map((h) => ({ name: h.name, kind: h.kind, weight: h.spec.weight ?? 1 })),
    );
    trainer = new Trainer(network, heads, strategy, options.monitor ? { ...config.training, monitor: options.monitor } : config.training);
  } catch (e) {
    network.dispose();
    throw e;
  }
  const meta = (
    history: MultilossModel['meta']['history'],
    weights: number[],
    state: Record<string, unknown>,
    metrics: MultilossModel['meta']['metrics'],
    stop?: TrainingStop,
  ): MultilossModel['meta'] => ({
    format: 'multiloss',
    formatVersion: FORMAT_VERSION,
    libraryVersion: VERSION,
    createdAt: new Date().toISOString(),
    missingValues: missing,
    config,
    balance: { method: (strategy as BalancingStrategy).name, state, weights },
    metrics,
    history,
    ...(stop ? { stop } : {}),
  });
  const callbacks: TrainerCallbacks = { ...options.callbacks };
  const write = options.checkpoint;
  if (write) {
    callbacks.onCheckpoint = async (ck) => {
      const t = trainer as Trainer;
      const snapshot = new MultilossModel(network, heads, preprocessor, meta(ck.state.history, t.currentWeights(), ck.state.strategy, {}));
      await write({ reason: ck.reason, model: snapshot, state: ck.state, optimizer: ck.optimizer });
    };
  }
  let state: Record<string, unknown>;
  try {
    if (options.resume) {
      const r = options.resume;
      if (JSON.stringify(r.preprocessing) !== JSON.stringify(preprocessor.toJSON())) {
        throw new MultilossError('config', 'resume: the data or feature configuration differs from the checkpoint\'s (the fitted preprocessing does not match); resume with the same data and configuration');
      }
      network.model.setWeights(r.weights);
      await trainer.restore(r.state, r.optimizer, r.bestWeights);
    }
    await trainer.fit(trainData, validationData, callbacks, options.interrupt);
    state = strategy.getState();
    if (trainer.interrupted) {
      throw new MultilossError('interrupted', `training interrupted after epoch ${trainer.epochsDone} (a checkpoint was written)`);
    }
  } catch (e) {
    network.dispose();
    throw e;
  } finally {
    trainer.dispose();
    if (strategy.kind === 'loss') strategy.dispose?.();
  }
  const weights = trainer.currentWeights();
  let metrics: MultilossModel['meta']['metrics'];
  try {
    metrics = finalMetrics
      ? await finalMetrics(network, heads, weights)
      : {
          train: isInMemory(trainData) ? await evaluateSource(network, heads, trainData, weights) : undefined,
          validation: validationData ? await evaluateSource(network, heads, validationData, weights) : undefined,
        };
  } catch (e) {
    network.dispose();
    throw e;
  }
  labelTotals([metrics.train, metrics.validation], trainer.totalKind);
  return new MultilossModel(network, heads, preprocessor, meta(trainer.history, weights, state, metrics, trainer.stop));
}

function isInMemory(data: EncodedData | BatchSource): data is EncodedData {
  return typeof (data as BatchSource).epoch !== 'function';
}
