/**
 * Incremental table reading: a data file read in batches of rows, so that
 * memory stays flat however long the file is (`multiloss predict` streams
 * through it). CSV / TSV go through csv-parse's streaming parser with the very
 * options, header rules, line numbers and messages of `data/csv.ts`; JSON lines
 * are split line by line with the rules of `data/json.ts`. A JSON *array* (or
 * a file whose format is not known from its name) is read whole, as by
 * `readTableFile`, and then handed out in batches.
 */
import { Parser } from 'csv-parse';
import { createReadStream, type ReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import {
  CsvLineTracker,
  csvHeader,
  csvParseOptions,
  csvRow,
  DEFAULT_MAX_COLUMNS,
  DEFAULT_MAX_RECORD_LENGTH,
  detectDelimiter,
  hasFirstRecordEnd,
  type CsvDelimiter,
  type CsvOptions,
} from '../data/csv.js';
import { binaryFormatOf, type DataFormat } from '../data/formats.js';
import type { TableFormat } from '../data/index.js';
import { jsonErrorDetail, objectsToTable } from '../data/json.js';
import type { Table } from '../data/table.js';
import { TableBuilder } from '../data/table-build.js';
import { MultilossError } from '../errors.js';
import { feedCsvParser } from './csv-file.js';
import { statChecked } from './files.js';
import { openBinaryTableStream } from './stream-binary.js';
import { readTableFile } from './table-file.js';

export const DEFAULT_BATCH_ROWS = 4096;
/** The longest JSON line accepted by the streaming reader (a guard, in characters). */
export const DEFAULT_MAX_JSON_LINE = 64 * 1024 * 1024;

export interface StreamTableOptions {
  /** csv, json, jsonl, parquet or arrow; from the extension when absent (as `readDataFile`). */
  format?: DataFormat;
  /** Rows per batch (default 4096). */
  batchSize?: number;
  csv?: CsvOptions;
  /** JSON lines: the longest line accepted, in characters (default 64 Mi). */
  maxLineLength?: number;
  /** Bytes per read (tests use tiny chunks to exercise chunk boundaries). */
  chunkSize?: number;
  /** Parquet and Arrow: read only these columns (each must exist). */
  columns?: readonly string[];
}

import type { TableBatchReader } from './table-batch-reader.js';
export type { TableBatchReader };

const WHITESPACE_ONLY = /^\s*$/;

type Format = 'csv' | 'tsv' | 'jsonl' | 'json' | 'other';

function formatOf(path: string, format?: DataFormat): Format {
  if (format === 'csv') return 'csv';
  if (format === 'json') return 'json';
  if (format === 'jsonl') return 'jsonl';
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  switch (ext) {
    case 'csv':
    case 'txt':
      return 'csv';
    case 'tsv':
      return 'tsv';
    case 'json':
      return 'json';
    case 'jsonl':
    case 'ndjson':
      return 'jsonl';
    default:
      return 'other';
  }
}

/** Pulls a file's chunks, with the ability to look at the first ones before parsing starts. */
class ChunkSource {
  private readonly stream: ReadStream;
  private readonly iterator: AsyncIterator<Buffer>;
  private readonly pending: Buffer[] = [];
  private done = false;
  private bomChecked = false;

  constructor(path: string, chunkSize: number) {
    this.stream = createReadStream(path, { highWaterMark: chunkSize });
    this.iterator = this.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async read(): Promise<Buffer | null> {
    if (this.done) return null;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.iterator.next();
    } catch (e) {
      throw new MultilossError('io', `data file ${this.stream.path.toString()}: ${(e as Error).message}`);
    }
    if (r.done) {
      this.done = true;
      return null;
    }
    return r.value;
  }

  /** Reads ahead until `enough(text so far)` holds or the file ends; the chunks stay queued. */
  async peek(enough: (text: string) => boolean): Promise<string> {
    const decoder = new StringDecoder('utf8');
    let text = this.pending.map((b) => decoder.write(b)).join('');
    while (!enough(text)) {
      const chunk = await this.read();
      if (chunk === null) break;
      this.pending.push(chunk);
      text += decoder.write(chunk);
    }
    return text;
  }

  /** Takes the next chunk: queued ones first. */
  async take(): Promise<Buffer | null> {
    return this.pending.shift() ?? (await this.read());
  }

  /** Drops a leading UTF-8 BOM (once), like `parseCsv` / `parseJson` do before parsing. */
  async stripBom(): Promise<void> {
    if (this.bomChecked) return;
    this.bomChecked = true;
    if (!(await this.peek((t) => t.length >= 1)).startsWith('\uFEFF')) return;
    const head = Buffer.concat(this.pending);
    this.pending.length = 0;
    this.pending.push(head.subarray(3));
  }

  close(): void {
    this.done = true;
    this.stream.destroy();
  }
}

interface ParsedRecord {
  record: string[];
  line: number;
}

class CsvBatchReader implements TableBatchReader {
  readonly columnsKnown = true;
  private header: string[] | undefined;
  private parser: Parser | undefined;
  /** Records parsed from the last chunk, not yet handed out. */
  private readonly queue: ParsedRecord[] = [];
  private queueAt = 0;
  /** The file's last chunk was parsed. */
  private ended = false;
  private readonly decoder = new StringDecoder('utf8');
  private finished = false;
  private started = false;
  private emittedAny = false;
  private count = 0;
  /** Whether the bytes fed to the parser so far hold anything but whitespace (an all-whitespace file is "empty"). */
  private content = false;
  private readonly tracker = new CsvLineTracker();
  private delimiter: CsvDelimiter = ',';
  private readonly maxRecordLength: number;
  private readonly maxColumns: number;

  constructor(
    private readonly source: ChunkSource,
    private readonly path: string,
    private readonly batchSize: number,
    private readonly options: CsvOptions,
  ) {
    this.maxRecordLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;
    this.maxColumns = options.maxColumns ?? DEFAULT_MAX_COLUMNS;
  }

  get columns(): readonly string[] {
    return this.header ?? [];
  }
  get rows(): number {
    return this.count;
  }

  private async start(): Promise<void> {
    this.started = true;
    await this.source.stripBom();
    if (this.options.delimiter) {
      this.delimiter = this.options.delimiter;
    } else {
      const limit = 4 * this.maxRecordLength + 4;
      this.delimiter = detectDelimiter(await this.source.peek((t) => hasFirstRecordEnd(t, limit)));
    }
    const parser = new Parser(csvParseOptions(this.delimiter, this.maxRecordLength));
    // Each record is queued with its start line, taken from the parser's running counts as it is
    // pushed (as io/csv-file.ts does): an `on_record` hook would get a fresh copy of those counts
    // for every record, which V8 ends up allocating in the old generation.
    parser.push = (record: string[] | null): boolean => {
      if (record === null) return true;
      const line = this.tracker.record(record, parser.info);
      if (line !== null) this.queue.push({ record, line });
      return true;
    };
    this.parser = parser;
  }

  /**
   * Parses one chunk of bytes (null: the end) synchronously, queueing its records: one `await`
   * per chunk read, none per record (the parser's transform step driven directly, as in io/csv-file.ts).
   */
  private feed(chunk: Buffer | null): void {
    feedCsvParser(this.parser as Parser, chunk, this.path, this.tracker, this.maxRecordLength);
  }

  /** Refills the queue from the next chunks until it holds a record or the file ended; false at the end. */
  private async fill(): Promise<boolean> {
    this.queue.length = 0;
    this.queueAt = 0;
    while (this.queue.length === 0) {
      if (this.ended) return false;
      const chunk = await this.source.take();
      if (chunk === null) {
        this.ended = true;
        this.feed(null);
      } else {
        if (!this.content && !WHITESPACE_ONLY.test(this.decoder.write(chunk))) this.content = true;
        this.feed(chunk);
      }
    }
    return true;
  }

  private async record(): Promise<ParsedRecord | null> {
    if (this.queueAt >= this.queue.length && !(await this.fill())) return null;
    return this.queue[this.queueAt++];
  }

  /** Reads and checks the header; a whitespace-only file is "empty", as for `readTableFile`. */
  private async readHeader(): Promise<void> {
    const first = await this.record();
    if (first === null) {
      throw new MultilossError('data', this.content ? `${this.path}: the file is empty (a header row is required)` : `${this.path}: the file is empty`);
    }
    try {
      this.header = csvHeader(first.record, first.line, this.path, this.delimiter, this.maxColumns);
    } catch (e) {
      // A header of blanks (tabs) may still be an all-whitespace file: that one is "empty".
      if (!this.content) {
        while ((await this.record()) !== null && !this.content);
        if (!this.content) throw new MultilossError('data', `${this.path}: the file is empty`);
      }
      throw e;
    }
  }

  async next(): Promise<Table | null> {
    if (this.finished) return null;
    try {
      if (!this.started) await this.start();
      if (!this.header) await this.readHeader();
      const header = this.header as string[];
      const batch = new TableBuilder(header, true);
      while (batch.length < this.batchSize) {
        if (this.queueAt >= this.queue.length && !(await this.fill())) {
          this.close();
          break;
        }
        const r = this.queue[this.queueAt++];
        batch.push(csvRow(r.record, header.length, r.line, this.path, this.delimiter), r.line);
      }
      if (batch.length === 0 && this.emittedAny) return null;
      this.emittedAny = true;
      this.count += batch.length;
      return batch.finish(this.path);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    this.finished = true;
    this.source.close();
    this.parser?.destroy();
  }
}

class JsonLinesBatchReader implements TableBatchReader {
  readonly columnsKnown = false;
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  /** The previous chunk ended in "\r": a "\n" starting the next one belongs to it. */
  private pendingCr = false;
  private lineNo = 0;
  private eof = false;
  private finished = false;
  private started = false;
  private anyObject = false;
  private count = 0;
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private readonly lines: string[] = [];
  private linesAt = 0;

  constructor(
    private readonly source: ChunkSource,
    private readonly path: string,
    private readonly batchSize: number,
    private readonly maxLineLength: number,
  ) {}

  get columns(): readonly string[] {
    return this.seenOrder;
  }
  get rows(): number {
    return this.count;
  }

  private tooLong(line: number): MultilossError {
    return new MultilossError('data', `${this.path}: line ${line} is longer than the limit of ${this.maxLineLength} characters`);
  }

  /** Splits on CRLF, LF or CR, as `text.split(/\r\n|\n|\r/)` does on the whole text. */
  private async fill(): Promise<void> {
    this.lines.length = 0;
    this.linesAt = 0;
    while (this.lines.length === 0 && !this.eof) {
      const chunk = await this.source.take();
      let text: string;
      if (chunk === null) {
        this.eof = true;
        text = this.decoder.end();
      } else {
        text = this.decoder.write(chunk);
        if (text === '') continue;
      }
      if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
      this.pendingCr = text.endsWith('\r');
      if (!this.eof && !/[\r\n]/.test(text)) {
        this.buffer += text;
        if (this.buffer.length > this.maxLineLength) throw this.tooLong(this.lineNo + 1);
        continue;
      }
      const parts = (this.buffer + text).split(/\r\n|\n|\r/);
      this.buffer = this.eof ? '' : (parts.pop() as string);
      if (this.buffer.length > this.maxLineLength) throw this.tooLong(this.lineNo + parts.length + 1);
      parts.forEach((p, k) => {
        if (p.length > this.maxLineLength) throw this.tooLong(this.lineNo + k + 1);
      });
      this.lines.push(...parts);
    }
  }

  private async nextLine(): Promise<string | null> {
    if (this.linesAt >= this.lines.length) {
      if (this.eof) return null;
      await this.fill();
      if (this.linesAt >= this.lines.length) return null;
    }
    this.lineNo++;
    return this.lines[this.linesAt++];
  }

  async next(): Promise<Table | null> {
    if (this.finished) return null;
    try {
      if (!this.started) {
        this.started = true;
        await this.source.stripBom();
      }
      const objects: unknown[] = [];
      const at: number[] = [];
      while (objects.length < this.batchSize) {
        const line = await this.nextLine();
        if (line === null) break;
        const raw = line.trim();
        if (raw === '') continue;
        try {
          objects.push(JSON.parse(raw));
        } catch (e) {
          throw new MultilossError('data', `${this.path}: line ${this.lineNo} is not valid JSON: ${jsonErrorDetail(e)}`);
        }
        at.push(this.lineNo);
      }
      if (objects.length === 0) {
        this.close();
        if (!this.anyObject) throw new MultilossError('data', `${this.path}: the file is empty`);
        return null;
      }
      this.anyObject = true;
      const table = objectsToTable(objects, this.path, (k) => at[k]);
      for (const c of table.columns) {
        if (!this.seen.has(c)) {
          this.seen.add(c);
          this.seenOrder.push(c);
        }
      }
      this.count += table.length;
      return table;
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    this.finished = true;
    this.source.close();
  }
}

/** A table read whole (JSON arrays, unknown formats), handed out in batches. */
class WholeTableReader implements TableBatchReader {
  readonly columnsKnown = true;
  private table: Table | undefined;
  private at = 0;
  private done = false;
  private emittedAny = false;
  constructor(
    private readonly read: () => Table,
    private readonly batchSize: number,
  ) {}
  get columns(): readonly string[] {
    return this.table?.columns ?? [];
  }
  get rows(): number {
    return this.at;
  }
  async next(): Promise<Table | null> {
    if (this.done) return null;
    this.table ??= this.read();
    const t = this.table;
    if (this.at >= t.length && this.emittedAny) {
      this.close();
      return null;
    }
    const end = Math.min(t.length, this.at + this.batchSize);
    const range = Uint32Array.from({ length: end - this.at }, (_, i) => this.at + i);
    const batch: Table = { columns: [...t.columns], data: t.data.map((c) => c.select(range)), length: range.length, source: t.source };
    if (t.lines) batch.lines = Uint32Array.from(range, (i) => (t.lines as ArrayLike<number>)[i]);
    else batch.rowNumbers = range.map((i) => i + 1);
    this.at = end;
    this.emittedAny = true;
    return batch;
  }
  close(): void {
    this.done = true;
    this.table = undefined;
  }
}

/**
 * Opens a data file for reading in batches. The file must exist (errors name
 * it as `readTableFile`'s do); nothing is read until the first `next()`.
 */
export async function openTableStream(path: string, options: StreamTableOptions = {}): Promise<TableBatchReader> {
  const size = statChecked(path, 'data file');
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH_ROWS));
  const chunkSize = options.chunkSize ?? 64 * 1024;
  const binary = binaryFormatOf(path, options.format);
  if (binary !== undefined) return openBinaryTableStream(path, binary, batchSize, { columns: options.columns });
  const fmt = formatOf(path, options.format);
  if (size === 0 && fmt !== 'other') throw new MultilossError('data', `${path}: the file is empty`);
  if (fmt === 'csv' || fmt === 'tsv') {
    const csv: CsvOptions = fmt === 'tsv' ? { delimiter: '\t', ...options.csv } : { ...options.csv };
    return new CsvBatchReader(new ChunkSource(path, chunkSize), path, batchSize, csv);
  }
  const maxLine = options.maxLineLength ?? DEFAULT_MAX_JSON_LINE;
  if (fmt === 'jsonl') return new JsonLinesBatchReader(new ChunkSource(path, chunkSize), path, batchSize, maxLine);
  if (fmt === 'json') {
    // JSON lines when the first character is "{" (as parseJson decides); an array is read whole.
    const source = new ChunkSource(path, chunkSize);
    try {
      await source.stripBom();
      const head = await source.peek((t) => !WHITESPACE_ONLY.test(t));
      if (head.trimStart().startsWith('{')) return new JsonLinesBatchReader(source, path, batchSize, maxLine);
    } catch (e) {
      source.close();
      throw e;
    }
    source.close();
  }
  return new WholeTableReader(() => readTableFile(path, options.format as TableFormat | undefined), batchSize);
}
