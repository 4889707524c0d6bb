import { readTable, type TableFormat } from '../data/index.js';
import type { Table } from '../data/table.js';
import { MultilossError } from '../errors.js';
import { readTextChecked } from './files.js';

/** Reads a CSV / TSV / JSON / JSON-lines file into a table; the format comes from the extension unless given. */
export function readTableFile(path: string, format?: TableFormat): Table {
  const text = readTextChecked(path, 'data file');
  if (text.trim() === '') throw new MultilossError('data', `${path}: the file is empty`);
  return readTable(text, path, format);
}
