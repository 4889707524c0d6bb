import { readTableText, type TableFormat } from '../data/index.js';
import type { Table } from '../data/table.js';
import { readTextChecked } from './files.js';

/** Reads a CSV / TSV / JSON / JSON-lines file into a table; the format comes from the extension unless given. */
export function readTableFile(path: string, format?: TableFormat): Table {
  return readTableText(readTextChecked(path, 'data file'), path, format);
}
