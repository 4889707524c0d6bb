/**
 * Reading a CSV / TSV file into a columnar table in Node: the file is read in
 * chunks and fed to csv-parse's Node parser (native Buffers), whose records go
 * straight into column builders — neither the file's text nor its records are
 * ever held whole. Same options, header rules, line numbers and messages as
 * `parseCsv` (the shared `CsvTableAssembler`); the browser reads the text with
 * `parseCsv`.
 */
import { Parser } from 'csv-parse';
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import {
  CsvTableAssembler,
  type CsvLineTracker,
  csvParseError,
  csvParseOptions,
  DEFAULT_MAX_COLUMNS,
  DEFAULT_MAX_RECORD_LENGTH,
  detectDelimiter,
  hasFirstRecordEnd,
  type CsvOptions,
} from '../data/csv.js';
import type { Table } from '../data/table.js';
import { MultilossError } from '../errors.js';
import { ioMessage, MAX_DATA_BYTES, statChecked } from './files.js';

const CHUNK_BYTES = 1 << 20;
const WHITESPACE_ONLY = /^\s*$/;

/**
 * The number of lines after the header (line feeds, less one for a final one): the data rows of
 * a plain CSV, counted in a first quick read so that the columns are allocated once at their size.
 * Only a size hint — quoted line breaks or blank lines make it too large, carriage-return-only
 * line ends too small, and the columns then grow or are trimmed as they would without it.
 */
function dataLines(fd: number, size: number, chunkBytes: number): number {
  const buf = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(1, size)));
  let feeds = 0;
  let last = -1;
  for (let at = 0; at < size; ) {
    const n = readSync(fd, buf, 0, buf.length, at);
    if (n === 0) break;
    for (let i = buf.indexOf(10, 0); i >= 0 && i < n; i = buf.indexOf(10, i + 1)) feeds++;
    last = buf[n - 1];
    at += n;
  }
  return Math.max(0, feeds - (last === 10 ? 1 : 0));
}

/**
 * Runs csv-parse's transform step on one chunk of bytes (null: the end) synchronously — the parser
 * hands each record to its `push` as it parses, with no stream or `await` in between — and turns a
 * parse error into the one-line error naming the file and line.
 */
export function feedCsvParser(parser: Parser, chunk: Buffer | null, path: string, tracker: CsvLineTracker, maxRecordLength: number): void {
  let failure: unknown;
  const done = (e?: Error | null): void => {
    failure = e ?? undefined;
  };
  if (chunk) parser._transform(chunk, 'utf8', done);
  else parser._flush(done);
  if (failure !== undefined) throw csvParseError(failure, path, tracker, maxRecordLength) ?? failure;
}

/** Reads `path` as CSV (delimiter from `options` or detected from the header line); `chunkBytes` per read (tests use tiny ones). */
export function readCsvFile(path: string, options: CsvOptions = {}, chunkBytes = CHUNK_BYTES): Table {
  const size = statChecked(path, 'data file');
  if (size > MAX_DATA_BYTES) throw new MultilossError('io', `data file ${path}: ${size} bytes is more than the ${MAX_DATA_BYTES} allowed`);
  const maxRecordLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new MultilossError('io', `data file ${path}: ${ioMessage(e)}`);
  }
  try {
    const read = (): Buffer | null => {
      const buf = Buffer.allocUnsafe(chunkBytes);
      let n: number;
      try {
        n = readSync(fd, buf, 0, chunkBytes, null);
      } catch (e) {
        throw new MultilossError('io', `data file ${path}: ${ioMessage(e)}`);
      }
      return n === 0 ? null : buf.subarray(0, n);
    };
    // The first chunks, up to the end of the header record, decide the delimiter (as parseCsv's whole text does).
    const decoder = new StringDecoder('utf8');
    const head: Buffer[] = [];
    let text = '';
    let content = false;
    const limit = 4 * maxRecordLength + 4;
    for (let chunk = read(); chunk !== null; chunk = hasFirstRecordEnd(text, limit) ? null : read()) {
      head.push(chunk);
      text += decoder.write(chunk);
      content ||= !WHITESPACE_ONLY.test(text);
    }
    const delimiter = options.delimiter ?? detectDelimiter(text.replace(/^\uFEFF/, ''));
    const assembler = new CsvTableAssembler(path, delimiter, options.maxColumns ?? DEFAULT_MAX_COLUMNS, dataLines(fd, size, chunkBytes));
    // Records are taken where the parser pushes them, with its running counts (`parser.info`):
    // an `on_record` hook would get a fresh copy of those counts for every record, about 280 bytes
    // a record that V8 ends up allocating in the old generation (it doubled the read's peak RSS).
    const parser = new Parser(csvParseOptions(delimiter, maxRecordLength));
    parser.push = (record: string[] | null): boolean => {
      if (record) assembler.onRecord(record, parser.info);
      return true;
    };
    // Each record goes into the columns as it is pushed (none is kept).
    const feed = (chunk: Buffer | null): void => feedCsvParser(parser, chunk, path, assembler.tracker, maxRecordLength);
    // One leading BOM goes, as parseCsv drops it before parsing (the parser's own `bom` option takes a second one, as there).
    const first = Buffer.concat(head);
    feed(first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf ? first.subarray(3) : first);
    for (let chunk = read(); chunk !== null; chunk = read()) {
      if (!content) content = !WHITESPACE_ONLY.test(decoder.write(chunk));
      feed(chunk);
    }
    feed(null);
    if (!content) throw new MultilossError('data', `${path}: the file is empty`);
    return assembler.finish();
  } finally {
    closeSync(fd);
  }
}
