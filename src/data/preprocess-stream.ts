/**
 * Fitting the feature preprocessing on a table that arrives in chunks (a file
 * streamed with `train --stream`): the same fitted state as
 * `FeaturePreprocessor.fit` on the whole table, without holding its rows.
 *
 * - type inference follows `inferColumnType` (numeric if every present value
 *   parses as a number, else boolean if every one is a boolean, else
 *   categorical); a column's distinct values are kept only once it cannot be
 *   numeric or boolean (a column of a million distinct numbers does not fill
 *   a set): one that turns out categorical after some rows needs one more
 *   pass over the training rows for its categories (`categoryColumns`,
 *   `addCategories`); a type from the file's schema (Parquet, Arrow) counts
 *   as declared, as in the whole-table fit;
 * - numeric mean: the same sum in the same row order as the whole-table fit
 *   (equal to the last bit); standard deviation: Welford's one-pass update
 *   (equal to the two-pass figure to rounding, ~1e-15 relative);
 * - categories: sorted by code unit, as the whole-table fit.
 */
import { MultilossError } from '../errors.js';
import { DictionaryColumn, mapCells, SelectedColumn, type Column } from './column.js';
import { parseBoolean, parseNumber } from './infer.js';
import { FeaturePreprocessor, type FeatureJSON, type FeatureSpec } from './preprocess.js';
import { rowRef, showValue } from './rowref.js';
import type { Cell, ColumnType, Table } from './table.js';

/** Scale of the second Welford accumulator, for values whose squares overflow (|x| ≳ 1e154). */
const SMALL = 2 ** -600;

function isMissing(cell: Cell): boolean {
  return cell === null || (typeof cell === 'string' && cell.trim() === '');
}

/** What fitting reads of a cell, worked out once per distinct cell of a dictionary column. */
interface CellFacts {
  readonly cell: Cell;
  readonly missing: boolean;
  /** parseNumber of the cell (null when missing). */
  readonly number: number | null;
  /** Whether parseBoolean reads the cell. */
  readonly isBoolean: boolean;
  readonly booleanValue: number | null;
  /** The trimmed text, the category it would be. */
  readonly category: string;
}

/** The facts of `cell`, whose parseNumber is `number` when known. */
function cellFacts(cell: Cell, number: number | null = parseNumber(cell)): CellFacts {
  const missing = isMissing(cell);
  if (missing) return { cell, missing, number: null, isBoolean: false, booleanValue: null, category: '' };
  const b = parseBoolean(cell);
  // booleanValue (1/0 for booleans and 0/1) without parsing the number again.
  const value = b !== null ? (b ? 1 : 0) : number === 0 || number === 1 ? number : null;
  return { cell, missing, number, isBoolean: b !== null, booleanValue: value, category: String(cell).trim() };
}

/** Each row's facts, worked out once per dictionary entry (its number from the column's parsed numbers). */
function factsReader(column: Column): (i: number) => CellFacts {
  const base = column instanceof SelectedColumn ? column.base : column;
  if (!(base instanceof DictionaryColumn)) return mapCells(column, (cell) => cellFacts(cell));
  const numbers = base.numbers();
  return mapCells(column, (cell, code) => cellFacts(cell, code === undefined || Number.isNaN(numbers[code]) ? null : numbers[code]));
}

class Welford {
  n = 0;
  mean = 0;
  m2 = 0;
  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }
}

class ColumnFitter {
  rows = 0;
  present = 0;
  numeric = true;
  boolean = true;
  /** The categories, kept once the column can only be categorical. */
  categories: Set<string> | undefined;
  /** Whether values came before `categories` was started: a second pass must collect them. */
  incomplete = false;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  readonly plain = new Welford();
  readonly scaled = new Welford();

  constructor(
    readonly name: string,
    readonly declared: ColumnType | undefined,
  ) {
    if (declared === 'categorical') this.categories = new Set();
  }

  addMissing(count: number): void {
    this.rows += count;
  }

  add(facts: CellFacts, table: Table, i: number): void {
    this.rows++;
    if (facts.missing) return;
    this.present++;
    const { cell } = facts;
    const type = this.declared;
    if (type === undefined || type === 'numeric') {
      const x = this.numeric ? facts.number : null;
      if (x === null) {
        if (type === 'numeric') {
          throw new MultilossError('data', `${table.source}: ${rowRef(table, i)}, column "${this.name}": value ${showValue(cell)} is not a number (the feature is numeric)`);
        }
        this.numeric = false;
      } else {
        if (x < this.min) this.min = x;
        if (x > this.max) this.max = x;
        this.sum += x;
        this.plain.add(x);
        this.scaled.add(x * SMALL);
      }
    }
    if (type === 'boolean' && facts.booleanValue === null) {
      throw new MultilossError('data', `${table.source}: ${rowRef(table, i)}, column "${this.name}": value ${showValue(cell)} is not a boolean (expected true/false or 1/0)`);
    }
    if (type === undefined && this.boolean && !facts.isBoolean) this.boolean = false;
    if (!this.categories && type === undefined && !this.numeric && !this.boolean) {
      this.categories = new Set();
      this.incomplete = this.present > 1;
    }
    this.categories?.add(facts.category);
  }

