import { PLAIN_LOSS_BALANCE } from '../balancing/strategies/equal.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { selectRows } from '../data/split.js';
import type { Table } from '../data/table.js';
import { mapCells } from '../data/column.js';
import { MultilossError } from '../errors.js';
import { callerMonitor } from './early-stopping.js';
import { createMetrics } from '../metrics/index.js';
import { cellLabel, columnIndex, type HeadSpec } from '../model/heads/index.js';
import type { MultiOutputModel } from '../model/multi-output.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import { SeparateModels } from '../model/separate-models.js';
import { defaultFeatures, fitModel, splitInput, type FitInput, type FitOptions } from './fit.js';
import type { EarlyStoppingSpec } from './early-stopping.js';
import type { ResumePoint, TrainingCallbacks, TrainingCheckpoint } from './types.js';

/** What separate models hand to their checkpoint writer. */
export type SeparateCheckpoint =
  /** A checkpoint of the sub-model in training (every N epochs, best epoch, interrupt), as `fitModel` offers it. */
  | { kind: 'checkpoint'; index: number; count: number; head: string; checkpoint: TrainingCheckpoint<MultilossModel> }
  /** A finished sub-model: a resumed run takes it over instead of training it again. */
  | { kind: 'model'; index: number; count: number; head: string; model: MultilossModel };

/** Where an interrupted run of separate models continues (read back from its checkpoints). */
export interface SeparateResumePoint {
  /**
   * The finished sub-models of the first heads, in the configuration's order.
   * The resumed run takes them over: they end up in its result (or are
   * disposed with it when it fails).
   */
  done: MultilossModel[];
  /** The last checkpoint of the next sub-model, when it had started. */
  current?: ResumePoint;
}

export interface SeparateFitOptions extends Omit<FitOptions, 'checkpoint' | 'resume'> {
  /** Called before each sub-model starts training (0-based index, count, head name). */
  onModelBegin?: (index: number, count: number, head: string) => void;
  /**
   * Receives the sub-model in training's checkpoints and the finished
   * sub-models (when the run checkpoints: `training.checkpointEvery` or early
   * stopping set, or on an interrupt); awaited.
   */
  checkpoint?: (checkpoint: SeparateCheckpoint) => Promise<void>;
  /** Continue an interrupted run: finished sub-models are taken over, the next one continues from its checkpoint. */
  resume?: SeparateResumePoint;
  /**
   * The run is the reference of a comparison that stops on Δm: a Δm monitor
   * becomes each sub-model's own head metric (Δm of one head against a fixed
   * reference rises and falls with that metric). Without it, a Δm monitor is
   * an error (a single run has no baseline).
   */
  deltaMBaseline?: boolean;
}

/**
 * The early-stopping spec of the sub-model of `head`: a monitor naming this
 * head is kept; one naming another head becomes the sub-model's own total
 * loss on the same split (a sub-model has one head, so that is its loss).
 * Δm (only as a comparison's reference) becomes the head's first metric.
 */
function subEarlyStopping(
  spec: EarlyStoppingSpec | undefined,
  head: HeadSpec,
  heads: readonly HeadSpec[],
  deltaMBaseline: boolean,
): EarlyStoppingSpec | undefined {
  if (!spec?.monitor) return spec;
  // A monitor only a comparison computes (Δm): as its reference, a sub-model stops on its head's first metric.
  const supplied = callerMonitor(spec.monitor);
  if (supplied) {
    if (!deltaMBaseline) throw supplied.unavailable(spec.monitor);
    const { mode: _mode, ...rest } = spec;
    return { ...rest, monitor: `validation.${head.name}.${createMetrics(head.kind, { threshold: head.threshold })[0].name}` };
  }
  const parts = spec.monitor.split('.');
  if (parts.length < 3) return spec; // train.loss / validation.loss: the sub-model's own total
  const named = parts.slice(1, -1).join('.');
  if (named === head.name || !heads.some((h) => h.name === named)) return spec; // this head, or an error for the trainer to report
  const { mode: _mode, ...rest } = spec;
  return { ...rest, monitor: `${parts[0]}.loss` };
}

