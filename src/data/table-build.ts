/**
 * Building columnar {@link Table}s: from a reader appending one record at a
 * time ({@link TableBuilder}), from per-column values ({@link tableFromColumns},
 * what the Parquet / Arrow readers hand over), or from rows of cells
 * ({@link tableFromRows}, for library callers who hold rows).
 */
import { MultilossError } from '../errors.js';
import { ColumnBuilder, DictionaryColumn, NumberColumn, SelectedColumn, type Column } from './column.js';
import type { Cell, ColumnType, RowTable, Table } from './table.js';

/** Grows a Uint32Array of line numbers as rows arrive. */
class LineBuilder {
  private lines = new Uint32Array(1024);
  private n = 0;

  constructor(private readonly expectedLength: number) {}

  push(line: number): void {
    if (this.n === this.lines.length) {
      const capacity = this.lines.length;
      const next = new Uint32Array(this.expectedLength > capacity ? this.expectedLength : Math.ceil(capacity * 1.5));
      next.set(this.lines);
      this.lines = next;
    }
    this.lines[this.n++] = line;
  }

  finish(): Uint32Array {
    return this.n === this.lines.length ? this.lines : this.lines.slice(0, this.n);
  }
}

/** Appends rows cell by cell into one {@link ColumnBuilder} per column. */
export class TableBuilder {
  private readonly builders: ColumnBuilder[];
  private readonly lines?: LineBuilder;
  private n = 0;

  constructor(
    readonly columns: readonly string[],
    /** Whether rows come with the line they start on. */
    withLines: boolean,
    /** About how many rows will come, if known (see {@link ColumnBuilder}'s `expectedLength`). */
    expectedRows = 0,
  ) {
    this.builders = columns.map(() => new ColumnBuilder(undefined, expectedRows));
    if (withLines) this.lines = new LineBuilder(expectedRows);
  }

  get length(): number {
    return this.n;
  }

  /** Appends a row; `cells[j]` belongs to column j (absent → null). */
  push(cells: ArrayLike<Cell | undefined>, line?: number): void {
    for (let j = 0; j < this.builders.length; j++) this.builders[j].push(cells[j] ?? null);
    if (this.lines) this.lines.push(line ?? 0);
    this.n++;
  }

  finish(source: string): Table {
    const table: Table = { columns: [...this.columns], data: this.builders.map((b) => b.finish()), length: this.n, source };
    if (this.lines) table.lines = this.lines.finish();
    return table;
  }
}

/** Numbers as a typed array (Parquet / Arrow numeric columns). */
export type NumericValues = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array;

/**
 * One column given by its values: what {@link tableFromColumns} builds a table of, and what the
 * Parquet and Arrow readers produce (their `ColumnValues` are this type narrowed by the schema).
 */
export interface ColumnInput {
  name: string;
  /** Typed numbers, or cells (strings, numbers, booleans; null = missing). */
  values: NumericValues | readonly Cell[];
  /** For typed numbers: 1 (or true) where the value is missing. */
  missing?: ArrayLike<number | boolean>;
  /**
   * The column's type when a schema gives it (Parquet, Arrow): kept by the column, so that a
   * string column of digits stays categorical. Absent: inferred from the cells, as for a CSV.
   */
  type?: ColumnType;
}

function numericColumn(values: NumericValues, missing: ArrayLike<number | boolean> | undefined, type: ColumnType | undefined): Column {
  const n = values.length;
  const mask = new Uint8Array(n);
  if (missing) for (let i = 0; i < n; i++) mask[i] = missing[i] ? 1 : 0;
  let finite = true;
  for (let i = 0; i < n && finite; i++) finite = mask[i] === 1 || Number.isFinite(values[i]);
  if (finite) return new NumberColumn(values instanceof Float64Array ? values : Float64Array.from(values), mask, false, undefined, type);
  // A NaN or infinity is kept as that number (as a JSON reader would), in the column's side map.
  const b = new ColumnBuilder(type);
  for (let i = 0; i < n; i++) b.push(mask[i] ? null : values[i]);
  return b.finish();
}

/**
 * A table from per-column values: what readers of columnar files (Parquet,
 * Arrow IPC) build, without going through rows. Typed numbers become number
 * cells (with `missing` marking the missing ones); cell arrays keep their cells
 * as they are (a string "5.1" stays text, as in CSV); a column's `type`, when given, is kept
 * (see {@link ColumnInput}). Every column must have the same length; names must be unique.
 */
