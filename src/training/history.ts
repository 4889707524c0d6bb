import type { GradientDiagnostics, HeadUpdate } from './diagnostics.js';

/** One head's figures for one epoch on one split. */
export interface HeadLog {
  /** The head's unweighted loss: weighted mean over its labelled rows. */
  loss: number;
  /**
   * The head's weight in the split's total `loss` (mean over the epoch's steps): a loss-based
   * strategy's weight; 1 for gradient methods, whose total is the unweighted sum (what they
   * did to each head is in EpochLog.update). Older files (no `total`) hold a gradient
   * method's raw coefficients here.
   */
  weight: number;
  /** The head's metrics (accuracy, rmse, …) over the split. */
  metrics: Record<string, number>;
}

export interface SplitLog {
  /** The total Σₜ weightₜ·Lₜ over the heads (see `total`). */
  loss: number;
  /**
   * What `loss` is: 'sum', the unweighted sum of the head losses (gradient methods, which
   * weigh gradients, not losses), or 'weighted', Σ wₜ·Lₜ with the strategy's weights
   * (loss-based methods; `static`: its fixed weights). Absent in older files.
   */
  total?: 'sum' | 'weighted';
  heads: Record<string, HeadLog>;
}

/** Final figures say what their total adds up, as the epochs' logs do (`Trainer.totalKind`). */
export function labelTotals(splits: readonly (SplitLog | undefined)[], total: 'sum' | 'weighted'): void {
  for (const split of splits) if (split) split.total = total;
}

export interface EpochLog {
  /** 1-based epoch number. */
  epoch: number;
  learningRate: number;
  seconds: number;
  train: SplitLog;
  validation?: SplitLog;
  /** Steps dropped for a non-finite loss or gradient (with training.onNonFinite: skip-batch). */
  skippedBatches?: number;
  /** Per-head gradient norms and pairwise cosines on the shared part, when measured. */
  diagnostics?: GradientDiagnostics;
  /** Gradient methods: per head, what the epoch's updates did to it (see HeadUpdate). */
  update?: Record<string, HeadUpdate>;
}

export interface BatchLog {
  epoch: number;
  /** 1-based batch within the epoch. */
  batch: number;
  batches: number;
  loss: number;
  headLosses: Record<string, number>;
}

export type History = EpochLog[];

/** One head's figures for an epoch, gathered in one place. */
export interface HeadEpochLog {
  /** Unweighted training loss (weighted mean over the head's labelled rows). */
  loss: number;
  /** The head's weight in the total loss (mean over the epoch's steps; 1 for gradient methods, whose total is the unweighted sum). */
  weight: number;
  /** Gradient methods: what the epoch's updates did to this head (share of the update, cosine, decrease vs the plain sum, raw coefficient). */
  update?: HeadUpdate;
  /** Training metrics (when `trainMetrics`). */
  metrics: Record<string, number>;
  /** Validation loss and metrics (exact over the whole validation set). */
  validation?: { loss: number; metrics: Record<string, number> };
  /** Mean ‖gradient‖ on the shared part, when measured (gradient methods, or `diagnostics: true`). */
  gradNorm?: number;
  /** Mean cosine between this head's gradient and each other head's, when measured. */
  cosine?: Record<string, number>;
}

/** An epoch's log as `onEpochEnd` receives it: the EpochLog plus every head's figures side by side. */
export interface TrainingEpochLog extends EpochLog {
  heads: Record<string, HeadEpochLog>;
}

/** Every head's figures side by side (training, validation, gradient diagnostics). */
export function headEpochLogs(log: EpochLog): Record<string, HeadEpochLog> {
  const out: Record<string, HeadEpochLog> = {};
  for (const [name, h] of Object.entries(log.train.heads)) {
    const v = log.validation?.heads[name];
    const entry: HeadEpochLog = { loss: h.loss, weight: h.weight, metrics: h.metrics };
    if (v) entry.validation = { loss: v.loss, metrics: v.metrics };
    const norm = log.diagnostics?.gradNorm[name];
    if (norm !== undefined) entry.gradNorm = norm;
    const cos = log.diagnostics?.cosine[name];
    if (cos) entry.cosine = cos;
    const update = log.update?.[name];
    if (update) entry.update = update;
    out[name] = entry;
  }
  return out;
}