/** The single-head configuration each sub-model trains with. */
export function subModelConfig(
  config: ResolvedConfig,
  head: HeadSpec,
  /** The features every sub-model takes (undefined for images: the pixels). */
  features: ResolvedConfig['features'],
  deltaMBaseline = false,
): ResolvedConfig {
  return {
    ...config,
    approach: 'joint',
    features,
    heads: [head],
    // The split is taken once, for every sub-model alike (fitSeparate passes the validation table).
    validation: { ...config.validation, split: 0 },
    training: { ...config.training, earlyStopping: subEarlyStopping(config.training.earlyStopping, head, config.heads, deltaMBaseline) },
    // One loss: nothing to balance; train on the head's plain loss.
    balance: { ...PLAIN_LOSS_BALANCE },
  };
}

/** The rows of `table` that have a label for `head`. */
function labelledRows(table: Table, head: HeadSpec): Table {
  const c = columnIndex(table, head.column, `target (head "${head.name}")`);
  const keep: number[] = [];
  const labelAt = mapCells(table.data[c], cellLabel);
  for (let i = 0; i < table.length; i++) if (labelAt(i) !== null) keep.push(i);
  return keep.length === table.length ? table : selectRows(table, keep);
}

/**
 * Trains one model per target (approach `separate`): the seeded validation
 * split is taken once over all targets, exactly as a joint model takes it;
 * each sub-model then fits its own preprocessing and target encoding on the
 * training rows labelled for its target, builds a network with the same trunk
 * specification and trains with the run's seed and budget. Balancing does not
 * apply (each model has one loss). The sub-models train in the
 * configuration's order; with `checkpoint`, the one in training writes
 * checkpoints as a joint model does and each finished one is handed over, so
 * that `resume` can skip the finished ones and continue the interrupted one
 * exactly. Browser-safe like `fitModel`.
 */
export async function fitSeparate(config: ResolvedConfig, input: FitInput, options: SeparateFitOptions = {}): Promise<SeparateModels> {
  const warn = options.warn ?? (() => undefined);
  const joint: ResolvedConfig = { ...config, approach: 'joint' };
  const { all, train, validation } = splitInput(joint, input, warn);
  // The features are fixed over all targets: no target ever becomes another model's input.
  const features = config.features ?? defaultFeatures(all, joint);
  const configs = config.heads.map((head) => subModelConfig(config, head, features, options.deltaMBaseline ?? false));
  return trainSeparately(config, configs, options, (k, fitOptions) => {
    const head = config.heads[k];
    // Rows without this target's label train nothing in its model (as masked rows in a joint model): leave them out.
    const trainRows = labelledRows(train, head);
    let val = validation && labelledRows(validation, head);
    if (validation && validation.length && val?.length === 0) {
      warn(`head "${head.name}": no labelled validation row; its model trains without validation`);
    }
    if (val?.length === 0) val = undefined;
    return fitModel(configs[k], { table: trainRows, validation: val }, fitOptions);
  });
}

/**
 * Trains sub-model `k` of separate models with its configuration and these
 * options (callbacks, warnings, interrupt, resume point, checkpoint writer):
 * what `trainSeparately` calls for each target not yet trained.
 */
export type SubModelTrainer = (k: number, options: FitOptions) => Promise<MultilossModel>;

/**
 * The run of separate models over any kind of data (tables: `fitSeparate`;
 * images: `fitSeparateImages`): takes the finished sub-models of a resumed
 * run over, trains the others in the configuration's order with `trainOne`,
 * hands checkpoints and finished sub-models to the writer and turns an
 * interrupt into one error naming the sub-model. `configs` are the
 * sub-models' configurations (`subModelConfig`), one per head.
 */
