/**
 * Reading a data table in a page or a Web Worker: from a `File` (an <input type="file">, a drop),
 * a `Blob` (a fetch response's blob()), an ArrayBuffer / Uint8Array or a string. The result and
 * the one-line errors are those of Node's readDataFile for the same bytes: text is decoded as Node
 * decodes a file (UTF-8, a BOM kept for the parser to strip, invalid bytes replaced), then read by
 * the same code; Parquet and Arrow IPC bytes go to the same column readers.
 */
import { binaryFormatOf, type DataFormat } from '../data/formats.js';
import { readTableText, type TableFormat } from '../data/index.js';
import type { CsvOptions } from '../data/csv.js';
import type { Table } from '../data/table.js';
import { MultilossError } from '../errors.js';

export interface ReadTableOptions {
  /**
   * The name used in error messages and, without `format`, to pick the format by its extension.
   * Default: the File's name; required for a Blob or a string unless `format` is given.
   */
  name?: string;
  /**
   * csv, json, jsonl, parquet or arrow; default: from the name's extension (.csv, .tsv, .txt,
   * .json, .jsonl, .ndjson, .parquet, .pq, .arrow, .feather, .ipc, .arrows).
   */
  format?: DataFormat;
  /** Parquet and Arrow: read only these columns (each must exist). */
  columns?: readonly string[];
  /** CSV options (delimiter, guards). */
  csv?: CsvOptions;
}

/** Blob larger than this is refused rather than read into memory (as Node's data files). */
export const MAX_BLOB_BYTES = 2 ** 31 - 1;

function isFile(source: Blob): source is File {
  return typeof (source as File).name === 'string';
}

function sourceKind(source: File | Blob | ArrayBuffer | Uint8Array | string): string {
  return typeof source === 'string' ? 'string' : source instanceof ArrayBuffer ? 'ArrayBuffer' : source instanceof Uint8Array ? 'Uint8Array' : 'Blob';
}

/** The bytes of a Blob, an ArrayBuffer or a Uint8Array (a Blob larger than MAX_BLOB_BYTES is refused). */
async function bytesOf(source: Blob | ArrayBuffer | Uint8Array, where: string): Promise<Uint8Array> {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (source instanceof Uint8Array) return source;
  if (source.size > MAX_BLOB_BYTES) throw new MultilossError('io', `data file ${where}: ${source.size} bytes is more than the ${MAX_BLOB_BYTES} allowed`);
  try {
    return new Uint8Array(await source.arrayBuffer());
  } catch (e) {
    throw new MultilossError('io', `data file ${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Reads CSV / TSV / JSON / JSON lines / Parquet / Arrow IPC from a File, a Blob, bytes or a string into a table (see the module comment). */
export async function readTableFrom(source: File | Blob | ArrayBuffer | Uint8Array | string, options: ReadTableOptions = {}): Promise<Table> {
  const name = options.name ?? (typeof source === 'object' && !(source instanceof ArrayBuffer) && !(source instanceof Uint8Array) && isFile(source) && source.name !== '' ? source.name : undefined);
  if (name === undefined && options.format === undefined) {
    throw new MultilossError('usage', `readTableFrom: give options.name (a file name with its extension) or options.format (csv, json, jsonl, parquet or arrow) for a ${sourceKind(source)}`);
  }
  const where = name ?? `${options.format} data`;
  const binary = binaryFormatOf(where, options.format);
  if (binary !== undefined) {
    if (typeof source === 'string') throw new MultilossError('usage', `readTableFrom: ${where} is ${binary === 'parquet' ? 'Parquet' : 'Arrow IPC'}, binary data: give a File, Blob, ArrayBuffer or Uint8Array, not a string`);
    // Imported on demand: a code-splitting bundler keeps the Parquet and Arrow readers out of the main chunk.
    const { readBinaryTable } = await import('../data/binary.js');
    return readBinaryTable(await bytesOf(source, where), where, binary, { columns: options.columns });
  }
  const text = typeof source === 'string' ? source : new TextDecoder('utf-8', { ignoreBOM: true }).decode(await bytesOf(source, where));
  return readTableText(text, where, options.format as TableFormat | undefined, options.csv);
}
