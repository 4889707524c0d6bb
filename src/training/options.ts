// Training options: the one type every front door takes (`TrainingConfig`, as a configuration
// file's `training:` and the library API's `training` give it) and the form the trainer runs
// with once the defaults are filled in (`TrainerOptions`), read by one function.
import { defaultEpochs, effectiveEarlyStopping, type EarlyStoppingMonitor, type EarlyStoppingSpec } from './early-stopping.js';
import type { OptimizerName, OptimizerSpec } from './optimizers.js';
import type { ScheduleSpec } from './schedules.js';

/** Training settings; every field has the CLI's default. */
export interface TrainingConfig {
  /** Default 200 with early stopping (the default when there is validation data), else 50. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Default 1e-3. */
  learningRate?: number;
  /** 'adam' (default), 'adamw', 'sgd', or an object with the optimizer's options (its learningRate is used when `learningRate` is not given). */
  optimizer?: OptimizerName | (Omit<OptimizerSpec, 'learningRate'> & { learningRate?: number });
  /** 'constant' (default), 'cosine', or a schedule object. */
  schedule?: 'constant' | 'cosine' | ScheduleSpec;
  /** Rescale the gradient when its global L2 norm exceeds this. */
  clipNorm?: number;
  /** Clip every gradient element to ±clipValue. */
  clipValue?: number;
  /** Seeds shuffling, dropout masks and the validation split. Default 42. */
  seed?: number;
  /**
   * Arrays given to the library API: draw a new row order every epoch (default true); false keeps
   * the given order (as a Dataset or iterable always is: they are never reshuffled).
   */
  shuffle?: boolean;
  /** Compute training metrics from each batch's predictions (default true). */
  trainMetrics?: boolean;
  /**
   * Record per-head gradient norms and pairwise cosines on the shared
   * representation for loss-based methods too (default false; gradient-based
   * methods always record them, on the part they aggregate). Costs one split
   * of the backward pass at the trunk output.
   */
  diagnostics?: boolean;
  /** Batch size of validation and evaluation passes (default 1024). */
  evaluationBatchSize?: number;
  /**
   * Default: on when there is validation data: monitor `validation.relativeLoss`,
   * patience 10, best weights restored. `false` turns it off; `true` turns it
   * on with the defaults (on `train.loss` without validation data).
   */
  earlyStopping?: EarlyStoppingSpec | boolean;
  /** Offer a checkpoint (`callbacks.onCheckpoint`) every this many epochs (and at each new best epoch). */
  checkpointEvery?: number;
  /**
   * A NaN or infinity in a head's loss or gradient: 'error' (default) stops
   * with an error naming the head, epoch and step; 'skip-batch' drops that
   * step's update and counts it in the epoch's `skippedBatches`.
   */
  onNonFinite?: 'error' | 'skip-batch';
}

/** `TrainingConfig` with its defaults filled in: what the trainer runs with (and a saved model records). */
export interface TrainerOptions extends Omit<TrainingConfig, 'epochs' | 'batchSize' | 'seed' | 'learningRate' | 'optimizer' | 'schedule' | 'earlyStopping' | 'shuffle'> {
  epochs: number;
  batchSize: number;
  seed: number;
  optimizer: OptimizerSpec;
  schedule?: ScheduleSpec;
  /** Stop when a monitored figure stops improving (and optionally restore the best weights). */
  earlyStopping?: EarlyStoppingSpec;
  /**
   * A figure to watch computed by the caller (e.g. Δm against a comparison's
   * reference) instead of the one `earlyStopping.monitor` names; patience,
   * minDelta and restoreBest still come from `earlyStopping`.
   */
  monitor?: EarlyStoppingMonitor;
}

export const TRAINING_DEFAULTS = { batchSize: 32, learningRate: 1e-3, seed: 42 } as const;

/**
 * TrainingConfig → the trainer's options (the same defaults for a
 * configuration file and the library API): early stopping on when
 * `hasValidation` (a validation split or validation data) unless
 * `earlyStopping: false`, and the epoch cap that goes with it.
 */
export function resolveTrainingOptions(t: TrainingConfig = {}, hasValidation = false): TrainerOptions {
  const earlyStopping = effectiveEarlyStopping(t.earlyStopping, hasValidation);
  const opt = t.optimizer ?? 'adam';
  const lr = t.learningRate ?? (typeof opt === 'object' ? opt.learningRate : undefined) ?? TRAINING_DEFAULTS.learningRate;
  const optimizer: OptimizerSpec = typeof opt === 'string' ? { name: opt, learningRate: lr } : { ...opt, learningRate: lr };
  const sched = t.schedule ?? 'constant';
  const schedule: ScheduleSpec = typeof sched === 'string' ? { kind: sched } : sched;
  return {
    epochs: t.epochs ?? defaultEpochs(earlyStopping),
    batchSize: t.batchSize ?? TRAINING_DEFAULTS.batchSize,
    seed: t.seed ?? TRAINING_DEFAULTS.seed,
    optimizer,
    schedule,
    clipNorm: t.clipNorm,
    clipValue: t.clipValue,
    trainMetrics: t.trainMetrics ?? true,
    diagnostics: t.diagnostics ?? false,
    evaluationBatchSize: t.evaluationBatchSize,
    ...(earlyStopping ? { earlyStopping } : {}),
    checkpointEvery: t.checkpointEvery,
    onNonFinite: t.onNonFinite ?? 'error',
  };
}
