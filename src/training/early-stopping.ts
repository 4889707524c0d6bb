// Early stopping: its configuration and defaults, the monitors it can watch,
// the stopping rule the trainer runs after every epoch, and the record of why a
// run ended.
import * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import type { Head } from '../model/heads/head.js';
import type { EpochLog, History, SplitLog } from './history.js';

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

/** What early stopping watches: one figure per epoch log, and which way is better. */
export interface EarlyStoppingMonitor {
  mode: 'min' | 'max';
  /** The figure's name, for logs and the saved stop record (e.g. `validation.relativeLoss`). */
  name?: string;
  /** The figure of `log`, the newest epoch; `history` holds every epoch so far, `log` last. */
  read(log: EpochLog, history: History): number;
}

/**
 * Σₜ Lₜ(e) / Lₜ(1) / T over the heads whose first-epoch loss is finite and
 * positive (the weighted total when there is none): scale-free, and blind to
 * the balancing weights.
 */
function relativeLoss(split: SplitLog | undefined, first: SplitLog | undefined): number {
  if (!split) return NaN;
  let sum = 0;
  let count = 0;
  for (const [name, head] of Object.entries(split.heads)) {
    const ref = first?.heads[name]?.loss;
    if (ref === undefined || !Number.isFinite(ref) || ref <= 0) continue;
    sum += head.loss / ref;
    count++;
  }
  return count ? sum / count : split.loss;
}

/** Parses an early-stopping monitor against the heads and their metrics; errors name what exists. */
export function resolveMonitor(spec: EarlyStoppingSpec, heads: readonly Head[], hasValidation: boolean): EarlyStoppingMonitor {
  const text = spec.monitor ?? (hasValidation ? DEFAULT_MONITOR : 'train.loss');
  // A figure only a caller can compute (a comparison's Δm) comes as `TrainerOptions.monitor`, never from here.
  const supplied = callerMonitor(text);
  if (supplied) throw supplied.unavailable(text);
  const parts = text.split('.');
  const split = parts[0];
  const valid = () => {
    const names = [`${hasValidation ? 'validation' : 'train'}.relativeLoss`, `${hasValidation ? 'validation' : 'train'}.loss`];
    for (const h of heads) {
      names.push(`validation.${h.name}.loss`);
      for (const m of h.createMetrics()) names.push(`validation.${h.name}.${m.name}`);
    }
    return names.slice(0, 40).join(', ');
  };
  if ((split !== 'train' && split !== 'validation') || parts.length < 2) {
    throw new MultilossError('config', `training.earlyStopping.monitor "${text}": expected train.… or validation.…, e.g. ${valid()}`);
  }
  if (split === 'validation' && !hasValidation) {
    throw new MultilossError(
      'config',
      `training.earlyStopping.monitor "${text}": there is no validation data (set validation.split or validation.data), or monitor train.loss`,
    );
  }
  const pick = (log: EpochLog | undefined) => (split === 'train' ? log?.train : log?.validation);
  if (parts.length === 2 && parts[1] === 'loss') {
    return { mode: spec.mode ?? 'min', name: text, read: (log) => pick(log)?.loss ?? NaN };
  }
  if (parts.length === 2 && parts[1] === 'relativeLoss') {
    return { mode: spec.mode ?? 'min', name: text, read: (log, history) => relativeLoss(pick(log), pick(history[0])) };
  }
  // Head names may contain dots: the head is everything between the split and the last part.
  const figure = parts[parts.length - 1];
  const headName = parts.slice(1, -1).join('.');
  const head = heads.find((h) => h.name === headName);
  if (!head) throw new MultilossError('config', `training.earlyStopping.monitor "${text}": no head "${headName}"; valid monitors: ${valid()}`);
  if (figure === 'loss') return { mode: spec.mode ?? 'min', name: text, read: (log) => pick(log)?.heads[head.name]?.loss ?? NaN };
  const metric = head.createMetrics().find((m) => m.name === figure);
  if (!metric) {
    throw new MultilossError(
      'config',
      `training.earlyStopping.monitor "${text}": head "${headName}" has no metric "${figure}"; it has: loss, ${head
        .createMetrics()
        .map((m) => m.name)
        .join(', ')}`,
    );
  }
  return { mode: spec.mode ?? (metric.higherIsBetter ? 'max' : 'min'), name: text, read: (log) => pick(log)?.heads[head.name]?.metrics[figure] ?? NaN };
}

