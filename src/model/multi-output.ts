import type { Table } from '../data/table.js';
import type { Head } from './heads/index.js';
import type { Evaluation, ModelInfo, Prediction } from './multiloss-model.js';

/**
 * What every trained multiloss model offers, whichever way it was trained:
 * one network with a head per target (`MultilossModel`, approach `joint`) or
 * one model per target combined (`SeparateModels`, approach `separate`).
 * Callers see the same heads, predictions and evaluations; only `info()`
 * tells the approaches apart.
 */
export interface MultiOutputModel {
  /** Every head, in the configuration's order. */
  readonly heads: readonly Head[];
  /** Decoded predictions for every head, one object per row. */
  predict(input: Table | readonly Record<string, unknown>[]): Prediction[];
  /** Raw outputs (probabilities, standardized values, log-rates), one n×units array per head. */
  predictOutputs(input: Table | readonly Record<string, unknown>[], batchSize?: number): Float32Array[];
  /** Per-head losses and metrics on labelled data. */
  evaluate(input: Table | readonly Record<string, unknown>[]): Evaluation;
  /** Features, heads, parameters, training summary; `approach` says how it was trained. */
  info(): ModelInfo;
  dispose(): void;
}

export type Approach = 'joint' | 'separate';
export const APPROACHES: readonly Approach[] = ['joint', 'separate'];
