/**
 * Data loading and preparation. Everything here is browser-safe: callers read
 * files (or fetch them) and pass the text.
 */
import { MultilossError } from '../errors.js';
import { parseCsv, type CsvOptions } from './csv.js';
import { parseJson } from './json.js';
import type { Table } from './table.js';

export type { Cell, ColumnType, RowTable, Table } from './table.js';
export { tableFromColumns, tableFromRows, tableRows, asTable, TableBuilder } from './table-build.js';
export type { ColumnInput, NumericValues } from './table-build.js';
export { NumberColumn, DictionaryColumn, ColumnBuilder, columnOf, type Column } from './column.js';
export { parseCsv, detectDelimiter, DEFAULT_MAX_COLUMNS, DEFAULT_MAX_RECORD_LENGTH } from './csv.js';
export type { CsvDelimiter, CsvOptions } from './csv.js';
export { parseJson, rowsToTable, MULTILABEL_SEPARATOR } from './json.js';
export { normalizeMissing, DEFAULT_MISSING } from './missing.js';
export { parseNumber, parseBoolean, inferColumnType, inferColumnTypes, columnValues, tableColumn } from './infer.js';
export { FeaturePreprocessor, MISSING_SUFFIX, UNKNOWN_CATEGORY } from './preprocess.js';
export type {
  FeatureSpec,
  PreprocessorJSON,
  FeatureJSON,
  NumericFeatureJSON,
  CategoricalFeatureJSON,
  BooleanFeatureJSON,
} from './preprocess.js';
export { splitTrainValidation, selectRows, splitHash, ValidationSelector, validationShare, countStrata } from './split.js';
export type { TrainValidationSplit, Stratum, SplitRule } from './split.js';

export type { TableFormat } from './formats.js';
import type { TableFormat } from './formats.js';

/**
 * Parses `text` as `format`, or by the extension of `source` when no format
 * is given: .csv/.txt → CSV (delimiter auto-detected), .tsv → CSV with tab,
 * .json → JSON (array, or JSON lines when the text starts with "{"),
 * .jsonl/.ndjson → JSON lines. Any other extension is an error asking for a format.
 * `csvOptions` applies to CSV only.
 */
export function readTable(text: string, source: string, format?: TableFormat, csvOptions: CsvOptions = {}): Table {
  const ext = /\.([A-Za-z0-9]+)$/.exec(source)?.[1]?.toLowerCase();
  if (format === 'csv') return parseCsv(text, source, csvOptions);
  if (format === 'json') return parseJson(text, source);
  if (format === 'jsonl') return parseJson(text, source, 'lines');
  switch (ext) {
    case 'csv':
    case 'txt':
      return parseCsv(text, source, csvOptions);
    case 'tsv':
      return parseCsv(text, source, { delimiter: '\t', ...csvOptions });
    case 'json':
      return parseJson(text, source);
    case 'jsonl':
    case 'ndjson':
      return parseJson(text, source, 'lines');
    default:
      throw new MultilossError(
        'data',
        `${source}: cannot tell the data format from the file name${ext ? ` (extension ".${ext}")` : ''}; use .csv, .tsv, .txt, .json, .jsonl or .ndjson, or give the format (csv, json, jsonl)`,
      );
  }
}

/**
 * Reads the whole text of a data file (as {@link readTable}) after refusing an empty one: what
 * the Node reader (`readTableFile`) and the browser reader (`readTableFrom`) share, so both give
 * the same table and the same one-line errors for the same bytes.
 */
export function readTableText(text: string, source: string, format?: TableFormat, csvOptions: CsvOptions = {}): Table {
  if (text.trim() === '') throw new MultilossError('data', `${source}: the file is empty`);
  return readTable(text, source, format, csvOptions);
}

export { binaryFormatOf, type BinaryFormat, type DataFormat } from './formats.js';
export { tableFromColumnValues, type ColumnValues, type NumericColumnValues, type CategoricalColumnValues, type BooleanColumnValues, type ColumnSelection, type ColumnsSource } from './columns.js';
