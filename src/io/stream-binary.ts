/**
 * Incremental reading of the binary formats, for `--stream` and `predict`: a Parquet file one row
 * group at a time (read through random access, so memory holds one row group, not the file), an
 * Arrow IPC file or stream one record batch at a time. Batches are tables of at most `batchSize`
 * rows built by the same column readers and adapter as a whole-file read.
 */
import type { FileHandle } from 'node:fs/promises';
import type { RecordBatch, RecordBatchReader } from 'apache-arrow';
import { arrowBatchColumns, arrowEmptyColumns, arrowError, loadArrow, planArrowColumns, type ArrowModule, type ArrowPlan } from '../data/arrow-columns.js';
import type { BinaryFormat } from '../data/formats.js';
import { sliceColumns, tableFromColumnValues, type ColumnSelection, type ColumnValues } from '../data/columns.js';
import { ParquetSource } from '../data/parquet.js';
import type { Table } from '../data/table.js';
import { fileBuffer, openChecked } from './parquet-file.js';
import type { TableBatchReader } from './table-batch-reader.js';

/** Hands out consecutive column sets (a row group, a record batch) as tables of at most `batchSize` rows. */
abstract class ColumnBatchReader implements TableBatchReader {
  readonly columnsKnown = true;
  private pending: ColumnValues[] | undefined;
  private pendingAt = 0;
  private pendingRows = 0;
  private count = 0;
  private emittedAny = false;
  private finished = false;

  constructor(
    protected readonly path: string,
    private readonly batchSize: number,
  ) {}

  abstract get columns(): readonly string[];
  /** The next set of columns and its row count, or null at the end. */
  protected abstract nextColumns(): Promise<{ columns: ColumnValues[]; rows: number } | null>;
  /** Columns of no rows (a file without any), so that its columns are seen. */
  protected abstract emptyColumns(): ColumnValues[];
  protected abstract release(): void;

  get rows(): number {
    return this.count;
  }

  async next(): Promise<Table | null> {
    if (this.finished) return null;
    try {
      while (this.pending === undefined || this.pendingAt >= this.pendingRows) {
        const got = await this.nextColumns();
        if (got === null) {
          this.close();
          if (this.emittedAny) return null;
          this.emittedAny = true;
          return tableFromColumnValues(this.emptyColumns(), { source: this.path, rows: 0 });
        }
        this.pending = got.columns;
        this.pendingRows = got.rows;
        this.pendingAt = 0;
      }
      const start = this.pendingAt;
      const end = Math.min(this.pendingRows, start + this.batchSize);
      this.pendingAt = end;
      const table = tableFromColumnValues(sliceColumns(this.pending, start, end), { source: this.path, rows: end - start, firstRow: this.count + 1 });
      this.count += end - start;
      this.emittedAny = true;
      return table;
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    if (this.finished) return;
    this.finished = true;
    this.pending = undefined;
    this.release();
  }
}

class ParquetBatchReader extends ColumnBatchReader {
  private group = 0;
  constructor(
    path: string,
    batchSize: number,
    private readonly handle: FileHandle,
    private readonly parquet: ParquetSource,
  ) {
    super(path, batchSize);
  }
  get columns(): readonly string[] {
    return this.parquet.columns;
  }
  protected async nextColumns(): Promise<{ columns: ColumnValues[]; rows: number } | null> {
    const range = this.parquet.rowGroups[this.group++];
    if (range === undefined) return null;
    return { columns: await this.parquet.readColumns(range[0], range[1]), rows: range[1] - range[0] };
  }
  protected emptyColumns(): ColumnValues[] {
    return this.parquet.emptyColumns();
  }
  protected release(): void {
    void this.handle.close().catch(() => undefined);
  }
}

class ArrowBatchReader extends ColumnBatchReader {
  private readonly batches: AsyncIterator<RecordBatch>;
  constructor(
    path: string,
    batchSize: number,
    private readonly handle: FileHandle,
    private readonly arrow: ArrowModule,
    private readonly plan: ArrowPlan,
    reader: AsyncIterable<RecordBatch>,
  ) {
    super(path, batchSize);
    this.batches = reader[Symbol.asyncIterator]();
  }
  get columns(): readonly string[] {
    return this.plan.map((p) => p.field.name);
  }
  protected async nextColumns(): Promise<{ columns: ColumnValues[]; rows: number } | null> {
    let r: IteratorResult<RecordBatch>;
    try {
      r = await this.batches.next();
    } catch (e) {
      throw arrowError(e, this.path);
    }
    if (r.done) return null;
    return { columns: arrowBatchColumns(this.arrow, r.value, this.plan, this.path, this.rows + 1), rows: r.value.numRows };
  }
  protected emptyColumns(): ColumnValues[] {
    return arrowEmptyColumns(this.plan, this.path);
  }
  protected release(): void {
    void this.handle.close().catch(() => undefined);
  }
}

/**
 * Opens a Parquet or Arrow IPC file for reading in batches: the footer / schema is read and
 * checked now (missing or unsupported columns, codecs, a truncated file are reported here).
 */
export async function openBinaryTableStream(path: string, format: BinaryFormat, batchSize: number, selection: ColumnSelection = {}): Promise<TableBatchReader> {
  const handle = await openChecked(path, 'data file');
  try {
    if (format === 'parquet') {
      const parquet = await ParquetSource.open(await fileBuffer(handle, path), path, selection);
      return new ParquetBatchReader(path, batchSize, handle, parquet);
    }
    const arrow = await loadArrow(path);
    let reader: RecordBatchReader;
    let plan: ArrowPlan;
    try {
      reader = await arrow.RecordBatchReader.from(handle);
      await reader.open();
      plan = planArrowColumns(arrow, reader.schema, path, selection);
    } catch (e) {
      throw arrowError(e, path);
    }
    return new ArrowBatchReader(path, batchSize, handle, arrow, plan, reader);
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}
