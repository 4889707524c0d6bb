import type { ResolvedConfig } from '../config/resolve.js';
import { missingTokens, normalizeMissing } from '../data/missing.js';
import { FeaturePreprocessor, type FeatureSpec } from '../data/preprocess.js';
import { selectRows, splitRows, stratumCodes, type RowSplit, type Stratum, type StratumCodes } from '../data/split.js';
import type { RowTable, Table } from '../data/table.js';
import { mapCells, ReleasedColumn } from '../data/column.js';
import { asTable, concatTables } from '../data/table-build.js';
import { MultilossError } from '../errors.js';
import { cellLabel, columnIndex, fitHead, type Head } from '../model/heads/index.js';
import type { EncodedTargets } from '../model/heads/head.js';
import { MultilossModel } from '../model/multiloss-model.js';
import { architectureFactory } from '../model/architectures/index.js';
import { FORMAT_VERSION, VERSION } from '../version.js';
import { sharedMaskWeight, type EncodedData } from './data.js';
import type { BatchSource, EvaluationSource } from './batch-source.js';
import type { EarlyStoppingMonitor } from './early-stopping.js';
import { Rng } from '../util/rng.js';
import { runTraining, type TrainingRun } from './run.js';
import type { InterruptFlag, ResumePoint, TrainingCallbacks, TrainingCheckpoint } from './types.js';
import type { ImagePreprocessing } from '../data/images/pixels.js';

export interface FitInput {
  /** The training table (a validation split is taken from it unless `validation` is given); columnar, or rows of cells. */
  table: Table | RowTable;
  validation?: Table | RowTable;
}

export interface FitOptions {
  callbacks?: TrainingCallbacks<MultilossModel>;
  /** Non-fatal notices (rows dropped, …). */
  warn?: (message: string) => void;
  /** Receives checkpoints (every N epochs, best epoch, interrupt), each with its loadable `model`; awaited. */
  checkpoint?: (checkpoint: TrainingCheckpoint<MultilossModel>) => Promise<void>;
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
  /**
   * Let the input tables' columns go as they are encoded (each becomes a `ReleasedColumn` in
   * `input.table` and `input.validation`): the tables are not held whole beside their encoding,
   * which lowers the peak memory of a large table. For a caller that reads the data only to train
   * on it (the CLI does); the tables cannot be read afterwards.
   */
  releaseInput?: boolean;
  /**
   * With `releaseInput`, called when columns were let go (after the features, after the heads): a
   * released column's arrays are freed only when the garbage collector next runs, which a caller
   * owning the process may ask for here (the CLI does). Browser-safe code cannot.
   */
  afterRelease?: () => void;
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
  const { codes, strata } = tableStratumCodes(table, config);
  return Array.from(codes, (c) => (c < 0 ? undefined : strata[c]));
}

/** {@link tableStrata} as codes (4 bytes a row): what the split of a table in memory reads. */
export function tableStratumCodes(table: Table, config: ResolvedConfig): StratumCodes {
  const idx = targetColumns(table, config);
  const strataHead = config.validation.stratify ? config.heads.find((h) => h.kind === 'classification') : undefined;
  const at = strataHead ? table.columns.indexOf(strataHead.column) : -1;
  const labelled = labelledAt(table, idx);
  const stratumAt = at < 0 ? () => '' : mapCells(table.data[at], cellLabel);
  return stratumCodes(table.length, (i) => (labelled(i) ? stratumAt(i) : undefined));
}

/** Whether row i has a label in any of the columns `idx`. */
function labelledAt(table: Table, idx: readonly number[]): (i: number) => boolean {
  const has = idx.map((c) => mapCells(table.data[c], (cell) => cellLabel(cell) !== null));
  return (i) => {
    for (const h of has) if (h(i)) return true;
    return false;
  };
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
  const labelled = labelledAt(table, idx);
  let count = 0;
  for (let i = 0; i < table.length; i++) if (labelled(i)) count++;
  if (count === table.length) return table; // no index array of every row when none is dropped
  const keep: number[] = [];
  for (let i = 0; i < table.length; i++) if (labelled(i)) keep.push(i);
  warn(`${table.source}: dropped ${table.length - keep.length} row(s) in which every target is missing`);
  return selectRows(table, keep);
}

