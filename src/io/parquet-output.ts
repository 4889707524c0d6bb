/**
 * Writing a table to Parquet (hyparquet-writer) a batch of rows at a time, atomically: the file
 * grows under a temporary name beside the destination and is renamed into place by `commit()`
 * (after an fsync), so an error or an interrupt leaves no output file. Each batch becomes one
 * row group. A column's type is the one the writer is given (predictions: from the model's
 * heads; kept columns: from the input's schema); a column given none takes it from the first
 * batch: numbers → DOUBLE, booleans → BOOLEAN, anything else (or no value at all) → STRING.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileWriter, ParquetWriter, schemaFromColumnData, type ColumnSource } from 'hyparquet-writer';
import { showValue } from '../data/rowref.js';
import { jsonErrorDetail } from '../data/json.js';
import { MultilossError } from '../errors.js';
import { fsyncDir, ioMessage, temporarySibling } from './files.js';

export type OutputCell = string | number | boolean | null;
/** A Parquet output column's type. */
export type OutputType = 'DOUBLE' | 'BOOLEAN' | 'STRING';

function typeOf(values: readonly OutputCell[]): OutputType | undefined {
  const present = values.filter((v) => v !== null);
  if (present.length === 0) return undefined;
  if (present.every((v) => typeof v === 'number')) return 'DOUBLE';
  if (present.every((v) => typeof v === 'boolean')) return 'BOOLEAN';
  return 'STRING';
}

export class ParquetFileWriter {
  private readonly tmp: string;
  private writer: ParquetWriter | undefined;
  private types: OutputType[] | undefined;
  private rowsWritten = 0;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly columns: readonly string[],
    /** Each column's type where known in advance (undefined: from the first batch). */
    private readonly declared: readonly (OutputType | undefined)[] = [],
  ) {
    this.tmp = temporarySibling(path);
  }

  /** Appends rows (each with one cell per column) as a row group. */
  write(rows: readonly OutputCell[][]): void {
    if (rows.length === 0) return;
    const data = this.columns.map((_, j) => rows.map((r) => r[j] ?? null));
    if (this.types === undefined) {
      // Types not given come from the first batch; a column empty in it is text (STRING).
      this.types = data.map((d, j) => this.declared[j] ?? typeOf(d) ?? 'STRING');
    }
    const types = this.types;
    const columnData: ColumnSource[] = data.map((d, j) => ({ name: this.columns[j], data: this.fit(d, types[j], j), type: types[j], nullable: true }));
    this.run(() => {
      this.writer ??= new ParquetWriter({ writer: fileWriter(this.tmp), schema: schemaFromColumnData({ columnData }) });
      void this.writer.write({ columnData, rowGroupSize: rows.length });
    });
    this.rowsWritten += rows.length;
  }

  /** A batch's values as the column's type: any value is text in a STRING column; a DOUBLE or BOOLEAN column takes only its own. */
  private fit(values: OutputCell[], type: OutputType, j: number): OutputCell[] {
    if (type === 'STRING') return values.map((v) => (v === null ? null : String(v)));
    const want = type === 'DOUBLE' ? 'number' : 'boolean';
    const at = values.findIndex((v) => v !== null && typeof v !== want);
    if (at !== -1) {
      throw new MultilossError('data', `${this.path}: column "${this.columns[j]}", row ${this.rowsWritten + at + 1}: ${showValue(values[at])} in a column of ${want}s (a Parquet column has one type; write CSV or JSON lines instead)`);
    }
    return values;
  }

  private run(action: () => void): void {
    try {
      action();
    } catch (e) {
      this.abort();
      throw e instanceof MultilossError ? e : new MultilossError('io', `cannot write ${this.path}: ${jsonErrorDetail(e)}`);
    }
  }

  /** Finishes the file and renames it into place. */
  commit(): void {
    if (this.closed) throw new Error(`ParquetFileWriter: ${this.path} is already closed`);
    this.run(() => {
      if (!this.writer) {
        // No rows: a file with the columns (as text) and no row group.
        const columnData: ColumnSource[] = this.columns.map((name, j) => ({ name, data: [], type: this.declared[j] ?? 'STRING', nullable: true }));
        this.writer = new ParquetWriter({ writer: fileWriter(this.tmp), schema: schemaFromColumnData({ columnData }) });
      }
      void this.writer.finish();
      const fd = openSync(this.tmp, 'r+');
      fsyncSync(fd);
      closeSync(fd);
      renameSync(this.tmp, this.path);
    });
    this.closed = true;
    try {
      fsyncDir(dirname(this.path));
    } catch (e) {
      throw new MultilossError('io', `cannot write ${this.path}: ${ioMessage(e)}`);
    }
  }

  /** Removes the temporary file (nothing is left at `path`). */
  abort(): void {
    this.closed = true;
    rmSync(this.tmp, { force: true });
  }
}
