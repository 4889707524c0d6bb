/**
 * The binary table formats (Parquet, Arrow IPC) beside the text ones: which a file is, by its
 * extension or an explicit format, and reading its bytes. Browser-safe: Node's readDataFile and
 * the browser's readTableFrom read the same bytes with this same code.
 */
import { readArrow } from './arrow.js';
import type { TableFormat } from './index.js';
import { readParquet } from './parquet.js';
import type { ColumnSelection } from './columns.js';
import type { Table } from './table.js';

export type BinaryFormat = 'parquet' | 'arrow';
/** Every data format: the text ones (csv, json, jsonl) and the binary ones (parquet, arrow). */
export type DataFormat = TableFormat | BinaryFormat;

/**
 * The binary format of a file: `format` when given, otherwise by the extension of `source`
 * (.parquet, .pq → parquet; .arrow, .feather, .ipc, .arrows → arrow); undefined for a text format.
 */
export function binaryFormatOf(source: string, format?: DataFormat): BinaryFormat | undefined {
  if (format !== undefined) return format === 'parquet' || format === 'arrow' ? format : undefined;
  const ext = /\.([A-Za-z0-9]+)$/.exec(source)?.[1]?.toLowerCase();
  if (ext === 'parquet' || ext === 'pq') return 'parquet';
  if (ext === 'arrow' || ext === 'feather' || ext === 'ipc' || ext === 'arrows') return 'arrow';
  return undefined;
}

/** An ArrayBuffer holding exactly `bytes`: the view's own buffer when it is the whole of it, else a copy (a Node Buffer may be a view into a shared pool). */
function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return new Uint8Array(bytes).buffer;
}

/** Reads the bytes of a Parquet or Arrow IPC file into a table; `source` names it in messages. */
export async function readBinaryTable(bytes: Uint8Array, source: string, format: BinaryFormat, options: ColumnSelection = {}): Promise<Table> {
  return format === 'parquet' ? readParquet(exactBuffer(bytes), source, options) : readArrow(bytes, source, options);
}
