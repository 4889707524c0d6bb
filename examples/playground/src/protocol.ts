/**
 * The messages between the playground page and its training worker. The page
 * never loads tfjs: the worker holds the data, trains, predicts and writes the
 * model files; the page draws what the worker reports. Requests carry an `id`
 * that their answer repeats; training reports arrive as events meanwhile.
 */
import type { ColumnType } from '../../../src/data/table.js';
import type { HistoryHead } from '../../../src/report/history-charts.js';
import type { EpochLog, SplitLog } from '../../../src/training/history.js';
import type { Prediction } from '../../../src/model/multiloss-model.js';

/** A data file from the file input, or the bundled data fetched as a Blob. */
export interface DataFile {
  name: string;
  data: Blob;
}

export type Request =
  /** Parse a data file (kept in the worker for training). */
  | { id: number; type: 'load'; file: DataFile }
  /** Train on the loaded data with this configuration (the same object a config file holds, minus `data`). */
  | { id: number; type: 'train'; config: Record<string, unknown> }
  /** Predict rows (cell text by column) with the trained model. */
  | { id: number; type: 'predict'; rows: Record<string, string>[] }
  /** The trained model's files, as a model directory holds them. */
  | { id: number; type: 'export' };

/** Sent on its own, never answered: ends the current training run after the current epoch. */
export interface StopRequest {
  type: 'stop';
}

export interface ColumnSummary {
  name: string;
  type: ColumnType;
  /** Distinct non-missing values (up to 50 counted). */
  distinct: number;
  /** Rows where the cell is missing. */
  missing: number;
}

export interface TableSummary {
  source: string;
  rows: number;
  columns: ColumnSummary[];
}

/** A feature of the trained model, for the prediction form. */
export interface FormFeature {
  name: string;
  type: 'numeric' | 'categorical' | 'boolean';
  categories?: string[];
  /** A typical value (median or most frequent) to start the form with. */
  example: string;
}

export interface TrainingSummary {
  stopped: boolean;
  epochs: number;
  parameters: number;
  metrics: { train?: SplitLog; validation?: SplitLog };
  features: FormFeature[];
  /** Tensors alive in the worker once the previous model is disposed (stays the same from run to run: no leaks). */
  tensors: number;
}

export interface ModelFile {
  name: string;
  data: ArrayBuffer;
}

export interface Capabilities {
  version: string;
  /** The tfjs backend in use (and why others were skipped). */
  backend: string;
  architectures: string[];
  headKinds: string[];
  /** The cell values always read as missing. */
  missing: string[];
  /** Every balancing method, with the gradient modes it accepts (none for loss-based methods). */
  methods: { name: string; modes: string[] }[];
}

export type Answer =
  | { id: number; type: 'table'; table: TableSummary }
  | { id: number; type: 'trained'; summary: TrainingSummary }
  | { id: number; type: 'predictions'; predictions: Prediction[] }
  | { id: number; type: 'files'; files: ModelFile[] }
  /** The request failed with this one-line message (the CLI's message for the same input). */
  | { id: number; type: 'error'; message: string };

export type Event =
  | { type: 'ready'; capabilities: Capabilities }
  /** The worker could not start (no backend): nothing else will work. */
  | { type: 'failed'; message: string }
  | { type: 'begin'; heads: HistoryHead[]; method: string; schedule: string; epochs: number; batches: number }
  | { type: 'batch'; epoch: number; batch: number; batches: number }
  | { type: 'epoch'; log: EpochLog }
  | { type: 'warning'; message: string };

export type FromWorker = Answer | Event;

/** What each request is answered with. */
export type AnswerTo<R extends Request['type']> = Extract<Answer, { type: { load: 'table'; train: 'trained'; predict: 'predictions'; export: 'files' }[R] }>;
