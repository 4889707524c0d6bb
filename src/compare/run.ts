/**
 * One run of a comparison: a configuration trained on the comparison's
 * split, reduced to plain numbers. The same code runs in a worker thread and
 * in-process; browser-safe (no Node built-ins).
 */
import type { ResolvedConfig } from '../config/resolve.js';
import type { Table } from '../data/table.js';
import { MultilossError } from '../errors.js';
import { isSeparateModels } from '../model/separate-models.js';
import type { EpochLog, SplitLog } from '../training/history.js';
import { meanUpdate, type HeadUpdate } from '../training/diagnostics.js';
import { fitSeparate } from '../training/fit-separate.js';
import { fitModel, type FitOptions } from '../training/fit.js';
import { fitImageModel, fitSeparateImages } from '../training/fit-images.js';
import type { ImageSet } from '../data/images/dataset.js';
import type { MultiOutputModel } from '../model/multi-output.js';
import { MultilossModel, type Evaluation } from '../model/multiloss-model.js';
import { fitWithDeltaMStopping, isDeltaMMonitor, type DeltaMReference, type DeltaMStopping } from './delta-m.js';
import type { RunVariant } from './grid.js';
import { gradientConflict, type GradientConflict } from './conflict.js';

/** What a comparison trains: the separate models, or the joint model under a balancing method. */
export type RunKind = { approach: 'separate' } | { approach: 'joint'; method: string };

export interface RunTask {
  id: number;
  /** The run's stable id: its resolved configuration and data, hashed (see run-id.ts). */
  key: string;
  /** What the run varies of the comparison's base configuration (see grid.ts). */
  variant: RunVariant;
  /** The row label: 'separate' or the balancing method. */
  label: string;
  seed: number;
  /** The full configuration of this run (approach, balancing method and seed set). */
  config: ResolvedConfig;
  /** The reference of a joint run that stops early on Δm (the separate models' mean validation metrics). */
  reference?: DeltaMReference;
}

/** The comparison's data, the same for every run. */
export interface RunData {
  /** The training rows; for images, their label table (what the summary counts). */
  train: Table;
  validation: Table;
  /** Held-out test rows the table is computed on (`compare --test-data`); validation still drives early stopping. */
  test?: Table;
  /** Image data: the split's images, trained on instead of the tables. */
  images?: { train: ImageSet; validation: ImageSet };
}

export interface RunResult {
  id: number;
  /** The run's stable id (see RunTask.key). */
  key: string;
  label: string;
  approach: 'joint' | 'separate';
  seed: number;
  /** Validation figures at the end of training (per head: loss and every metric). */
  validation: SplitLog;
  /** The same figures on the test data, when the comparison has some. */
  test?: SplitLog;
  parameters: number;
  /** Epochs trained (summed over the sub-models of separate models). */
  epochs: number;
  /** Wall-clock training time in seconds. */
  seconds: number;
  /** A joint run that stopped early on Δm: Δm per epoch, the best epoch (whose weights the figures are of) and its Δm. */
  stopping?: DeltaMStopping;
  /** Gradient methods: what the updates did to each head, averaged over the run's epochs (see HeadUpdate). */
  update?: Record<string, HeadUpdate>;
  /**
   * Per-epoch figures of each model the run trained (training and validation loss and metrics per
   * head, learning rate, gradient figures when measured): `joint` for the joint model; for separate
   * models one entry per head, its own model's. Absent in results saved before it existed.
   */
  history?: Record<string, EpochLog[]>;
  /** Gradient methods: the pairwise cosine of the heads' gradients, mean over the run's epochs (see conflict.ts). */
  conflict?: GradientConflict;
  /** Where the run was trained, on a queue (`compare --queue`): the worker's host name and process id. */
  machine?: { host: string; pid: number };
}

/** A run's error as plain data (to cross the worker boundary). */
export interface RunError {
  message: string;
  kind?: string;
  exitCode?: number;
  stack?: string;
}

export function toRunError(e: unknown): RunError {
  if (e instanceof MultilossError) return { message: e.message, kind: e.kind, exitCode: e.exitCode };
  const err = e as Error;
  return { message: err?.message ?? String(e), stack: err?.stack };
}

export function fromRunError(e: RunError, context: string): Error {
  if (e.kind) return new MultilossError(e.kind as MultilossError['kind'], `${context}: ${e.message}`, e.exitCode);
  const err = new Error(`${context}: ${e.message}`);
  if (e.stack) err.stack = `${err.message}\n${e.stack}`;
  return err;
}

