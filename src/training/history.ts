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