/** Every column that is neither a target nor a sample weight. */
export function defaultFeatures(table: Table, config: ResolvedConfig): FeatureSpec[] {
  const used = new Set(config.heads.flatMap((h) => [h.column, ...(h.sampleWeight ? [h.sampleWeight] : [])]));
  const features = table.columns.filter((c) => !used.has(c)).map((name) => ({ name }));
  if (features.length === 0) throw new MultilossError('config', `${table.source}: no feature columns left once the targets are taken out`);
  return features;
}

/** Every cell value read as missing under this configuration. */
export function missingValuesOf(config: ResolvedConfig): string[] {
  return missingTokens(config.missingValues);
}

/**
 * The seeded validation split of a table's rows (missing values normalised),
 * stratified as `tableStrata` says: the rule of every front door
 * (data/split.ts). `unit` names the rows in the error (rows, images).
 */
export function validationSplitOf(config: ResolvedConfig, table: Table, unit = 'rows'): RowSplit {
  const split = splitRows(table.length, config.validation.split, config.training.seed, tableStratumCodes(table, config));
  if (split.train.length === 0) throw new MultilossError('config', `validation.split ${config.validation.split} leaves no training ${unit}`);
  return split;
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
    const split = validationSplitOf(config, normalized);
    return { missing, all, train: selectRows(normalized, split.train), validation: selectRows(normalized, split.validation), validationRows: Array.from(split.validation) };
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
  const parts = validation && validation.length ? [train, validation] : [train];
  const tables = options.releaseInput ? [input.table, input.validation, split.all, train, validation] : [];
  const [trainData, validationData] = encodeParts(config, preprocessor, heads, parts, columnReleaser(tables), options.releaseInput ? options.afterRelease : undefined);
  return trainFitted(config, { preprocessor, heads, missing }, trainData, validationData, options);
}

/**
 * Encodes `parts` (a split's training and validation rows) column by column: each feature, then
 * each head, in every part; `done(column)` is told when no later step reads a column, and
 * `collect` is called before the encoding (the split's garbage), after the features and after the heads.
 */
function encodeParts(
  config: ResolvedConfig,
  preprocessor: FeaturePreprocessor,
  heads: readonly Head[],
  parts: readonly Table[],
  done: (column: string) => void,
  collect?: () => void,
): EncodedData[] {
  // How many steps (features, heads) still read each column.
  const readers = new Map<string, number>();
  const headColumns = config.heads.map((h) => (h.sampleWeight ? [h.column, h.sampleWeight] : [h.column]));
  for (const c of [...preprocessor.features.map((f) => f.name), ...headColumns.flat()]) readers.set(c, (readers.get(c) ?? 0) + 1);
  const stepDone = (columns: readonly string[]) => {
    for (const c of columns) {
      const left = (readers.get(c) ?? 0) - 1;
      readers.set(c, left);
      if (left === 0) done(c);
    }
  };

  for (const p of parts) preprocessor.checkColumns(p);
  collect?.();
  const xs = parts.map((p) => new Float32Array(p.length * preprocessor.outputSize));
  preprocessor.features.forEach((f, k) => {
    parts.forEach((p, i) => preprocessor.transformFeature(p, k, xs[i]));
    stepDone([f.name]);
  });
  collect?.();
  const targets = parts.map((): EncodedTargets[] => []);
  heads.forEach((h, k) => {
    parts.forEach((p, i) => targets[i].push(sharedMaskWeight(h.encode(p))));
    stepDone(headColumns[k]);
  });
  collect?.();
  return parts.map((p, i) => ({ n: p.length, inputSize: preprocessor.outputSize, x: xs[i], targets: targets[i] }));
}

/**
 * Lets a column go in every table of `tables` (columnar ones; others are skipped): each holder's
 * entry becomes a {@link ReleasedColumn}, so the column's cells are freed once nothing else holds them.
 */
