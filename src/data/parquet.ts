/**
 * Parquet reading with hyparquet (pure JS; hyparquet-compressors adds the codecs): a file's
 * columns, typed by its schema, handed to {@link tableFromColumnValues}. Browser-safe: the caller
 * gives the bytes (an ArrayBuffer) or a random-access {@link AsyncBuffer} (Node reads files on disk
 * through one, whole or row group by row group, without holding the file's bytes).
 */
import { parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type FileMetaData, type SchemaElement, type SchemaTree } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { MultilossError } from '../errors.js';
import { jsonErrorDetail } from './json.js';
import { columnBuilder, type ColumnBuilder, type ValueKind } from './column-builder.js';
import { selectFields, tableFromColumnValues, unsupportedColumn, type ColumnSelection, type ColumnValues } from './columns.js';
import type { Table } from './table.js';

export type { AsyncBuffer } from 'hyparquet';

/** Codecs that can be read: hyparquet's own (none, Snappy) and those of hyparquet-compressors. */
export const PARQUET_CODECS: readonly string[] = ['UNCOMPRESSED', ...Object.keys(compressors)];

/** A Parquet column that can be read, with how its values become a table's. */
interface PlannedColumn {
  name: string;
  kind: ValueKind;
}

/** What a column of `element` (a top-level field) holds, or why it cannot be read. */
function kindOf(node: SchemaTree): ValueKind | { unsupported: string } {
  const e: SchemaElement = node.element;
  const logical = e.logical_type?.type;
  const converted = e.converted_type;
  if (node.children.length > 0) {
    const what = converted === 'LIST' || logical === 'LIST' ? 'a list' : converted === 'MAP' || logical === 'MAP' ? 'a map' : 'a struct';
    return { unsupported: `${what} (nested) column` };
  }
  if (e.repetition_type === 'REPEATED') return { unsupported: 'a repeated (list) column' };
  if (logical === 'DATE' || converted === 'DATE') return 'date';
  if (logical === 'TIMESTAMP' || converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS' || e.type === 'INT96') return 'timestamp';
  if (logical === 'TIME' || converted === 'TIME_MILLIS' || converted === 'TIME_MICROS') return { unsupported: 'a time-of-day column' };
  if (logical === 'INTERVAL' || converted === 'INTERVAL') return { unsupported: 'an interval column' };
  switch (e.type) {
    case 'BOOLEAN':
      return 'boolean';
    case 'INT32':
    case 'INT64':
    case 'FLOAT':
    case 'DOUBLE':
      return 'numeric';
    case 'FIXED_LEN_BYTE_ARRAY':
      if (logical === 'DECIMAL' || converted === 'DECIMAL' || logical === 'FLOAT16') return 'numeric';
      if (logical === 'UUID') return 'text';
      return { unsupported: 'a fixed-length binary column' };
    case 'BYTE_ARRAY':
      if (logical === 'DECIMAL' || converted === 'DECIMAL') return 'numeric';
      if (logical === undefined || logical === 'STRING' || logical === 'ENUM' || logical === 'JSON' || converted === 'UTF8' || converted === 'ENUM' || converted === 'JSON') return 'text';
      return { unsupported: `a ${logical} column` };
    default:
      return { unsupported: `a ${String(e.type ?? logical ?? 'group')} column` };
  }
}

/** The file's metadata, or a one-line error naming the file (not Parquet, truncated). */
export async function readParquetMetadata(file: AsyncBuffer, source: string): Promise<FileMetaData> {
  if (file.byteLength === 0) throw new MultilossError('data', `${source}: the file is empty`);
  try {
    return await parquetMetadataAsync(file);
  } catch (e) {
    throw new MultilossError('data', `${source}: not a readable Parquet file (truncated or damaged?): ${jsonErrorDetail(e)}`);
  }
}

/**
 * The columns to read, checked against the schema before any data is: each exists, has a
 * supported type, and every chunk of it uses a readable codec and lies inside the file.
 */
function planColumns(metadata: FileMetaData, byteLength: number, source: string, options: ColumnSelection): PlannedColumn[] {
  const wanted = selectFields(parquetSchema(metadata).children, (f) => f.element.name, source, options);
  const plan: PlannedColumn[] = [];
  for (const field of wanted) {
    const name = field.element.name;
    const kind = kindOf(field);
    if (typeof kind !== 'string') throw unsupportedColumn(source, name, kind.unsupported);
    plan.push({ name, kind });
  }
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      const name = meta?.path_in_schema[0];
      if (!meta || name === undefined || !plan.some((p) => p.name === name)) continue;
      if (!PARQUET_CODECS.includes(meta.codec)) {
        throw new MultilossError('data', `${source}: column "${name}" is compressed with ${meta.codec}, which cannot be read; readable codecs: ${PARQUET_CODECS.join(', ')}`);
      }
      const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
      if (start + Number(meta.total_compressed_size) > byteLength) {
        throw new MultilossError('data', `${source}: column "${name}" extends past the end of the file (${byteLength} bytes): the file is truncated`);
      }
    }
  }
  return plan;
}

