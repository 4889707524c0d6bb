/** A cell as read from CSV/JSON: missing values are `null` after parsing. */
export type Cell = string | number | boolean | null;

/**
 * Row-major table. `source` names the file (or "rows") for error messages;
 * `lines[i]`, when present, is the 1-based line in the source where row i starts;
 * `rowNumbers[i]`, when present, the 1-based row of the source that row i came
 * from (set by `selectRows`, so messages about a split name the file's row).
 */
export interface Table {
  columns: string[];
  rows: Cell[][];
  source: string;
  lines?: number[];
  rowNumbers?: number[];
}

export type ColumnType = 'numeric' | 'categorical' | 'boolean';
