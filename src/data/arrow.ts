/**
 * Arrow IPC reading with apache-arrow: the file format (.arrow, .feather v2) and the stream
 * format, told apart by the library from the bytes. Each record batch's columns, typed by the
 * schema, go to {@link tableFromColumns}. Browser-safe (bytes in).
 */
import { DataType, RecordBatchReader, type Field, type RecordBatch, type Schema } from 'apache-arrow';
import { MultilossError } from '../errors.js';
import { jsonErrorDetail } from './json.js';
import { columnBuilder, type ValueKind } from './column-builder.js';
import { selectFields, tableFromColumns, unsupportedColumn, type ColumnSelection, type ColumnValues } from './columns.js';
import type { Table } from './table.js';

/** What a column of `type` holds, or why it cannot be read. */
function kindOf(type: DataType): ValueKind | { unsupported: string } {
  if (DataType.isDictionary(type)) return kindOf(type.dictionary);
  if (DataType.isInt(type) || DataType.isFloat(type) || DataType.isDecimal(type)) return 'numeric';
  if (DataType.isBool(type)) return 'boolean';
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isNull(type)) return 'text';
  if (DataType.isDate(type)) return 'date';
  if (DataType.isTimestamp(type)) return 'timestamp';
  if (DataType.isList(type) || DataType.isFixedSizeList(type)) return { unsupported: 'a list (nested) column' };
  if (DataType.isStruct(type) || DataType.isMap(type) || DataType.isUnion(type)) return { unsupported: `a ${String(type).replace(/<.*/, '').toLowerCase()} (nested) column` };
  return { unsupported: `a ${String(type)} column` };
}

/** A column's value as a number, string, boolean, Date, bigint or null: decimals are scaled to numbers. */
function valueOf(field: Field, raw: unknown): unknown {
  if (raw !== null && raw !== undefined && DataType.isDecimal(field.type)) {
    // A decimal reads as its unscaled integer (a BigNum); its scale places the point.
    return Number(String(raw)) / 10 ** field.type.scale;
  }
  return raw;
}

/** The fields of an Arrow schema to read, with what each holds. */
export type ArrowPlan = { field: Field; kind: ValueKind }[];

/** The fields to read, checked against the schema: each exists and has a supported type. */
export function planArrowColumns(schema: Schema, source: string, options: ColumnSelection): ArrowPlan {
  return selectFields(schema.fields, (f) => f.name, source, options).map((field) => {
    const kind = kindOf(field.type);
    if (typeof kind !== 'string') throw unsupportedColumn(source, field.name, kind.unsupported);
    return { field, kind };
  });
}

/** One record batch's columns; `firstRow` is the 1-based row of the file its first row is. */
export function arrowBatchColumns(batch: RecordBatch, plan: ArrowPlan, source: string, firstRow: number): ColumnValues[] {
  return plan.map(({ field, kind }) => {
    const vector = batch.getChild(field.name);
    const builder = columnBuilder(field.name, kind, batch.numRows, source, firstRow);
    if (vector) for (let i = 0; i < batch.numRows; i++) builder.set(i, valueOf(field, vector.get(i)));
    return builder.done();
  });
}

/** The planned columns with no rows (a file or stream without any batch). */
export function arrowEmptyColumns(plan: ArrowPlan, source: string): ColumnValues[] {
  return plan.map(({ field, kind }) => columnBuilder(field.name, kind, 0, source, 1).done());
}

/** The MultilossError for what apache-arrow threw on bad bytes. */
export function arrowError(e: unknown, source: string): MultilossError {
  if (e instanceof MultilossError) return e;
  return new MultilossError('data', `${source}: not a readable Arrow IPC file or stream (truncated or damaged?): ${jsonErrorDetail(e)}`);
}

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
export function readArrow(bytes: Uint8Array, source: string, options: ColumnSelection = {}): Table {
  if (bytes.byteLength === 0) throw new MultilossError('data', `${source}: the file is empty`);
  try {
    const reader = RecordBatchReader.from(bytes);
    reader.open();
    const plan = planArrowColumns(reader.schema, source, options);
    const parts: ColumnValues[][] = [];
    let rows = 0;
    for (const batch of reader) {
      parts.push(arrowBatchColumns(batch, plan, source, rows + 1));
      rows += batch.numRows;
    }
    if (parts.length === 0) parts.push(arrowEmptyColumns(plan, source));
    return tableFromColumns(concatColumns(parts, rows), { source, rows });
  } catch (e) {
    throw arrowError(e, source);
  }
}
