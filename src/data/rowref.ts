import type { Table } from './table.js';

/** "line 12" when the table knows where row i starts, otherwise "row 3" (1-based). */
export function rowRef(table: Table, i: number): string {
  const line = table.lines?.[i];
  return line !== undefined ? `line ${line}` : `row ${table.rowNumbers?.[i] ?? i + 1}`;
}

/** A cell value for an error message: quoted, one line, at most 60 characters. */
export function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
