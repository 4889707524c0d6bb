/**
 * Reading a data table in a page or a Web Worker: from a `File` (an <input type="file">, a drop),
 * a `Blob` (a fetch response's blob()) or a string. The result and the one-line errors are those
 * of Node's readTableFile for the same bytes: the text is decoded as Node decodes a file (UTF-8,
 * a BOM kept for the parser to strip, invalid bytes replaced), then read by the same code.
 */
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
  /** csv, json or jsonl; default: from the name's extension (.csv, .tsv, .txt, .json, .jsonl, .ndjson). */
  format?: TableFormat;
  /** CSV options (delimiter, guards). */
  csv?: CsvOptions;
}

/** Blob larger than this is refused rather than read into memory (as Node's data files). */
export const MAX_BLOB_BYTES = 2 ** 31 - 1;

function isFile(source: Blob): source is File {
  return typeof (source as File).name === 'string';
}

/** Reads CSV / TSV / JSON / JSON lines from a File, a Blob or a string into a table (see the module comment). */
export async function readTableFrom(source: File | Blob | string, options: ReadTableOptions = {}): Promise<Table> {
  const name = options.name ?? (typeof source !== 'string' && isFile(source) && source.name !== '' ? source.name : undefined);
  if (name === undefined && options.format === undefined) {
    throw new MultilossError('usage', `readTableFrom: give options.name (a file name with its extension) or options.format (csv, json or jsonl) for a ${typeof source === 'string' ? 'string' : 'Blob'}`);
  }
  const where = name ?? `${options.format} data`;
  let text: string;
  if (typeof source === 'string') {
    text = source;
  } else {
    if (source.size > MAX_BLOB_BYTES) throw new MultilossError('io', `data file ${where}: ${source.size} bytes is more than the ${MAX_BLOB_BYTES} allowed`);
    try {
      text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await source.arrayBuffer());
    } catch (e) {
      throw new MultilossError('io', `data file ${where}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return readTableText(text, where, options.format, options.csv);
}
