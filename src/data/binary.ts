/**
 * Reading the bytes of a binary table format (Parquet, Arrow IPC). Browser-safe: Node's
 * readDataFile and the browser's readTableFrom read the same bytes with this same code; the
 * browser entry imports this module dynamically, so a bundler that splits code loads the two
 * readers (hyparquet with its codecs, apache-arrow) only when a page reads such a file.
 */
import { readArrow } from './arrow.js';
import type { BinaryFormat } from './formats.js';
import { readParquet } from './parquet.js';
import type { ColumnSelection } from './columns.js';
import type { Table } from './table.js';

/** An ArrayBuffer holding exactly `bytes`: the view's own buffer when it is the whole of it, else a copy (a Node Buffer may be a view into a shared pool). */
function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return new Uint8Array(bytes).buffer;
}

/** Reads the bytes of a Parquet or Arrow IPC file into a table; `source` names it in messages. */
export async function readBinaryTable(bytes: Uint8Array, source: string, format: BinaryFormat, options: ColumnSelection = {}): Promise<Table> {
  return format === 'parquet' ? readParquet(exactBuffer(bytes), source, options) : readArrow(bytes, source, options);
}