/**
 * The configuration of one run: the base configuration with the approach,
 * the seed and (joint) the balancing method. The base's options for a method
 * are kept when it names the same method; checkpoints are off.
 */
export function runConfig(base: ResolvedConfig, kind: RunKind, seed: number): ResolvedConfig {
  const balance = kind.approach === 'separate' ? base.balance : base.balance.method === kind.method ? base.balance : { method: kind.method };
  return { ...base, approach: kind.approach, balance, training: { ...base.training, seed, checkpointEvery: undefined } };
}

/**
 * An untimed one-epoch run of `task`'s configuration, to be done once per
 * thread before the timed runs: the first training in a fresh thread pays for
 * compiling kernels and code, which would otherwise count against whichever
 * configuration happens to run first. Results are discarded; every run seeds
 * its own random state, so later runs are unaffected.
 */
export async function warmUp(task: RunTask, data: RunData): Promise<void> {
  const training = { ...task.config.training, epochs: 1, earlyStopping: undefined };
  await executeRun({ ...task, config: { ...task.config, training } }, data);
}

/** An evaluation's figures as a history split (loss and per-head loss and metrics). */
function testFigures(e: Evaluation): SplitLog {
  return { loss: e.loss, heads: e.heads };
}

/**
 * Trains one run on the comparison's split and returns its figures. `onEpoch`
 * is told after every epoch (of every sub-model, for separate models);
 * `onModel` gets the trained model before it is disposed (to save it).
 */
export async function executeRun(task: RunTask, data: RunData, onEpoch?: () => void, onModel?: (model: MultiOutputModel) => Promise<void>): Promise<RunResult> {
  const start = performance.now();
  const input = { table: data.train, validation: data.validation };
  const options = { callbacks: onEpoch ? { onEpochEnd: () => onEpoch() } : {} };
  const images = data.images;
  // The joint model's trainer for this run's data (rows or images).
  const fitJoint = (fit: FitOptions): Promise<MultilossModel> => (images ? fitImageModel(task.config, images.train, { ...fit, validation: images.validation }) : fitModel(task.config, input, fit));
  let model: MultiOutputModel;
  let stopping: DeltaMStopping | undefined;
  if (task.config.approach === 'separate') {
    // With a Δm monitor each separate model stops on its own head's metric (see fitSeparate).
    model = images
      ? await fitSeparateImages(task.config, images.train, { ...options, validation: images.validation, deltaMBaseline: true })
      : await fitSeparate(task.config, input, { ...options, deltaMBaseline: true });
  } else if (isDeltaMMonitor(task.config.training.earlyStopping?.monitor)) {
    if (!task.reference)
      throw new MultilossError('config', `run ${task.label} seed ${task.seed}: early stopping on Δm needs the separate models' metrics as its reference`);
    ({ model, stopping } = await fitWithDeltaMStopping(task.config, input, task.reference, options, fitJoint));
  } else {
    model = await fitJoint(options);
  }
  const seconds = (performance.now() - start) / 1000;
  try {
    const info = model.info();
    const validation = info.metrics.validation;
    if (!validation) throw new MultilossError('data', `run ${task.label} seed ${task.seed}: no validation figures (the validation split is empty)`);
    const epochs = isSeparateModels(model) ? model.models.reduce((a, m) => a + m.meta.history.length, 0) : info.epochs;
    const test = data.test ? testFigures(model.evaluate(data.test)) : undefined;
    const update = model instanceof MultilossModel ? meanUpdate(model.meta.history) : undefined;
    const history: Record<string, EpochLog[]> = isSeparateModels(model)
      ? Object.fromEntries(model.models.map((m, i) => [model.heads[i].name, m.meta.history]))
      : model instanceof MultilossModel
        ? { joint: model.meta.history }
        : {};
    const conflict = model instanceof MultilossModel ? gradientConflict(model.meta.history, model.heads.map((h) => h.name)) : undefined;
    await onModel?.(model);
    return {
      id: task.id,
      key: task.key,
      label: task.label,
      approach: task.config.approach === 'separate' ? 'separate' : 'joint',
      seed: task.seed,
      validation,
      ...(test ? { test } : {}),
      parameters: info.parameters,
      epochs,
      seconds,
      ...(stopping ? { stopping } : {}),
      ...(update ? { update } : {}),
      history,
      ...(conflict ? { conflict } : {}),
    };
  } finally {
    model.dispose();
  }
}