  /** Adds a present value's category (the second pass of a column found categorical late). */
  addCategory(facts: CellFacts): void {
    if (!facts.missing) (this.categories as Set<string>).add(facts.category);
  }

  finish(source: string): FeatureJSON {
    if (this.present === 0) {
      throw new MultilossError('data', `${source}: feature column "${this.name}" has no values in the training rows (all ${this.rows} missing)`);
    }
    const hasMissing = this.present < this.rows;
    const type: ColumnType = this.declared ?? (this.numeric ? 'numeric' : this.boolean ? 'boolean' : 'categorical');
    switch (type) {
      case 'numeric': {
        if (this.min === this.max) return { name: this.name, type, mean: this.min, std: 1, missingIndicator: hasMissing };
        let mean = this.sum / this.present;
        let std = Math.sqrt(this.plain.m2 / this.present);
        if (!Number.isFinite(mean) || !Number.isFinite(std)) {
          mean = this.scaled.mean / SMALL;
          std = Math.sqrt(this.scaled.m2 / this.present) / SMALL;
        }
        return { name: this.name, type, mean, std: std > 0 && Number.isFinite(std) ? std : 1, missingIndicator: hasMissing };
      }
      case 'boolean':
        return { name: this.name, type, missingIndicator: hasMissing };
      case 'categorical': {
        if (this.incomplete) throw new Error(`feature "${this.name}": its categories need the pass of addCategories before finish`);
        const categories = [...(this.categories as Set<string>)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        return { name: this.name, type, categories };
      }
    }
  }
}

/**
 * Fits the feature preprocessing chunk by chunk. Columns are tracked from the
 * moment they appear (JSON lines may add keys later; the rows before count as
 * missing). `add` receives the training rows only, after missing-value
 * normalisation.
 */
export class StreamingPreprocessorFit {
  private readonly columns = new Map<string, ColumnFitter>();
  private rows = 0;

  constructor(
    /** Declared features (config), or undefined: every column passing `include`. */
    private readonly features: readonly FeatureSpec[] | undefined,
    private readonly include: (column: string) => boolean,
  ) {
    if (features) {
      const names = new Set<string>();
      for (const f of features) {
        if (names.has(f.name)) throw new MultilossError('config', `feature "${f.name}" is listed twice`);
        names.add(f.name);
      }
    }
  }

  /** The fitter of column `name` (first seen with the schema's type `declared`, if any). */
  private fitter(name: string, declared: ColumnType | undefined): ColumnFitter | undefined {
    let f = this.columns.get(name);
    if (f) return f;
    const spec = this.features ? this.features.find((s) => s.name === name) : this.include(name) ? { name } : undefined;
    if (!spec) return undefined;
    f = new ColumnFitter(name, spec.type ?? declared);
    f.addMissing(this.rows);
    this.columns.set(name, f);
    return f;
  }

  /** Adds a chunk of training rows. */
  add(table: Table): void {
    const tracked: { factsAt: (i: number) => CellFacts; f: ColumnFitter }[] = [];
    table.columns.forEach((c, j) => {
      const f = this.fitter(c, table.data[j].declaredType);
      if (f) tracked.push({ factsAt: factsReader(table.data[j]), f });
    });
    const seen = new Set(tracked.map((t) => t.f));
    // Row by row (not column by column): the first bad value met is the first in the file.
    for (let i = 0; i < table.length; i++) {
      for (const { factsAt, f } of tracked) f.add(factsAt(i), table, i);
    }
    for (const f of this.columns.values()) if (!seen.has(f)) f.addMissing(table.length);
    this.rows += table.length;
  }

  /**
   * The columns that turned out categorical after values whose categories were not kept: once
   * every training row was added, they need `addCategories` over the same rows again.
   */
  categoryColumns(): string[] {
    return [...this.columns.values()].filter((f) => f.incomplete).map((f) => f.name);
  }

  /** Adds the categories of a chunk of training rows (the same chunks as `add`) for `categoryColumns`. */
  addCategories(table: Table): void {
    for (const f of this.columns.values()) {
      if (!f.incomplete) continue;
      const j = table.columns.indexOf(f.name);
      if (j < 0) continue;
      const factsAt = factsReader(table.data[j]);
      for (let i = 0; i < table.length; i++) f.addCategory(factsAt(i));
    }
  }

  /** Marks the second pass done: `finish` may now read the categories it collected. */
  categoriesAdded(): void {
    for (const f of this.columns.values()) f.incomplete = false;
  }

  /** The fitted preprocessing; `columns` are the file's columns (for the error naming an absent feature). */
  finish(source: string, columns: readonly string[]): FeaturePreprocessor {
    const specs = this.features ?? columns.filter((c) => this.include(c)).map((name) => ({ name }));
    if (specs.length === 0) throw new MultilossError('config', `${source}: no feature columns left once the targets are taken out`);
    const fitted = specs.map((s) => {
      const f = this.columns.get(s.name);
      if (!f) {
        throw new MultilossError('data', `${source}: feature column "${s.name}" not found; available columns: ${columns.map((c) => `"${c}"`).join(', ') || '(none)'}`);
      }
      return f.finish(source);
    });
    return FeaturePreprocessor.fromJSON({ version: 1, features: fitted });
  }
}
