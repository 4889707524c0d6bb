/**
 * Per-column values as the binary readers (Parquet, Arrow IPC) produce them, and the one place
 * where they become a {@link Table}. The readers never build rows: they hand over columns, typed
 * by the file's schema, to {@link tableFromColumnValues}. Their values are table-build.ts's
 * `ColumnInput` narrowed by the schema's type, which the table's columns keep.
 */
import { MultilossError } from '../errors.js';
import type { Table } from './table.js';
import { tableFromColumns, type ColumnInput } from './table-build.js';

/** A numeric column: values as float64, `missing[i] = 1` where row i has no value (its `values[i]` is then 0). */
export interface NumericColumnValues extends ColumnInput {
  type: 'numeric';
  values: Float64Array;
  missing: Uint8Array;
}

/** A categorical column (strings, dictionary entries, dates as ISO text): null where missing. */
export interface CategoricalColumnValues extends ColumnInput {
  type: 'categorical';
  values: (string | null)[];
  missing?: undefined;
}

/** A boolean column: null where missing. */
export interface BooleanColumnValues extends ColumnInput {
  type: 'boolean';
  values: (boolean | null)[];
  missing?: undefined;
}

export type ColumnValues = NumericColumnValues | CategoricalColumnValues | BooleanColumnValues;

/** Which columns of a Parquet or Arrow file to read. */
export interface ColumnSelection {
  /** Read only these columns (in the file's order); each must exist. Default: every column, each of a supported type. */
  columns?: readonly string[];
}

/** The fields of a file's schema that `selection` asks for, in the file's order; an error naming a column the file lacks. */
export function selectFields<F>(fields: readonly F[], nameOf: (f: F) => string, source: string, selection: ColumnSelection): F[] {
  const wanted = selection.columns;
  if (!wanted) return [...fields];
  const names = fields.map(nameOf);
  for (const c of wanted) {
    if (!names.includes(c)) throw new MultilossError('data', `${source}: no column "${c}"; available columns: ${names.map((n) => `"${n}"`).join(', ') || '(none)'}`);
  }
  return fields.filter((f) => wanted.includes(nameOf(f)));
}

/** The error for a column whose type cannot be read (`what`: "a list (nested) column"). */
export function unsupportedColumn(source: string, name: string, what: string): MultilossError {
  return new MultilossError('data', `${source}: column "${name}" is ${what}; multiloss reads flat columns of numbers, strings, booleans, dates and timestamps`);
}

/** Where a table of columns came from: the file (for messages), its row count, and the 1-based file row of its first row (a batch's offset). */
export interface ColumnsSource {
  source: string;
  rows: number;
  /** 1-based row of the file that the first value of each column is; default 1. Other than 1, rows are numbered in `rowNumbers`. */
  firstRow?: number;
}

/** Rows [start, end) of each column (numeric ones as views, no copy). */
export function sliceColumns(columns: readonly ColumnValues[], start: number, end: number): ColumnValues[] {
  return columns.map((c): ColumnValues => {
    if (c.type === 'numeric') return { ...c, values: c.values.subarray(start, end), missing: c.missing.subarray(start, end) };
    if (c.type === 'boolean') return { ...c, values: c.values.slice(start, end) };
    return { ...c, values: c.values.slice(start, end) };
  });
}

/**
 * Builds the table of `columns` (each `from.rows` long): the one adapter between the column
 * readers (Parquet, Arrow) and the columnar table (table-build.ts's `tableFromColumns`).
 * Numeric values stay typed arrays with their missing mask; each column keeps the schema's
 * type; no row is built.
 */
export function tableFromColumnValues(columns: readonly ColumnValues[], from: ColumnsSource): Table {
  const table = tableFromColumns(from.source, columns);
  const first = from.firstRow ?? 1;
  if (first !== 1) table.rowNumbers = Uint32Array.from({ length: from.rows }, (_, i) => first + i);
  return table;
}
