/**
 * CSV reading: text in, {@link Table} out. Browser-safe (no Node built-ins):
 * uses the browser ESM build of csv-parse, which carries its own Buffer
 * implementation, so it needs no global `Buffer` (pages have none) and no
 * polyfill from the bundler. Node runs this same build, so a page and Node
 * parse alike (test/browser/train.test.ts compares them in Chromium).
 */
import { parse } from 'csv-parse/browser/esm/sync';
import { MultilossError } from '../errors.js';
import type { Cell, Table } from './table.js';
import { TableBuilder } from './table-build.js';

export type CsvDelimiter = ',' | ';' | '\t';

export interface CsvOptions {
  /** Field delimiter; auto-detected from the header line among `,` `;` tab when absent. */
  delimiter?: CsvDelimiter;
  /**
   * Guard against absurd input: the longest record accepted, in UTF-8 bytes
   * (a record is one row, including its delimiters). Default 1,000,000.
   */
  maxRecordLength?: number;
  /** Guard against absurd input: the most header columns accepted. Default 10,000. */
  maxColumns?: number;
}

export const DEFAULT_MAX_RECORD_LENGTH = 1_000_000;
export const DEFAULT_MAX_COLUMNS = 10_000;

const DELIMITERS: readonly CsvDelimiter[] = [',', ';', '\t'];

function describeDelimiter(d: string): string {
  return d === '\t' ? 'tab' : `"${d}"`;
}

/**
 * Picks the delimiter that occurs most often (outside double quotes) in the
 * header line; ties go to `,` then `;` then tab; none at all → `,`.
 */
export function detectDelimiter(text: string): CsvDelimiter {
  const counts = new Map<CsvDelimiter, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      quoted = !quoted; // an escaped quote ("") toggles twice: no net change
    } else if (!quoted && (ch === '\n' || ch === '\r')) {
      break;
    } else if (!quoted && counts.has(ch as CsvDelimiter)) {
      counts.set(ch as CsvDelimiter, (counts.get(ch as CsvDelimiter) ?? 0) + 1);
    }
  }
  let best: CsvDelimiter = ',';
  let bestCount = 0;
  for (const d of DELIMITERS) {
    const c = counts.get(d) ?? 0;
    if (c > bestCount) {
      best = d;
      bestCount = c;
    }
  }
  return best;
}

function countCrlf(fields: string[]): number {
  let n = 0;
  for (const f of fields) {
    let at = f.indexOf('\r\n');
    while (at !== -1) {
      n++;
      at = f.indexOf('\r\n', at + 2);
    }
  }
  return n;
}

function preview(value: string): string {
  const oneLine = value.replace(/\r\n|\r|\n/g, '\\n');
  return oneLine.length > 40 ? `${oneLine.slice(0, 40)}…` : oneLine;
}

/**
 * The csv-parse options of both readers (this whole-text one and the
 * streaming one in `io/stream-table.ts`), so they split records identically.
 */
export function csvParseOptions(delimiter: CsvDelimiter, maxRecordLength: number) {
  return {
    delimiter,
    quote: '"',
    escape: '"',
    bom: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    max_record_size: maxRecordLength,
  };
}

/**
 * Turns csv-parse's record info into the 1-based line on which each record
 * starts. csv-parse counts a CRLF inside a quoted field as two lines; this
 * corrects for that with the CRLFs found in the parsed fields (kept verbatim).
 */
export class CsvLineTracker {
  private crlfOvercount = 0;
  private lastEnd = 0;
  private lastEmpty = 0;

  /** Start line of the record after the last one seen, given csv-parse's empty-line count. */
  startOf(emptyLines?: number): number {
    return this.lastEnd + 1 + ((emptyLines ?? this.lastEmpty) - this.lastEmpty);
  }

  /** Records a parsed record; returns its start line, or null for a whitespace-only line (skipped). */
  record(record: string[], info: { lines: number; empty_lines: number }): number | null {
    const start = this.startOf(info.empty_lines);
    this.crlfOvercount += countCrlf(record);
    this.lastEnd = info.lines - this.crlfOvercount;
    this.lastEmpty = info.empty_lines;
    return record.length === 1 && record[0].trim() === '' ? null : start;
  }
}

/**
 * The MultilossError for an error csv-parse threw (matched by its `CSV_` code,
 * so errors of both csv-parse builds qualify); undefined for anything else.
 */
export function csvParseError(e: unknown, source: string, tracker: CsvLineTracker, maxRecordLength: number): MultilossError | undefined {
  const err = e as { code?: unknown; message?: unknown; empty_lines?: number } | null;
  if (!err || typeof err.code !== 'string' || !err.code.startsWith('CSV_')) return undefined;
  const line = tracker.startOf(err.empty_lines);
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new MultilossError('data', `${source}: line ${line} has a quoted field that is never closed (unterminated quote)`);
    case 'CSV_INVALID_CLOSING_QUOTE':
      return new MultilossError('data', `${source}: line ${line} has text right after a closing quote (a quote inside a quoted field must be doubled as "")`);
    case 'CSV_MAX_RECORD_SIZE':
      return new MultilossError('data', `${source}: line ${line} is longer than the limit of ${maxRecordLength} bytes (maxRecordLength)`);
    default:
      return new MultilossError('data', `${source}: line ${line}: ${String(err.message)}`);
  }
}

