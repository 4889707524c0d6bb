// The interface every streaming table reader implements (text formats in stream-table.ts,
// Parquet and Arrow in stream-binary.ts), apart so that neither imports the other for it.
import type { Table } from '../data/table.js';

/** A reader handing out a data file as consecutive tables of at most `batchSize` rows. */
export interface TableBatchReader {
  /**
   * The next batch, or null at the end. A CSV file gives at least one batch
   * (an empty one for a header-only file), so its columns are always seen.
   * Throws MultilossError for bad input, naming the file and line.
   */
  next(): Promise<Table | null>;
  /**
   * Columns met so far: the CSV header, or every JSON key seen (first-seen
   * order). A JSON-lines table's columns are the union of its rows' keys, so a
   * batch may lack a column that other rows have (read it as missing).
   */
  readonly columns: readonly string[];
  /** Whether `columns` is final from the first batch on (CSV, whole files); false for JSON lines until the end. */
  readonly columnsKnown: boolean;
  /** Data rows handed out so far. */
  readonly rows: number;
  /** Stops reading and closes the file (also done at the end and on errors). */
  close(): void;
}
