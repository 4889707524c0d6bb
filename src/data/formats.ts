/**
 * The binary table formats (Parquet, Arrow IPC) beside the text ones: which one a file is, by its
 * extension or an explicit format. Light on purpose (no reader imported): the entries import it
 * statically, the readers themselves (./binary.ts) only where they are used.
 */

/** The text formats, read by data/csv.ts and data/json.ts. */
export type TableFormat = 'csv' | 'json' | 'jsonl';
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
