/**
 * Arrow IPC reading with apache-arrow: the file format (.arrow, .feather v2) and the stream
 * format, told apart by the library from the bytes. Each record batch's columns, typed by the
 * schema, go to {@link tableFromColumnValues}. Browser-safe (bytes in).
 *
 * apache-arrow is an optional peer dependency (it would bring @types/node into every user's
 * project): it is loaded on the first Arrow file (arrow-columns.ts's loadArrow), and this
 * module's exports name none of its types, so the package's declarations compile without it.
 */
import { MultilossError } from '../errors.js';
import { arrowBatchColumns, arrowEmptyColumns, arrowError, loadArrow, planArrowColumns } from './arrow-columns.js';
import { tableFromColumnValues, type ColumnSelection, type ColumnValues } from './columns.js';
import type { Table } from './table.js';

/** Concatenates columns of consecutive batches. */
function concatColumns(parts: ColumnValues[][], rows: number): ColumnValues[] {
  if (parts.length === 1) return parts[0];
  return parts[0].map((first, j) => {
    if (first.type === 'numeric') {
      const values = new Float64Array(rows);
      const missing = new Uint8Array(rows);
      let at = 0;
      for (const p of parts) {
        const c = p[j] as typeof first;
        values.set(c.values, at);
        missing.set(c.missing, at);
        at += c.values.length;
      }
      return { ...first, values, missing };
    }
    return { ...first, values: parts.flatMap((p) => p[j].values as (string | boolean | null)[]) } as ColumnValues;
  });
}

/** Reads a whole Arrow IPC file or stream into a table; `source` names it in messages. */
export async function readArrow(bytes: Uint8Array, source: string, options: ColumnSelection = {}): Promise<Table> {
  if (bytes.byteLength === 0) throw new MultilossError('data', `${source}: the file is empty`);
  const arrow = await loadArrow(source);
  try {
    const reader = arrow.RecordBatchReader.from(bytes);
    reader.open();
    const plan = planArrowColumns(arrow, reader.schema, source, options);
    const parts: ColumnValues[][] = [];
    let rows = 0;
    for (const batch of reader) {
      parts.push(arrowBatchColumns(arrow, batch, plan, source, rows + 1));
      rows += batch.numRows;
    }
    if (parts.length === 0) parts.push(arrowEmptyColumns(plan, source));
    return tableFromColumnValues(concatColumns(parts, rows), { source, rows });
  } catch (e) {
    throw arrowError(e, source);
  }
}
