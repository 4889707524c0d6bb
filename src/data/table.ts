import type { Column } from './column.js';

export type { Cell } from './cell.js';
import type { Cell } from './cell.js';

/**
 * Column-major table: `data[j]` holds the cells of `columns[j]`, each column in
 * a typed store (see `column.ts`); no row is held as an array of cells.
 * `source` names the file (or "rows") for error messages; `lines[i]`, when
 * present, is the 1-based line in the source where row i starts;
 * `rowNumbers[i]`, when present, the 1-based row of the source that row i came
 * from (set by `selectRows`, so messages about a split name the file's row).
 */
export interface Table {
  columns: string[];
  data: Column[];
  /** Number of rows. */
  length: number;
  source: string;
  lines?: Uint32Array | readonly number[];
  rowNumbers?: Uint32Array | readonly number[];
}

/** A table given as rows of cells (what library callers may pass; see `tableFromRows`). */
export interface RowTable {
  columns: string[];
  rows: Cell[][];
  source: string;
  lines?: number[];
}

export type { ColumnType } from './cell.js';
