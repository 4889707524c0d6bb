/**
 * Columns of a {@link Table}: one typed store per column instead of rows of
 * JavaScript cells. A column hands back exactly the cell it was given
 * (`get(i)`), so every rule stated on cells (missing tokens, type inference,
 * category names, error messages) reads the same; the stores only change what
 * a cell costs:
 *
 * - {@link NumberColumn}: a Float64Array and a missing mask. Text cells are
 *   kept when they read back unchanged (`String(Number(s)) === s`, e.g. "5.1",
 *   "-3"); the rare others ("1e3", " 7", "NA") sit in a sparse side map.
 * - {@link DictionaryColumn}: Int32 codes into the distinct values (labels,
 *   categories, booleans, free text).
 *
 * Measured against Apache Arrow's JS vectors (`npm run bench -- table-memory`,
 * BENCHMARKS.md "Columnar tables"): the same bytes held (8 per number plus a
 * mask, 4 per label), but one pass reading every value back — what
 * preprocessing and target encoding do — is about 4.7× slower through
 * `Vector.get` than through these arrays; Arrow builds faster only because it
 * turns text into numbers without keeping what the text was ("1e3", " 7"),
 * which the missing-value and type rules need. So training keeps plain typed
 * arrays; Arrow stays an interchange format (its columns map onto these).
 */
import { parseNumber, type Cell, type ColumnType } from './cell.js';

/** One column of a table: `length` cells, read by index. */
export interface Column {
  readonly length: number;
  /** The cell at row i (null when missing), exactly as it was read. */
  get(i: number): Cell;
  /**
   * The rows at `indices`, in that order (a new column). A Uint32Array is held, not copied
   * (the columns of one selection share it), so it must not change afterwards.
   */
  select(indices: ArrayLike<number>): Column;
  /** The column with every string cell equal (after trimming) to one of `tokens` read as missing. */
  withMissing(tokens: ReadonlySet<string>): Column;
  /**
   * The type a file's schema gives the column (Parquet, Arrow): a string column stays
   * categorical even when its values look like numbers. Absent for text formats (CSV, JSON),
   * whose column types are inferred from the cells.
   */
  readonly declaredType?: ColumnType;
}

/** `indices` as the rows of a {@link SelectedColumn}: a Uint32Array is shared, anything else copied. */
function rowIndices(indices: ArrayLike<number>): Uint32Array {
  return indices instanceof Uint32Array ? indices : Uint32Array.from(indices);
}

const printable = (code: number): boolean => code > 32 && code < 127;

/** Whether a cell is a string equal, after trimming, to one of `tokens`. */
function missingTokenTest(tokens: ReadonlySet<string>): (cell: Cell) => boolean {
  let longest = 0;
  for (const t of tokens) longest = Math.max(longest, t.length);
  return (cell) => {
    if (typeof cell !== 'string') return false;
    // Most cells are longer than every token and start and end with a printable ASCII character,
    // which trimming keeps: no trim, no hashing of the text.
    if (cell.length > longest && printable(cell.charCodeAt(0)) && printable(cell.charCodeAt(cell.length - 1))) return false;
    return tokens.has(cell.trim());
  };
}

/** Whether a text cell is stored as its number: it reads back unchanged. */
function canonicalNumber(s: string): number | null {
  const x = Number(s);
  return Number.isFinite(x) && String(x) === s && s !== '' ? x : null;
}

/** Numbers (or number-like text) in a Float64Array with a missing mask; other cells in a sparse map. */
export class NumberColumn implements Column {
  constructor(
    readonly values: Float64Array,
    /** 1 where the cell is missing (null). */
    readonly missing: Uint8Array,
    /** Whether the stored numbers were text cells ("5.1") rather than numbers (5.1). */
    readonly text: boolean,
    /** Cells that are not stored as numbers, by row (never null). */
    readonly others: ReadonlyMap<number, Cell> = new Map(),
    readonly declaredType?: ColumnType,
  ) {}

  get length(): number {
    return this.values.length;
  }

  get(i: number): Cell {
    if (this.others.size > 0) {
      const other = this.others.get(i);
      if (other !== undefined) return other;
    }
    if (this.missing[i]) return null;
    return this.text ? String(this.values[i]) : this.values[i];
  }

  select(indices: ArrayLike<number>): Column {
    return new SelectedColumn(this, rowIndices(indices));
  }

  withMissing(tokens: ReadonlySet<string>): NumberColumn {
    let missing = this.missing;
    if (this.text) {
      const numeric = [...tokens].map(canonicalNumber).filter((x): x is number => x !== null);
      if (numeric.length > 0) {
        missing = Uint8Array.from(this.missing);
        for (let i = 0; i < this.values.length; i++) if (numeric.includes(this.values[i])) missing[i] = 1;
      }
    }
    let others = this.others;
    const isToken = missingTokenTest(tokens);
    for (const [i, cell] of this.others) {
      if (isToken(cell)) {
        if (missing === this.missing) missing = Uint8Array.from(this.missing);
        if (others === this.others) others = new Map(this.others);
        (others as Map<number, Cell>).delete(i);
        missing[i] = 1;
      }
    }
    return missing === this.missing && others === this.others ? this : new NumberColumn(this.values, missing, this.text, others, this.declaredType);
  }
}