function columnReleaser(tables: readonly (Table | RowTable | undefined)[]): (column: string) => void {
  const columnar = tables.filter((t): t is Table => t !== undefined && 'data' in t);
  return (column) => {
    for (const t of columnar) {
      const j = t.columns.indexOf(column);
      if (j >= 0) t.data[j] = new ReleasedColumn(t.length, column);
    }
  };
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
  // Class lists come from every labelled row. A split's validation rows are rows of `all`; a
  // validation table given apart adds its own (its columns may be in another order).
  const labelled = validation && !split.validationRows ? concatTables([all, validation], all.source) : all;
  const heads: Head[] = config.heads.map((spec) => fitHead(spec, train, labelled));
  return { preprocessor, heads, missing };
}

/** What is fitted before training: the feature preprocessing and the heads' encoders. */
export interface FittedEncoders {
  preprocessor: FeaturePreprocessor;
  heads: Head[];
  /** Every cell value read as missing. */
  missing: string[];
  /** The network's input shape: [features] by default, H×W×C for images. */
  inputShape?: number[];
  /** Image models: how pixels were read and scaled (recorded in the model's metadata). */
  images?: ImagePreprocessing;
}

/**
 * Builds the network and trains it through `runTraining` on encoded rows in
 * memory or a streaming source: the one path of every front door that
 * returns a MultilossModel (`fitModel`, `fitModelStream`, `fitImageModel`,
 * and through them `fitSeparate`, `trainFromConfig`, the CLI), and the one
 * place their model's metadata is written.
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
  finalMetrics?: TrainingRun['finalMetrics'],
): Promise<MultilossModel> {
  const { preprocessor, heads, missing } = encoders;
  const architecture = architectureFactory(config.architecture.kind);
  architecture.validate(config.architecture, config.trunk);
  const network = architecture.create(
    config.architecture,
    config.trunk,
    encoders.inputShape ?? [preprocessor.outputSize],
    heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })),
    new Rng(config.training.seed),
  );
  const meta = (
    history: MultilossModel['meta']['history'],
    weights: number[],
    balance: { method: string; state: Record<string, unknown> },
    metrics: MultilossModel['meta']['metrics'],
    stop?: MultilossModel['meta']['stop'],
  ): MultilossModel['meta'] => ({
    format: 'multiloss',
    formatVersion: FORMAT_VERSION,
    libraryVersion: VERSION,
    createdAt: new Date().toISOString(),
    missingValues: missing,
    config,
    balance: { ...balance, weights },
    metrics,
    history,
    ...(stop ? { stop } : {}),
    ...(encoders.images ? { images: encoders.images } : {}),
  });
  const resume = options.resume;
  const outcome = await runTraining({
    network,
    ownsNetwork: true,
    balance: config.balance,
    balanced: heads.map((h) => ({ name: h.name, kind: h.kind, weight: h.spec.weight ?? 1 })),
    options: options.monitor ? { ...config.training, monitor: options.monitor } : config.training,
    check: () => {
      if (resume && !resume.weights) throw new MultilossError('config', 'resume: the checkpoint holds no network weights');
      if (resume && JSON.stringify(resume.preprocessing) !== JSON.stringify(preprocessor.toJSON())) {
        throw new MultilossError('config', 'resume: the data or feature configuration differs from the checkpoint\'s (the fitted preprocessing does not match); resume with the same data and configuration');
      }
    },
    data: () => ({ heads, train: trainData, validation: validationData }),
    callbacks: options.checkpoint ? { ...options.callbacks, onCheckpoint: options.checkpoint } : options.callbacks,
    interrupt: options.interrupt,
    interruptIsError: true,
    resume,
    checkpointModel: (ck, weights, method) => new MultilossModel(network, heads, preprocessor, meta(ck.state.history, weights, { method, state: ck.state.strategy }, {})),
    finalMetrics,
  });
  return new MultilossModel(network, heads, preprocessor, meta(outcome.history, outcome.weights, outcome.balance, outcome.metrics, outcome.stop));
}
