import { readTableText, type TableFormat } from '../data/index.js';
import type { Table } from '../data/table.js';
import { readCsvFile } from './csv-file.js';
import { readTextChecked } from './files.js';

/** Whether `path` is read as CSV (the rules of `readTable`): a tab-separated one gives its delimiter. */
function csvOf(path: string, format?: TableFormat): { delimiter?: '\t' } | undefined {
  if (format !== undefined) return format === 'csv' ? {} : undefined;
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return ext === 'csv' || ext === 'txt' ? {} : ext === 'tsv' ? { delimiter: '\t' } : undefined;
}

/**
 * Reads a CSV / TSV / JSON / JSON-lines file into a table; the format comes from the extension
 * unless given. CSV is read in chunks straight into columns (`csv-file.ts`); JSON is parsed whole.
 */
export function readTableFile(path: string, format?: TableFormat): Table {
  const csv = csvOf(path, format);
  if (csv) return readCsvFile(path, csv);
  return readTableText(readTextChecked(path, 'data file'), path, format);
}