/**
 * A monitor whose figure only a caller can compute (a comparison's Δm needs
 * the separate models as its reference): a configuration may name it, and the
 * caller that can compute it passes it as an object (`TrainerOptions.monitor`).
 * Everywhere else the name is refused with the monitor's own message.
 * The module that computes the figure registers it.
 */
export interface CallerMonitor {
  /** Whether `monitor` (an `earlyStopping.monitor`) names this figure. */
  matches(monitor: string): boolean;
  /** The one-line error for a run that cannot compute it. */
  unavailable(monitor: string): MultilossError;
}

const CALLER_MONITORS: CallerMonitor[] = [];

/** Registers a monitor that callers supply (see CallerMonitor); registering the same object again is a no-op. */
export function registerCallerMonitor(monitor: CallerMonitor): void {
  if (!CALLER_MONITORS.includes(monitor)) CALLER_MONITORS.push(monitor);
}

/** The registered caller-supplied monitor that `monitor` names, if any. */
export function callerMonitor(monitor: string | undefined): CallerMonitor | undefined {
  return monitor === undefined ? undefined : CALLER_MONITORS.find((m) => m.matches(monitor));
}

/** Where early stopping stands: the best figure so far, its epoch, and epochs since. */
export interface EarlyStoppingState {
  best: number;
  bestEpoch: number;
  wait: number;
}

/**
 * The stopping rule, run by the trainer after every epoch's log (after
 * validation, before `onEpochEnd`): reads the monitor, keeps the best epoch's
 * weights when `restoreBest`, and says when patience is exhausted. Its state
 * and best weights are part of a checkpoint.
 */
export class EarlyStopping {
  state?: EarlyStoppingState;
  private best?: tf.Tensor[];

  constructor(private readonly spec: EarlyStoppingSpec | undefined) {}

  /** Whether the best epoch's weights are put back when training ends. */
  get restoresBest(): boolean {
    return this.spec?.restoreBest ?? true;
  }

  get patience(): number {
    return this.spec?.patience ?? DEFAULT_PATIENCE;
  }

  /** The best epoch's weights kept so far (undefined when none). */
  get bestWeights(): tf.Tensor[] | undefined {
    return this.best;
  }

  /** Keeps copies of `weights` as the best epoch's (a restored checkpoint's, or the current epoch's). */
  keepBest(weights: readonly tf.Tensor[]): void {
    tf.dispose(this.best ?? []);
    this.best = weights.map((w) => tf.keep(tf.clone(w)));
  }

  /**
   * The newest epoch `log` (last of `history`) under `monitor`: whether it
   * improved on the best (by more than minDelta), and whether `patience`
   * epochs have now passed without an improvement. `weights` gives the
   * network's current weights, read only when they are kept.
   */
  epochEnd(monitor: EarlyStoppingMonitor, log: EpochLog, history: History, weights: () => tf.Tensor[]): { improved: boolean; exhausted: boolean } {
    const value = monitor.read(log, history);
    const s = this.state ?? { best: monitor.mode === 'min' ? Infinity : -Infinity, bestEpoch: 0, wait: 0 };
    const delta = this.spec?.minDelta ?? 0;
    const improved = Number.isFinite(value) && (monitor.mode === 'min' ? value < s.best - delta : value > s.best + delta);
    if (improved) {
      s.best = value;
      s.bestEpoch = log.epoch;
      s.wait = 0;
      if (this.restoresBest) this.keepBest(weights());
    } else {
      s.wait++;
    }
    this.state = s;
    return { improved, exhausted: s.wait >= this.patience };
  }

  /** How a run that watched `monitor` (undefined: no early stopping) ended. */
  record(reason: StopReason, monitor: EarlyStoppingMonitor | undefined, epochs: number, maxEpochs: number): TrainingStop {
    const s = this.state;
    return {
      reason,
      epochs,
      maxEpochs,
      ...(monitor
        ? {
            monitor: monitor.name ?? this.spec?.monitor ?? 'custom',
            patience: this.patience,
            ...(s && s.bestEpoch > 0 ? { bestEpoch: s.bestEpoch, best: s.best } : {}),
          }
        : {}),
      // An interrupted run keeps its current weights (the checkpoint resumes from them).
      restoredBest: reason !== 'interrupted' && this.restoresBest && this.best !== undefined,
    };
  }

  dispose(): void {
    tf.dispose(this.best ?? []);
    this.best = undefined;
  }
}
