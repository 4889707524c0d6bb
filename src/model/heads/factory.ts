import type { Table } from '../../data/table.js';
import type { Head, HeadJSON, HeadKind, HeadSpec } from './head.js';

/** Builds heads of one kind: fitted on training data, or restored from multiloss.json. */
export interface HeadFactory {
  readonly kind: HeadKind;
  /** The loss names this kind accepts; the first is the default. */
  readonly losses: readonly string[];
  /** `train` is the training split (for statistics), `all` every labelled row (for class lists). */
  fit(spec: HeadSpec, train: Table, all: Table): Head;
  fromJSON(json: HeadJSON): Head;
  /** What the training report draws for this kind's heads on labelled rows (no figure when absent). */
  readonly validationFigure?: ValidationFigure;
}

/**
 * A head kind's figure in the training report, drawn from the rows' targets (`yMetric`) and the
 * model's outputs in metric space (`toMetricSpace`). `metrics` names the head's own metrics
 * (`createMetrics`) written beside it, computed over the labelled rows.
 *
 * - confusion: a matrix over the head's classes (`toJSON().classes`); `classOf` gives row
 *   `row`'s class index from the targets (`side` 'actual') or from the outputs ('predicted').
 * - scatter: predicted against actual value (one unit).
 */
export type ValidationFigure =
  | { readonly type: 'confusion'; readonly metrics: readonly string[]; classOf(values: Float32Array, row: number, head: Head, side: 'actual' | 'predicted'): number }
  | { readonly type: 'scatter'; readonly metrics: readonly string[] };
