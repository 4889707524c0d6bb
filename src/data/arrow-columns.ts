/**
 * Arrow IPC columns: what each field of a schema holds and a record batch's columns, for
 * arrow.ts (whole files and streams) and io/stream-binary.ts (batch by batch). apache-arrow is an
 * optional peer dependency: this module only names its types; the library itself comes from
 * loadArrow, which every caller awaits first. Browser-safe.
 */
import type { DataType, Field, RecordBatch, Schema } from 'apache-arrow';
import { MultilossError } from '../errors.js';
import { jsonErrorDetail } from './json.js';
import { columnBuilder, type ValueKind } from './column-builder.js';
import { selectFields, unsupportedColumn, type ColumnSelection, type ColumnValues } from './columns.js';
import type * as Arrow from 'apache-arrow';

/** The apache-arrow module, as loadArrow gives it. */
export type ArrowModule = typeof Arrow;

let arrowModule: Promise<ArrowModule> | undefined;

/** The apache-arrow module, loaded once; a one-line error naming the install command when it is absent. */
export async function loadArrow(source: string): Promise<ArrowModule> {
  arrowModule ??= import('apache-arrow');
  try {
    return await arrowModule;
  } catch (e) {
    arrowModule = undefined;
    const code = (e as { code?: unknown }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((e as Error).message).includes("'apache-arrow'")) {
      throw new MultilossError('data', `${source}: reading Arrow IPC files needs the optional package apache-arrow, which is not installed: run npm install apache-arrow`);
    }
    throw e;
  }
}

/** What a column of `type` holds, or why it cannot be read. */
function kindOf(arrow: ArrowModule, type: DataType): ValueKind | { unsupported: string } {
  const is = arrow.DataType;
  if (is.isDictionary(type)) return kindOf(arrow, type.dictionary);
  if (is.isInt(type) || is.isFloat(type) || is.isDecimal(type)) return 'numeric';
  if (is.isBool(type)) return 'boolean';
  if (is.isUtf8(type) || is.isLargeUtf8(type) || is.isNull(type)) return 'text';
  if (is.isDate(type)) return 'date';
  if (is.isTimestamp(type)) return 'timestamp';
  if (is.isList(type) || is.isFixedSizeList(type)) return { unsupported: 'a list (nested) column' };
  if (is.isStruct(type) || is.isMap(type) || is.isUnion(type)) return { unsupported: `a ${String(type).replace(/<.*/, '').toLowerCase()} (nested) column` };
  return { unsupported: `a ${String(type)} column` };
}

/** A column's value as a number, string, boolean, Date, bigint or null: decimals are scaled to numbers. */
function valueOf(arrow: ArrowModule, field: Field, raw: unknown): unknown {
  if (raw !== null && raw !== undefined && arrow.DataType.isDecimal(field.type)) {
    // A decimal reads as its unscaled integer (a BigNum); its scale places the point.
    return Number(String(raw)) / 10 ** field.type.scale;
  }
  return raw;
}

/** The fields of an Arrow schema to read, with what each holds. */
export type ArrowPlan = { field: Field; kind: ValueKind }[];

/** The fields to read, checked against the schema: each exists and has a supported type. */
export function planArrowColumns(arrow: ArrowModule, schema: Schema, source: string, options: ColumnSelection): ArrowPlan {
  return selectFields(schema.fields, (f) => f.name, source, options).map((field) => {
    const kind = kindOf(arrow, field.type);
    if (typeof kind !== 'string') throw unsupportedColumn(source, field.name, kind.unsupported);
    return { field, kind };
  });
}

/** One record batch's columns; `firstRow` is the 1-based row of the file its first row is. */
export function arrowBatchColumns(arrow: ArrowModule, batch: RecordBatch, plan: ArrowPlan, source: string, firstRow: number): ColumnValues[] {
  return plan.map(({ field, kind }) => {
    const vector = batch.getChild(field.name);
    const builder = columnBuilder(field.name, kind, batch.numRows, source, firstRow);
    if (vector) for (let i = 0; i < batch.numRows; i++) builder.set(i, valueOf(arrow, field, vector.get(i)));
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
