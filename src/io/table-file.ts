import { readBinaryTable } from '../data/binary.js';
import { binaryFormatOf, type DataFormat } from '../data/formats.js';
import type { ColumnSelection } from '../data/columns.js';
import { readTableText, type TableFormat } from '../data/index.js';
import type { Table } from '../data/table.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { MultilossError } from '../errors.js';
import { readFileChecked, readTextChecked } from './files.js';

/**
 * Reads a CSV / TSV / JSON / JSON-lines file into a table; the format comes from the extension unless given.
 * Parquet and Arrow files are read by {@link readDataFile} (Parquet decoding is asynchronous).
 */
export function readTableFile(path: string, format?: TableFormat): Table {
  if (binaryFormatOf(path, format) !== undefined) {
    throw new MultilossError('usage', `${path}: a ${binaryFormatOf(path, format) === 'parquet' ? 'Parquet' : 'Arrow'} file is read by readDataFile (asynchronous), not readTableFile`);
  }
  return readTableText(readTextChecked(path, 'data file'), path, format);
}

/**
 * Reads a data file in any format — CSV, TSV, JSON, JSON lines, Parquet or Arrow IPC (file or
 * stream) — into a table; the format comes from the extension unless given. `columns` limits a
 * Parquet or Arrow read to those columns (each must exist).
 */
export async function readDataFile(path: string, format?: DataFormat, selection: ColumnSelection = {}): Promise<Table> {
  const binary = binaryFormatOf(path, format);
  if (binary === undefined) return readTableFile(path, format as TableFormat | undefined);
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