export async function trainSeparately(config: ResolvedConfig, configs: readonly ResolvedConfig[], options: SeparateFitOptions, trainOne: SubModelTrainer): Promise<SeparateModels> {
  const warn = options.warn ?? (() => undefined);
  const count = config.heads.length;
  const write = options.checkpoint;
  // Finished sub-models go to the writer at once when the run checkpoints anyway; otherwise only on an interrupt.
  const eager = config.training.checkpointEvery !== undefined || config.training.earlyStopping !== undefined;
  const models: MultilossModel[] = [];
  let handedOver = 0;
  const handOver = async () => {
    if (!write) return;
    for (; handedOver < models.length; handedOver++) {
      const k = handedOver;
      await write({ kind: 'model', index: k, count, head: config.heads[k].name, model: models[k] });
    }
  };
  try {
    const done = options.resume?.done ?? [];
    if (done.length > count)
      throw new MultilossError('config', `resume: the checkpoint holds ${done.length} finished models, the configuration has ${count} targets`);
    done.forEach((m, k) => {
      models.push(m);
      const head = config.heads[k];
      if (m.heads.length !== 1 || m.heads[0].name !== head.name) {
        throw new MultilossError(
          'config',
          `resume: finished model ${k + 1} is of head "${m.heads.map((h) => h.name).join('", "')}", the configuration's target ${k + 1} is "${head.name}"`,
        );
      }
      if (JSON.stringify(m.meta.config) !== JSON.stringify(configs[k])) {
        throw new MultilossError(
          'config',
          `resume: the finished model of head "${head.name}" was trained with a different configuration; resume with the same data and configuration`,
        );
      }
    });
    handedOver = done.length;
    for (let k = done.length; k < count; k++) {
      const head = config.heads[k];
      options.onModelBegin?.(k, count, head.name);
      const resume = k === done.length ? options.resume?.current : undefined;
      let epoch = resume?.state.epoch ?? 0;
      const callbacks: TrainingCallbacks<MultilossModel> = {
        ...options.callbacks,
        onEpochEnd: (log, control) => {
          epoch = log.epoch;
          return options.callbacks?.onEpochEnd?.(log, control);
        },
      };
      try {
        models.push(
          await trainOne(k, {
            callbacks,
            warn: (m) => warn(`head "${head.name}": ${m}`),
            interrupt: options.interrupt,
            resume,
            checkpoint: write && ((checkpoint) => write({ kind: 'checkpoint', index: k, count, head: head.name, checkpoint })),
          }),
        );
      } catch (e) {
        if (e instanceof MultilossError && e.kind === 'interrupted') {
          await handOver();
          const where = `training interrupted in model ${k + 1} of ${count} (head "${head.name}") after epoch ${epoch}`;
          throw new MultilossError('interrupted', write ? `${where} (a checkpoint was written)` : `${where}; no checkpoint writer was given, nothing was kept`);
        }
        throw e;
      }
      if (eager) await handOver();
    }
  } catch (e) {
    for (const m of models) m.dispose();
    throw e;
  }
  return SeparateModels.combine(models, config);
}

/** Trains with the configuration's approach: `fitSeparate` for `separate`, `fitModel` otherwise. A Δm monitor is an error (a single run has no baseline). */
export async function fitByApproach(config: ResolvedConfig, input: FitInput, options: SeparateFitOptions = {}): Promise<MultiOutputModel> {
  const monitor = config.training.earlyStopping?.monitor;
  const supplied = callerMonitor(monitor);
  if (monitor !== undefined && supplied && !options.deltaMBaseline) throw supplied.unavailable(monitor);
  if (config.approach === 'separate') return fitSeparate(config, input, options);
  if (options.checkpoint || options.resume) throw new MultilossError('config', 'fitByApproach: checkpoints and resume of a joint model go through fitModel');
  return fitModel(config, input, { callbacks: options.callbacks, warn: options.warn, interrupt: options.interrupt });
}
