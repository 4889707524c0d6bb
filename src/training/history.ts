import type { GradientDiagnostics } from './diagnostics.js';

/** One head's figures for one epoch on one split. */
export interface HeadLog {
  /** The head's unweighted loss: weighted mean over its labelled rows. */
  loss: number;
  /** The weight the balancing strategy applied to this head (mean over the epoch's steps). */
  weight: number;
  /** The head's metrics (accuracy, rmse, …) over the split. */
  metrics: Record<string, number>;
}

export interface SplitLog {
  /** Weighted total Σ wₜ·Lₜ. */
  loss: number;
  heads: Record<string, HeadLog>;
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
