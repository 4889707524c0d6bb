// Early stopping's defaults and the record of why a run ended; the stopping
// rule itself runs in the trainer (trainer.ts).
import type { EpochLog, History } from './history.js';

/**
 * Early stopping. `monitor` names a figure of the epoch log:
 * `validation.relativeLoss` (default: the mean over heads of each head's loss
 * relative to its first epoch's), `validation.loss` (the weighted total),
 * `validation.<head>.loss`, or `validation.<head>.<metric>` (e.g.
 * `validation.species.accuracy`); `train.` likewise. Without validation data,
 * `train.` figures are the only choice (and `train.loss` the default).
 */
export interface EarlyStoppingSpec {
  monitor?: string;
  /** Epochs without improvement before stopping (default 10). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** 'min' or 'max'; default: 'min' for losses, the metric's own direction otherwise. */
  mode?: 'min' | 'max';
  /** Put back the weights of the best epoch when training ends (default true). */
  restoreBest?: boolean;
}

/** What early stopping watches: one figure per epoch log, and which way is better. */
export interface EarlyStoppingMonitor {
  mode: 'min' | 'max';
  /** The figure's name, for logs and the saved stop record (e.g. `validation.relativeLoss`). */
  name?: string;
  /** The figure of `log`, the newest epoch; `history` holds every epoch so far, `log` last. */
  read(log: EpochLog, history: History): number;
}

/**
 * The default monitor: the mean over heads of each head's validation loss
 * relative to its first epoch's, Σₜ Lₜ(e) / Lₜ(1) / T. Unlike the weighted
 * total it does not move when a balancing method changes its weights, and a
 * head whose loss is on a larger scale does not decide alone.
 */
export const DEFAULT_MONITOR = 'validation.relativeLoss';
/** Epochs without improvement before a default run stops. */
export const DEFAULT_PATIENCE = 10;
/** The default epoch cap with early stopping: large, since early stopping ends most runs well before it. */
export const DEFAULT_EPOCHS = 200;
/** The default number of epochs without early stopping (no validation data, or turned off): a fixed budget. */
export const DEFAULT_EPOCHS_WITHOUT_STOPPING = 50;

/** The default epoch count of a run with or without early stopping. */
export function defaultEpochs(earlyStopping: EarlyStoppingSpec | undefined): number {
  return earlyStopping ? DEFAULT_EPOCHS : DEFAULT_EPOCHS_WITHOUT_STOPPING;
}

/**
 * The early stopping a run uses. `spec` as configured: `false` turns it off,
 * `true` or an object turns it on (unset fields take their defaults), and
 * unset means on exactly when there is validation data — the default. An
 * unset monitor stays unset: the trainer watches `validation.relativeLoss`
 * when validation rows exist, else `train.loss`.
 */
export function effectiveEarlyStopping(spec: EarlyStoppingSpec | boolean | undefined, hasValidation: boolean): EarlyStoppingSpec | undefined {
  if (spec === false || (spec === undefined && !hasValidation)) return undefined;
  const given = spec === true || spec === undefined ? {} : spec;
  return { patience: DEFAULT_PATIENCE, restoreBest: true, ...given };
}

/**
 * Why training ended: `patience` (early stopping: no improvement for
 * `patience` epochs), `epoch-cap` (all configured epochs ran), `callback`
 * (a callback called `control.stop()`), `interrupted` (a signal or an
 * interrupt flag; a checkpoint was written).
 */
export type StopReason = 'patience' | 'epoch-cap' | 'callback' | 'interrupted';

/** How a training run ended, saved with the model (multiloss.json `stop`). */
export interface TrainingStop {
  reason: StopReason;
  /** Epochs run. */
  epochs: number;
  /** The configured epoch cap. */
  maxEpochs: number;
  /** With early stopping: what it watched, its patience, the best epoch and its value. */
  monitor?: string;
  patience?: number;
  bestEpoch?: number;
  best?: number;
  /** Whether the model holds the best epoch's weights (else the last epoch's). */
  restoredBest: boolean;
}

/** One line for logs, `multiloss info` and the report, e.g. "patience exhausted at epoch 24 (…); best epoch 14 restored". */
export function describeStop(stop: TrainingStop): string {
  const best =
    stop.bestEpoch === undefined
      ? ''
      : stop.restoredBest
        ? `; best epoch ${stop.bestEpoch} restored (${stop.monitor} ${formatValue(stop.best)})`
        : `; best epoch ${stop.bestEpoch} (${stop.monitor} ${formatValue(stop.best)}), last epoch's weights kept`;
  switch (stop.reason) {
    case 'patience':
      return `patience exhausted at epoch ${stop.epochs} of ${stop.maxEpochs} (no improvement of ${stop.monitor} for ${stop.patience} epochs)${best}`;
    case 'epoch-cap':
      return `epoch cap reached (${stop.epochs} epochs)${stop.monitor ? best : '; early stopping off'}`;
    case 'callback':
      return `stopped by a callback at epoch ${stop.epochs} of ${stop.maxEpochs}${best}`;
    case 'interrupted':
      return `interrupted after epoch ${stop.epochs} of ${stop.maxEpochs}${best}`;
  }
}

function formatValue(v: number | undefined): string {
  return v === undefined ? '?' : Number(v.toPrecision(4)).toString();
}