/** Validates the header record (trimmed names, non-empty, unique, at most `maxColumns`); returns the column names. */
export function csvHeader(record: string[], line: number, source: string, delimiter: CsvDelimiter, maxColumns: number): string[] {
  const header = record.map((h) => h.trim());
  if (header.length > maxColumns) {
    throw new MultilossError('data', `${source}: line ${line}: the header has ${header.length} columns, more than the limit of ${maxColumns} (maxColumns)`);
  }
  const seen = new Map<string, number>();
  header.forEach((name, i) => {
    if (name === '') {
      throw new MultilossError('data', `${source}: line ${line}: header column ${i + 1} has an empty name (delimiter used: ${describeDelimiter(delimiter)})`);
    }
    const prev = seen.get(name);
    if (prev !== undefined) {
      throw new MultilossError(
        'data',
        `${source}: line ${line}: duplicate header name "${name}" (columns ${prev + 1} and ${i + 1}, compared after trimming spaces)`,
      );
    }
    seen.set(name, i);
  });
  return header;
}

/** One data record as a row of cells (empty → null); a record whose length differs from the header's is an error naming the line. */
export function csvRow(record: string[], columns: number, line: number, source: string, delimiter: CsvDelimiter): Cell[] {
  if (record.length !== columns) {
    throw new MultilossError(
      'data',
      `${source}: line ${line} has ${record.length} field${record.length === 1 ? '' : 's'}, the header has ${columns} (delimiter ${describeDelimiter(delimiter)}; row starts "${preview(record.join(delimiter))}")`,
    );
  }
  return record.map((v) => (v === '' ? null : v));
}

/**
 * Parses CSV text into a Table of strings (typing happens later, in `infer.ts`).
 *
 * - The first record is the header (required); header names are trimmed and
 *   must be non-empty and unique.
 * - RFC 4180 quoting: quoted fields may hold delimiters, newlines and `""`
 *   (an escaped quote). A stray quote inside an unquoted field is kept literally.
 * - A leading BOM is stripped; CRLF, LF, CR and any mix of them end records.
 * - Blank lines (empty or whitespace-only) are skipped.
 * - Empty cells become `null`; every other cell is kept as the exact string.
 * - `lines[i]` is the 1-based line on which row i starts.
 * - A header-only file gives a Table with zero rows.
 *
 * Throws MultilossError('data') whose one-line message starts with `source`.
 */
export function parseCsv(text: string, source: string, options: CsvOptions = {}): Table {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') {
    throw new MultilossError('data', `${source}: the file is empty (a header row is required)`);
  }
  const maxRecordLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;
  const maxColumns = options.maxColumns ?? DEFAULT_MAX_COLUMNS;
  const delimiter = options.delimiter ?? detectDelimiter(body);

  const assembler = new CsvTableAssembler(source, delimiter, maxColumns);
  try {
    parse(body, { ...csvParseOptions(delimiter, maxRecordLength), on_record: assembler.onRecord });
  } catch (e) {
    throw csvParseError(e, source, assembler.tracker, maxRecordLength) ?? e;
  }
  return assembler.finish();
}

/**
 * Puts csv-parse's records straight into column builders: the first record is
 * the header, every later one a row. A bad record (wrong field count, bad
 * header) is reported by {@link finish}, after the whole text parsed, so that a
 * parse error anywhere still wins (as it did when records were collected
 * first). Used by `parseCsv` and by the Node file reader (`io/csv-file.ts`).
 */
export class CsvTableAssembler {
  readonly tracker = new CsvLineTracker();
  private builder: TableBuilder | undefined;
  private deferred: unknown;

  constructor(
    private readonly source: string,
    private readonly delimiter: CsvDelimiter,
    private readonly maxColumns: number,
    /** About how many data rows the text holds (its line count), if known: the columns are sized for them. */
    private readonly expectedRows = 0,
  ) {}

  /** csv-parse's `on_record`: takes the record, returns null (csv-parse keeps nothing). */
  readonly onRecord = (record: string[], info: { lines: number; empty_lines: number }): null => {
    const start = this.tracker.record(record, info);
    if (start === null || this.deferred !== undefined) return null;
    try {
      if (!this.builder) this.builder = new TableBuilder(csvHeader(record, start, this.source, this.delimiter, this.maxColumns), true, this.expectedRows);
      else this.builder.push(csvRow(record, this.builder.columns.length, start, this.source, this.delimiter), start);
    } catch (e) {
      this.deferred = e;
    }
    return null;
  };

  /** The table, or the first bad record's error; a text without a record is "empty". */
  finish(): Table {
    if (this.deferred !== undefined) throw this.deferred;
    if (!this.builder) throw new MultilossError('data', `${this.source}: the file is empty (a header row is required)`);
    return this.builder.finish(this.source);
  }
}

/** Whether `text` reaches the end of the first record (a newline outside double quotes), or is longer than `limit`: enough for {@link detectDelimiter}. */
export function hasFirstRecordEnd(text: string, limit: number): boolean {
  if (text.length > limit) return true;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) return true;
  }
  return false;
}