export function tableFromColumns(source: string, columns: readonly ColumnInput[]): Table {
  const length = columns.length ? columns[0].values.length : 0;
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw new MultilossError('data', `${source}: duplicate column name "${c.name}"`);
    seen.add(c.name);
    if (c.values.length !== length) {
      throw new MultilossError('data', `${source}: column "${c.name}" has ${c.values.length} values, column "${columns[0].name}" ${length}`);
    }
    if (c.missing && c.missing.length !== length) {
      throw new MultilossError('data', `${source}: column "${c.name}" has a missing mask of ${c.missing.length} entries for ${length} values`);
    }
  }
  const data = columns.map((c): Column => {
    if (ArrayBuffer.isView(c.values)) return numericColumn(c.values, c.missing, c.type);
    const b = new ColumnBuilder(c.type);
    for (const cell of c.values as readonly Cell[]) b.push(cell ?? null);
    return b.finish();
  });
  return { columns: columns.map((c) => c.name), data, length, source };
}

/** A columnar table of rows of cells (a row shorter than `columns` reads as missing at its end). */
export function tableFromRows(input: RowTable): Table {
  const builder = new TableBuilder(input.columns, !!input.lines);
  input.rows.forEach((row, i) => builder.push(row, input.lines?.[i]));
  const table = builder.finish(input.source);
  return table;
}

/** A table as given: columnar tables pass through, row tables are converted. */
export function asTable(input: Table | RowTable): Table {
  return 'rows' in input ? tableFromRows(input) : input;
}

/** The rows of a table as arrays of cells: a copy for small tables (tests, display), never used on the training path. */
export function tableRows(table: Table): Cell[][] {
  const rows: Cell[][] = [];
  for (let i = 0; i < table.length; i++) rows.push(table.data.map((c) => c.get(i)));
  return rows;
}

/** Cell (i, j). */
export function cellAt(table: Table, i: number, j: number): Cell {
  return table.data[j].get(i);
}

/** A table of the same rows with more columns, all missing (predict adds the target columns a file lacks). */
export function withMissingColumns(table: Table, names: readonly string[]): Table {
  if (names.length === 0) return table;
  const empty = (): Column => new NumberColumn(new Float64Array(table.length), new Uint8Array(table.length).fill(1), true);
  return { ...table, columns: [...table.columns, ...names], data: [...table.data, ...names.map(empty)] };
}

/** The rows of several tables one after another, in the columns of the first (a column a table lacks reads as missing; lines and row numbers are dropped). */
export function concatTables(tables: readonly Table[], source: string): Table {
  const columns = tables[0].columns;
  const data = columns.map((name, k) => {
    const b = new ColumnBuilder(tables[0].data[k].declaredType);
    for (const t of tables) {
      const j = t.columns.indexOf(name);
      for (let i = 0; i < t.length; i++) b.push(j < 0 ? null : t.data[j].get(i));
    }
    return b.finish();
  });
  return { columns: [...columns], data, length: tables.reduce((n, t) => n + t.length, 0), source };
}

/**
 * A table that crossed a structured clone (postMessage, workerData): typed arrays and maps
 * survive, the column classes do not; this puts them back. Tables that kept them pass through.
 */
export function reviveTable(table: Table): Table {
  return { ...table, data: table.data.map((c) => reviveColumn(c, table.source)) };
}

function reviveColumn(c: Column, source: string): Column {
  if (c instanceof NumberColumn || c instanceof DictionaryColumn || c instanceof SelectedColumn) return c;
  const plain = c as unknown as Partial<NumberColumn & DictionaryColumn & SelectedColumn>;
  if (plain.base && plain.rows) return new SelectedColumn(reviveColumn(plain.base, source) as NumberColumn | DictionaryColumn, plain.rows);
  if (plain.codes && plain.dictionary) return new DictionaryColumn(plain.codes, plain.dictionary, plain.declaredType, (plain as { parsedNumbers?: Float64Array }).parsedNumbers);
  if (plain.values && plain.missing) return new NumberColumn(plain.values, plain.missing, plain.text ?? true, plain.others, plain.declaredType);
  throw new MultilossError('data', `${source}: a column of unknown kind`);
}
