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
}