/** An open Parquet file: its columns to read and its row groups, read one range at a time. */
export class ParquetSource {
  private constructor(
    private readonly file: AsyncBuffer,
    readonly source: string,
    private readonly metadata: FileMetaData,
    private readonly plan: PlannedColumn[],
  ) {}

  /** Reads the footer and checks the schema (see {@link planColumns}); no data is read yet. */
  static async open(file: AsyncBuffer, source: string, options: ColumnSelection = {}): Promise<ParquetSource> {
    const metadata = await readParquetMetadata(file, source);
    return new ParquetSource(file, source, metadata, planColumns(metadata, file.byteLength, source, options));
  }

  get columns(): string[] {
    return this.plan.map((p) => p.name);
  }

  get rowCount(): number {
    return Number(this.metadata.num_rows);
  }

  /** [start, end) rows of each row group, in order. */
  get rowGroups(): [number, number][] {
    const out: [number, number][] = [];
    let start = 0;
    for (const g of this.metadata.row_groups) {
      const end = start + Number(g.num_rows);
      out.push([start, end]);
      start = end;
    }
    return out;
  }

  /** The columns with no rows (a file without any). */
  emptyColumns(): ColumnValues[] {
    return this.plan.map((p) => columnBuilder(p.name, p.kind, 0, this.source, 1).done());
  }

  /**
   * Rows [start, end) as columns (the file's row i is the 1-based row i + 1 in messages). The
   * range is decoded one column chunk (a column of one row group) at a time, each appended to
   * its column and dropped before the next is read: hyparquet hands a nullable column's values
   * over as a JavaScript array (boxed numbers, BigInts; over 128 KB a row group, so in V8's
   * old generation until a full collection), several times the column's final size. Decoding
   * the whole range at once held every row group's arrays together (a 1M-row read grew the peak
   * RSS by about 290 MB for a 55 MB table; BENCHMARKS.md, "Columnar tables").
   */
  async readColumns(start: number, end: number): Promise<ColumnValues[]> {
    const builders = new Map<string, ColumnBuilder>(this.plan.map((p) => [p.name, columnBuilder(p.name, p.kind, end - start, this.source, start + 1)]));
    for (const [groupStart, groupEnd] of this.rowGroups) {
      const from = Math.max(start, groupStart);
      const to = Math.min(end, groupEnd);
      if (from >= to) continue;
      for (const [name, builder] of builders) await this.readInto(name, builder, start, from, to);
    }
    return this.plan.map((p) => (builders.get(p.name) as ColumnBuilder).done());
  }

  /** Decodes rows [from, to) (inside one row group) of column `name` into `builder`, whose row 0 is the file's row `offset`. */
  private async readInto(name: string, builder: ColumnBuilder, offset: number, from: number, to: number): Promise<void> {
    let failure: unknown;
    try {
      await parquetRead({
        file: this.file,
        metadata: this.metadata,
        columns: [name],
        rowStart: from,
        rowEnd: to,
        compressors,
        onChunk: ({ columnName, columnData, rowStart }) => {
          if (columnName !== name || failure) return;
          // A chunk may hold rows outside the range asked for: only those inside are kept.
          const first = Math.max(from, rowStart);
          const last = Math.min(to, rowStart + columnData.length);
          try {
            for (let r = first; r < last; r++) builder.set(r - offset, columnData[r - rowStart]);
          } catch (e) {
            failure = e;
          }
        },
      });
    } catch (e) {
      throw new MultilossError('data', `${this.source}: cannot read the Parquet data of column "${name}", rows ${from + 1}–${to}: ${jsonErrorDetail(e)}`);
    }
    if (failure) throw failure;
  }
}

/** Reads a whole Parquet file (its bytes, or a random-access buffer) into a table; `source` names it in messages. */
export async function readParquet(file: ArrayBuffer | AsyncBuffer, source: string, options: ColumnSelection = {}): Promise<Table> {
  const parquet = await ParquetSource.open(file, source, options);
  const rows = parquet.rowCount;
  return tableFromColumnValues(await parquet.readColumns(0, rows), { source, rows });
}