/** Cells as Int32 codes into their distinct values (-1: missing). */
export class DictionaryColumn implements Column {
  constructor(
    readonly codes: Int32Array,
    /** The distinct non-null cells, in first-seen order. */
    readonly dictionary: readonly Cell[],
    readonly declaredType?: ColumnType,
    /** {@link numbers} when already worked out (a column read back from a stream's spill file). */
    private parsedNumbers?: Float64Array,
  ) {}

  get length(): number {
    return this.codes.length;
  }

  get(i: number): Cell {
    const c = this.codes[i];
    return c < 0 ? null : this.dictionary[c];
  }

  /**
   * `parseNumber` of each dictionary entry (NaN where it gives null), worked out on first use and
   * kept: a streamed chunk's column is read batch by batch, each batch a few of its rows.
   */
  numbers(): Float64Array {
    if (!this.parsedNumbers) {
      const numbers = new Float64Array(this.dictionary.length);
      for (let c = 0; c < numbers.length; c++) numbers[c] = parseNumber(this.dictionary[c]) ?? NaN;
      this.parsedNumbers = numbers;
    }
    return this.parsedNumbers;
  }

  select(indices: ArrayLike<number>): Column {
    return new SelectedColumn(this, rowIndices(indices));
  }

  withMissing(tokens: ReadonlySet<string>): DictionaryColumn {
    const isToken = missingTokenTest(tokens);
    const gone = this.dictionary.map(isToken);
    if (!gone.includes(true)) return this;
    const codes = this.codes.map((c) => (c >= 0 && gone[c] ? -1 : c));
    return new DictionaryColumn(codes, this.dictionary, this.declaredType, this.parsedNumbers);
  }
}

/**
 * Some rows of a stored column, by index, without copying the cells (a split's
 * training and validation rows cost 4 bytes a row, not a second table).
 */
export class SelectedColumn implements Column {
  constructor(
    readonly base: NumberColumn | DictionaryColumn,
    /** Row i of this column is row `rows[i]` of `base`. */
    readonly rows: Uint32Array,
  ) {}

  get length(): number {
    return this.rows.length;
  }

  get declaredType(): ColumnType | undefined {
    return this.base.declaredType;
  }

  get(i: number): Cell {
    return this.base.get(this.rows[i]);
  }

  select(indices: ArrayLike<number>): Column {
    return new SelectedColumn(this.base, Uint32Array.from(indices, (i) => this.rows[i]));
  }

  withMissing(tokens: ReadonlySet<string>): Column {
    const base = this.base.withMissing(tokens);
    return base === this.base ? this : new SelectedColumn(base, this.rows);
  }
}

/**
 * What stands in a table for a column whose cells were let go (`fitModel`'s `releaseInput`: the
 * table of a large file is not held beside its encoding). Reading it is a bug, said loudly.
 */
export class ReleasedColumn implements Column {
  constructor(
    readonly length: number,
    readonly name: string,
  ) {}

  get(): Cell {
    throw this.released();
  }

  select(): Column {
    throw this.released();
  }

  withMissing(): Column {
    throw this.released();
  }

  private released(): Error {
    return new Error(`column "${this.name}" was released once encoded (releaseInput) and cannot be read`);
  }
}

const FIRST_CAPACITY = 1024;
/** A column whose cells fail to be numbers more often than this (past the first few) turns into a dictionary. */
const OTHERS_SHARE = 1 / 16;
const OTHERS_FREE = 64;

/** The first `n` entries of a builder's array: the array itself when it is exactly full, else a copy. */
function exact<T extends Float64Array | Int32Array | Uint8Array>(array: T, n: number): T {
  return (array.length === n ? array : array.slice(0, n)) as T;
}

/** Appends cells one at a time (readers fill one builder per column as they go), then {@link finish}es into a column. */
export class ColumnBuilder {
  private n = 0;
  private values: Float64Array | null = new Float64Array(FIRST_CAPACITY);
  private missing = new Uint8Array(FIRST_CAPACITY);
  private text: boolean | undefined;
  private others = new Map<number, Cell>();
  private codes: Int32Array | null = null;
  private dictionary: Cell[] = [];
  private index = new Map<Cell, number>();

  /**
   * `declaredType`: the schema's type, kept by the finished column; text and booleans are then
   * dictionary-coded from the start. `expectedLength`: about how many cells will come (a reader
   * that counted the file's lines): the first growth goes straight to it, so a large column is
   * not copied at every growth nor at `finish` (each copy is garbage the size of the column).
   */
  constructor(
    private readonly declaredType?: ColumnType,
    private readonly expectedLength = 0,
  ) {
    if (declaredType === 'categorical' || declaredType === 'boolean') {
      this.codes = new Int32Array(FIRST_CAPACITY);
      this.values = null;
      this.missing = new Uint8Array(0);
    }
  }

  get length(): number {
    return this.n;
  }

