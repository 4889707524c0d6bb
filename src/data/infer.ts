/**
 * Column typing: decide whether a column is numeric, boolean or categorical.
 */
import { MultilossError } from '../errors.js';
import type { Column } from './column.js';
import type { Cell, ColumnType, Table } from './table.js';
import { parseNumber } from './cell.js';

export { parseNumber };


/** What a value that `beyondFloat32` is called in messages. */
export const BEYOND_FLOAT32 = 'is beyond the float32 range (±3.4e38) that training uses';

/** Whether a finite number becomes ±Infinity as a float32 (|x| beyond ±3.4e38 once rounded): tensors and targets are float32. */
export function beyondFloat32(x: number): boolean {
  return Number.isFinite(x) && !Number.isFinite(Math.fround(x));
}

/** true/false for a JS boolean or "true"/"false" (any case, trimmed); otherwise null. */
export function parseBoolean(cell: Cell): boolean | null {
  if (typeof cell === 'boolean') return cell;
  if (typeof cell !== 'string') return null;
  const s = cell.trim().toLowerCase();
  return s === 'true' ? true : s === 'false' ? false : null;
}

/**
 * Infers a column type from its cells (nulls ignored): numeric if every value
 * parses with {@link parseNumber}; boolean if every value is a JS boolean or
 * "true"/"false" (any case); otherwise categorical. A column with no non-null
 * value is reported as 'categorical' (callers decide whether that is an error).
 * A column whose type a file's schema declares (Parquet, Arrow) has that type.
 * Run {@link normalizeMissing} first so tokens like "NA" count as missing.
 */
export function inferColumnType(values: readonly Cell[] | Column): ColumnType {
  if ('get' in values && values.declaredType) return values.declaredType;
  let numeric = true;
  let boolean = true;
  let any = false;
  const column = 'get' in values ? values : undefined;
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = column ? column.get(i) : (values as readonly Cell[])[i];
    if (v === null) continue;
    any = true;
    if (numeric && parseNumber(v) === null) numeric = false;
    if (boolean && parseBoolean(v) === null) boolean = false;
    if (!numeric && !boolean) return 'categorical';
  }
  if (!any) return 'categorical';
  return numeric ? 'numeric' : boolean ? 'boolean' : 'categorical';
}

/** The column named `name`; error (listing the available columns) when it is absent. */
export function tableColumn(table: Table, name: string): Column {
  const j = table.columns.indexOf(name);
  if (j === -1) {
    throw new MultilossError(
      'data',
      `${table.source}: no column "${name}"; available columns: ${table.columns.map((c) => `"${c}"`).join(', ') || '(none)'}`,
    );
  }
  return table.data[j];
}

/** The cells of one column (a copy: for small tables; the training path reads {@link tableColumn}). */
export function columnValues(table: Table, name: string): Cell[] {
  const column = tableColumn(table, name);
  return Array.from({ length: column.length }, (_, i) => column.get(i));
}

/** Infers the type of every column. */
export function inferColumnTypes(table: Table): Record<string, ColumnType> {
  const out: Record<string, ColumnType> = {};
  for (const name of table.columns) out[name] = inferColumnType(tableColumn(table, name));
  return out;
}
