import { MultilossError } from '../../errors.js';
import { rowRef } from '../../data/rowref.js';
import type { Cell, Table } from '../../data/table.js';
import type { LossFunction, LossOptions } from '../../losses/index.js';
import type { StreamingMetric } from '../../metrics/metric.js';

export type HeadKind = 'classification' | 'binary' | 'multilabel' | 'regression' | 'count';
export const HEAD_KINDS: readonly HeadKind[] = ['classification', 'binary', 'multilabel', 'regression', 'count'];

/** A head as configured (validated by the config schema). */
export interface HeadSpec {
  name: string;
  column: string;
  kind: HeadKind;
  loss?: string;
  lossOptions?: LossOptions;
  /** Static loss weight used by the `static` balancing method. */
  weight?: number;
  /** Per-class loss weights, or 'balanced' (n / (K · count)). classification and binary only. */
  classWeights?: Record<string, number> | 'balanced';
  /** Column holding a non-negative per-row loss weight. */
  sampleWeight?: string;
  /** Decision threshold on the probability (binary, multilabel). */
  threshold?: number;
  /** The positive class of a binary head. */
  positive?: string;
  /** Fixed class list (classification, binary, multilabel); otherwise learned from the data. */
  classes?: string[];
  /** Label separator inside a multilabel cell. */
  separator?: string;
}

/** Targets of one head, encoded for training, row-aligned with the table. */
export interface EncodedTargets {
  /** n×units targets in the space the loss sees (one-hot, 0/1, standardized value, count). */
  y: Float32Array;
  /** n×units targets in the space metrics see (original units). */
  yMetric: Float32Array;
  /** 1 where the row has a label, 0 where it is missing. */
  mask: Float32Array;
  /** Per-row loss weight: mask × class weight × sample weight. */
  weight: Float32Array;
}

export interface ClassificationPrediction {
  label: string;
  probabilities: Record<string, number>;
}
export interface BinaryPrediction {
  label: string;
  /** Probability of `label` (the predicted class). */
  probability: number;
  probabilities: Record<string, number>;
}
export interface MultilabelPrediction {
  labels: string[];
  probabilities: Record<string, number>;
}
export type HeadPrediction = ClassificationPrediction | BinaryPrediction | MultilabelPrediction | number;

/** What a head stores in multiloss.json: its spec plus the state fitted on the training data. */
export interface HeadJSON {
  spec: HeadSpec;
  classes?: string[];
  positive?: string;
  mean?: number;
  std?: number;
  classWeights?: Record<string, number>;
}

/** The activation between the head's raw output and what the saved network outputs. */
export type HeadActivation = 'softmax' | 'sigmoid' | 'linear';

/**
 * One output of the model: how its targets are encoded, which loss it trains
 * with, how its output is decoded and which metrics describe it.
 */
export interface Head {
  readonly name: string;
  readonly kind: HeadKind;
  readonly spec: HeadSpec;
  readonly units: number;
  readonly activation: HeadActivation;
  readonly loss: LossFunction;
  /** Encodes the head's column of `table` (and its sample-weight column). */
  encode(table: Table): EncodedTargets;
  /** Maps the saved network's output (n×units) to metric space (original units). */
  toMetricSpace(output: Float32Array): Float32Array;
  /** Decodes row `row` of the network's output into a prediction. */
  decode(output: Float32Array, row: number): HeadPrediction;
  createMetrics(): StreamingMetric[];
  toJSON(): HeadJSON;
}

/** "file: line 13" (or "file: row 12" when lines are unknown) for messages, counting in the source file. */
export function describeRow(table: Table, i: number): string {
  return `${table.source}: ${rowRef(table, i)}`;
}

export function columnIndex(table: Table, column: string, role: string): number {
  const idx = table.columns.indexOf(column);
  if (idx < 0) {
    const shown = table.columns.slice(0, 50).map((c) => JSON.stringify(c)).join(', ');
    throw new MultilossError('data', `${table.source}: ${role} column "${column}" not found; columns are: ${shown}${table.columns.length > 50 ? ', …' : ''}`);
  }
  return idx;
}

export function cellLabel(cell: Cell): string | null {
  if (cell === null) return null;
  if (typeof cell === 'number' && !Number.isFinite(cell)) return null;
  const s = String(cell).trim();
  return s === '' ? null : s;
}

/**
 * Per-row sample weights from the head's `sampleWeight` column (1 when none).
 * A missing, negative or non-finite weight is an error naming the row.
 */
export function sampleWeights(table: Table, spec: HeadSpec, parse: (c: Cell) => number | null): Float32Array {
  const n = table.length;
  const out = new Float32Array(n).fill(1);
  if (!spec.sampleWeight) return out;
  const idx = columnIndex(table, spec.sampleWeight, `sample-weight (head "${spec.name}")`);
  for (let i = 0; i < n; i++) {
    const cell = table.data[idx].get(i);
    const w = parse(cell);
    if (w === null || w < 0) {
      throw new MultilossError('data', `${describeRow(table, i)}, column "${spec.sampleWeight}": sample weight ${JSON.stringify(cell)} must be a finite number ≥ 0`);
    }
    out[i] = w;
  }
  return out;
}