  push(cell: Cell): void {
    if (this.codes) {
      this.pushCode(cell);
      return;
    }
    const at = this.n;
    this.grow(at + 1);
    const values = this.values as Float64Array;
    if (cell === null) {
      this.missing[at] = 1;
    } else if (typeof cell === 'number' && this.text !== true && Number.isFinite(cell)) {
      this.text = false;
      values[at] = cell;
    } else if (typeof cell === 'string' && this.text !== false && canonicalNumber(cell) !== null) {
      this.text = true;
      values[at] = Number(cell);
    } else {
      this.others.set(at, cell);
      if (this.others.size > OTHERS_FREE && this.others.size > at * OTHERS_SHARE) {
        this.n = at + 1;
        this.toDictionary();
        return;
      }
    }
    this.n = at + 1;
  }

  /** The finished column (the builder must not be used afterwards). */
  finish(): Column {
    const n = this.n;
    if (this.codes) return new DictionaryColumn(exact(this.codes, n), this.dictionary, this.declaredType);
    const values = exact(this.values as Float64Array, n);
    const missing = exact(this.missing, n);
    this.values = null;
    return new NumberColumn(values, missing, this.text ?? true, this.others, this.declaredType);
  }

  private grow(size: number): void {
    const capacity = this.codes ? this.codes.length : this.missing.length;
    if (size <= capacity) return;
    const next = Math.max(size, this.expectedLength > capacity ? this.expectedLength : Math.ceil(capacity * 1.5));
    if (this.codes) {
      const codes = new Int32Array(next);
      codes.set(this.codes);
      this.codes = codes;
      return;
    }
    const values = new Float64Array(next);
    values.set(this.values as Float64Array);
    this.values = values;
    const missing = new Uint8Array(next);
    missing.set(this.missing);
    this.missing = missing;
  }

  private pushCode(cell: Cell): void {
    const at = this.n;
    this.grow(at + 1);
    const codes = this.codes as Int32Array;
    if (cell === null) {
      codes[at] = -1;
    } else {
      let code = this.index.get(cell);
      if (code === undefined) {
        code = this.dictionary.length;
        this.dictionary.push(cell);
        this.index.set(cell, code);
      }
      codes[at] = code;
    }
    this.n = at + 1;
  }

  private toDictionary(): void {
    const so = new NumberColumn((this.values as Float64Array).subarray(0, this.n), this.missing.subarray(0, this.n), this.text ?? true, this.others);
    const n = this.n;
    this.codes = new Int32Array(Math.max(FIRST_CAPACITY, this.missing.length));
    this.values = null;
    this.others = new Map();
    this.n = 0;
    for (let i = 0; i < n; i++) this.pushCode(so.get(i));
    this.missing = new Uint8Array(0);
  }
}

/** A column of the given cells. */
export function columnOf(cells: Iterable<Cell>): Column {
  const b = new ColumnBuilder();
  for (const c of cells) b.push(c);
  return b.finish();
}

/**
 * `parseNumber(column.get(i))` without making the cell: the stored number of a
 * {@link NumberColumn} (null when missing), parsed cells otherwise.
 */
export function numberAt(column: Column, i: number): number | null {
  if (column instanceof SelectedColumn) return numberAt(column.base, column.rows[i]);
  if (column instanceof NumberColumn) {
    if (column.others.size > 0) {
      const other = column.others.get(i);
      if (other !== undefined) return parseNumber(other);
    }
    return column.missing[i] ? null : column.values[i];
  }
  return parseNumber(column.get(i));
}

/**
 * `numberAt(column, ·)` as a function of the row, parsing each dictionary entry once (a column
 * of decimals read from text is often a dictionary of a few thousand strings): what loops over
 * every row of a column use.
 */
export function numberReader(column: Column): (i: number) => number | null {
  if (column instanceof SelectedColumn) {
    const inner = numberReader(column.base);
    const rows = column.rows;
    return (i) => inner(rows[i]);
  }
  if (column instanceof NumberColumn && column.others.size === 0) {
    const { values, missing } = column;
    return (i) => (missing[i] ? null : values[i]);
  }
  if (column instanceof DictionaryColumn) {
    const numbers = column.numbers();
    const codes = column.codes;
    return (i) => {
      const c = codes[i];
      if (c < 0) return null;
      const x = numbers[c];
      return Number.isNaN(x) ? null : x;
    };
  }
  return (i) => numberAt(column, i);
}

/**
 * A value per distinct cell, computed once per dictionary entry for a
 * {@link DictionaryColumn} and per row otherwise: `f(column.get(i))` for row i.
 */
export function mapCells<T>(column: Column, f: (cell: Cell, code?: number) => T): (i: number) => T {
  if (column instanceof SelectedColumn) {
    const inner = mapCells(column.base, f);
    const rows = column.rows;
    return (i) => inner(rows[i]);
  }
  if (column instanceof DictionaryColumn) {
    const byCode = column.dictionary.map((cell, code) => f(cell, code));
    const ofNull = f(null);
    return (i) => {
      const c = column.codes[i];
      return c < 0 ? ofNull : byCode[c];
    };
  }
  return (i) => f(column.get(i));
}
