import { displayUrl, isDataUrl } from './data-url.js';
import { readBinaryTable } from '../data/binary.js';
import { binaryFormatOf, type DataFormat } from '../data/formats.js';
import type { ColumnSelection } from '../data/columns.js';
import { readTableText, type TableFormat } from '../data/index.js';
import type { Table } from '../data/table.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { MultiOutputModel } from '../model/multi-output.js';
import { MultilossError } from '../errors.js';
import { readCsvFile } from './csv-file.js';
import { readFileChecked, readTextChecked } from './files.js';
import { readParquetFile } from './parquet-file.js';

/** Whether `path` is read as CSV (the rules of `readTable`): a tab-separated one gives its delimiter. */
function csvOf(path: string, format?: TableFormat): { delimiter?: '\t' } | undefined {
  if (format !== undefined) return format === 'csv' ? {} : undefined;
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return ext === 'csv' || ext === 'txt' ? {} : ext === 'tsv' ? { delimiter: '\t' } : undefined;
}

/**
 * Reads a CSV / TSV / JSON / JSON-lines file into a table; the format comes from the extension
 * unless given. CSV is read in chunks straight into columns (`csv-file.ts`); JSON is parsed whole.
 * Parquet and Arrow files are read by {@link readDataFile} (Parquet decoding is asynchronous).
 */
export function readTableFile(path: string, format?: TableFormat): Table {
  if (binaryFormatOf(path, format) !== undefined) {
    throw new MultilossError('usage', `${path}: a ${binaryFormatOf(path, format) === 'parquet' ? 'Parquet' : 'Arrow'} file is read by readDataFile (asynchronous), not readTableFile`);
  }
  const csv = csvOf(path, format);
  if (csv) return readCsvFile(path, csv);
  return readTableText(readTextChecked(path, 'data file'), path, format);
}

/**
 * Reads a data file in any format — CSV, TSV, JSON, JSON lines, Parquet or Arrow IPC (file or
 * stream) — into a table; the format comes from the extension unless given. `columns` limits a
 * Parquet or Arrow read to those columns (each must exist).
 */
export async function readDataFile(path: string, format?: DataFormat, selection: ColumnSelection = {}): Promise<Table> {
  // Only compare downloads data (into its cache, see data-url.ts); the URL is never printed with its credentials.
  if (isDataUrl(path)) throw new MultilossError('usage', `data file ${displayUrl(path)}: a URL is read by compare only; download the file for this command`);
  const binary = binaryFormatOf(path, format);
  if (binary === undefined) return readTableFile(path, format as TableFormat | undefined);
  // Parquet is read by random access, column chunk by column chunk, without the file's bytes in memory.
  if (binary === 'parquet') return readParquetFile(path, selection);
  return readBinaryTable(readFileChecked(path, 'data file'), path, binary, selection);
}

/**
 * The columns a configuration uses when it lists its features (the features, the targets'
 * columns and their sample-weight columns): what a Parquet or Arrow read needs, so that other
 * columns, of whatever type, are never read. Undefined when every column is a feature.
 */
export function configuredColumns(config: ResolvedConfig): string[] | undefined {
  if (!config.features) return undefined;
  return [...new Set([...config.features.map((f) => f.name), ...config.heads.flatMap((h) => (h.sampleWeight ? [h.column, h.sampleWeight] : [h.column]))])];
}

/**
 * The columns a trained model reads from a data file: its features, and with `targets` its
 * heads' target and sample-weight columns (evaluate), then `extra` (predict's --keep). A
 * Parquet or Arrow read of these leaves the file's other columns, of whatever type, unread.
 */
export function modelColumns(model: MultiOutputModel, targets: boolean, extra: readonly string[] = []): string[] {
  const heads = targets ? model.heads.flatMap((h) => (h.spec.sampleWeight ? [h.spec.column, h.spec.sampleWeight] : [h.spec.column])) : [];
  return [...new Set([...model.info().features.map((f) => f.name), ...heads, ...extra])];
}
