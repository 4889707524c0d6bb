/**
 * Train/validation splits and row selection.
 *
 * One rule for every front door (the library API, config/CLI training,
 * streaming, images), so that the same data, seed and fraction hold out the
 * same rows. The rule is decided row by row, in row order, from the row's
 * index, the seed and the counts of the row's stratum — so a stream that
 * counted its strata in one pass can apply it without holding the rows:
 *
 * - Rows without any label take no part (they are dropped everywhere); every
 *   other row has a stratum (the first classification head's class, null
 *   when that label is missing; one stratum for all rows when not stratified).
 * - A stratum of `size` rows gives k = round(fraction · size) rows to
 *   validation, by selection sampling (Knuth's Algorithm S): walking its rows
 *   in index order, row r is held out when `splitHash(seed, r) · left < needed`,
 *   where `left` counts the stratum's rows not yet decided and `needed` the
 *   validation rows still to take. Exactly k rows are taken, every k-subset
 *   of the stratum being equally likely over seeds.
 */
import { MultilossError } from '../errors.js';
import type { Table } from './table.js';

export interface TrainValidationSplit {
  train: number[];
  validation: number[];
}

/**
 * A row's stratum: a class label, or null for a row whose stratifying label
 * is missing (a group of its own, distinct from the string "null").
 */
export type Stratum = string | null;

/** The split's parameters: the validation share (0 ≤ fraction < 1) and the seed. */
export interface SplitRule {
  fraction: number;
  seed: number;
}

/** murmur3's 32-bit finaliser. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A number in [0, 1) fixed by the seed and the data row index (0-based): the row's draw in the split. */
export function splitHash(seed: number, row: number): number {
  const s = fmix32((Math.trunc(seed) ^ 0x9e3779b9) >>> 0);
  const hi = Math.floor(row / 2 ** 32);
  return fmix32((s ^ fmix32((row >>> 0) ^ Math.imul(hi, 0x27d4eb2d))) >>> 0) / 2 ** 32;
}

function checkFraction(fraction: number): void {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new MultilossError('config', `split: the validation fraction must be in [0, 1), got ${fraction}`);
  }
}

/** The number of rows held out of a stratum of `size` rows. */
export function validationShare(fraction: number, size: number): number {
  return Math.round(fraction * size);
}

/** Adds the rows' strata to `counts` (a row whose stratum is `undefined`, or whose code is -1, takes no part). */
export function countStrata(strata: Iterable<Stratum | undefined> | StratumCodes, counts = new Map<Stratum, number>()): Map<Stratum, number> {
  if ('codes' in strata) {
    for (const c of strata.codes) if (c >= 0) counts.set(strata.strata[c], (counts.get(strata.strata[c]) ?? 0) + 1);
    return counts;
  }
  for (const s of strata) if (s !== undefined) counts.set(s, (counts.get(s) ?? 0) + 1);
  return counts;
}

/**
 * Applies the split rule (see the module comment) row by row: give each row
 * that takes part, in increasing row index, with its stratum. `counts` are
 * the strata's sizes over those rows (a first pass over a stream gathers them).
 */
export class ValidationSelector {
  private readonly left = new Map<Stratum, { rows: number; needed: number }>();
  private lastRow = -1;

  constructor(
    private readonly rule: SplitRule,
    counts: ReadonlyMap<Stratum, number>,
  ) {
    checkFraction(rule.fraction);
    for (const [stratum, size] of counts) this.left.set(stratum, { rows: size, needed: validationShare(rule.fraction, size) });
  }

  /** Whether row `row` (0-based index among the data rows) is held out. */
  isValidation(row: number, stratum: Stratum): boolean {
    if (!Number.isInteger(row) || row <= this.lastRow) throw new RangeError(`split: row ${row} after row ${this.lastRow}; rows must come once each, in increasing order`);
    this.lastRow = row;
    const s = this.left.get(stratum);
    if (s === undefined || s.rows === 0) {
      throw new MultilossError('data', `split: more rows of stratum ${JSON.stringify(stratum)} than the first pass counted; the data must give the same rows every time it is read`);
    }
    const held = splitHash(this.rule.seed, row) * s.rows < s.needed;
    s.rows--;
    if (held) s.needed--;
    return held;
  }
}

/**
 * Each row's stratum as an index into `strata` (-1 for a row that takes no part): 4 bytes a row,
 * where an array of strata holds a pointer a row and builds on the heap.
 */
export interface StratumCodes {
  codes: Int32Array;
  /** The distinct strata. */
  strata: readonly Stratum[];
}

/** A split's rows as typed arrays (ascending; shared, not copied, by `selectRows`). */
export interface RowSplit {
  train: Uint32Array;
  validation: Uint32Array;
}

/** The strata of rows 0..n-1 as codes: `stratumAt(i)` is row i's stratum (`undefined`: no part). */
export function stratumCodes(n: number, stratumAt: (i: number) => Stratum | undefined): StratumCodes {
  const index = new Map<Stratum, number>();
  const distinct: Stratum[] = [];
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const s = stratumAt(i);
    if (s === undefined) {
      codes[i] = -1;
      continue;
    }
    let c = index.get(s);
    if (c === undefined) {
      c = distinct.length;
      distinct.push(s);
      index.set(s, c);
    }
    codes[i] = c;
  }
  return { codes, strata: distinct };
}

/**
 * {@link splitTrainValidation} with the strata as codes and the rows as typed arrays, sized
 * exactly (each stratum's share is known from its count): what a table of a million rows splits
 * with. Without `strata` every row takes part, in one stratum.
 */
export function splitRows(n: number, fraction: number, seed: number, strata?: StratumCodes): RowSplit {
  if (!Number.isInteger(n) || n < 0) {
    throw new MultilossError('config', `split: the row count must be a non-negative integer, got ${n}`);
  }
  checkFraction(fraction);
  if (strata !== undefined && strata.codes.length !== n) {
    throw new MultilossError('config', `split: ${strata.codes.length} strata given for ${n} rows`);
  }
  const names: readonly Stratum[] = strata ? strata.strata : [''];
  const counts = strata ? countStrata(strata) : new Map<Stratum, number>([['', n]]);
  let held = 0;
  let taking = 0;
  for (const size of counts.values()) {
    held += validationShare(fraction, size);
    taking += size;
  }
  const selector = new ValidationSelector({ fraction, seed }, counts);
  const train = new Uint32Array(taking - held);
  const validation = new Uint32Array(held);
  let t = 0;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = strata ? strata.codes[i] : 0;
    if (c < 0) continue;
    if (selector.isValidation(i, names[c])) validation[v++] = i;
    else train[t++] = i;
  }
  return { train, validation };
}

/**
 * Splits row indices 0..n-1 into train and validation by the rule of the
 * module comment: seeded and deterministic (same n, fraction, seed and strata
 * → same split), each stratum giving round(fraction·size) rows to validation.
 *
 * `strata` has one entry per row: the row's stratum, or `undefined` for a row
 * that takes no part (a row without any label: in neither list). Without
 * `strata` every row takes part, in one stratum. Both lists are ascending.
 */
export function splitTrainValidation(
  n: number,
  fraction: number,
  seed: number,
  strata?: ReadonlyArray<Stratum | undefined>,
): TrainValidationSplit {
  if (strata !== undefined && strata.length !== n) {
    throw new MultilossError('config', `split: ${strata.length} strata given for ${n} rows`);
  }
  const split = splitRows(n, fraction, seed, strata === undefined ? undefined : stratumCodes(n, (i) => strata[i]));
  return { train: Array.from(split.train), validation: Array.from(split.validation) };
}

/** The rows at `indices` (in that order), keeping `lines` and the original row numbers; the source is unchanged. */
export function selectRows(table: Table, indices: ArrayLike<number>): Table {
  const n = table.length;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new RangeError(`selectRows: index ${i} is out of range for ${n} rows of ${table.source}`);
    }
  }
  // One index array for every column (a column's select holds a Uint32Array, it does not copy it);
  // a Uint32Array given is shared the same way, so it must not change afterwards.
  const rows = indices instanceof Uint32Array ? indices : Uint32Array.from(indices);
  const out: Table = {
    columns: [...table.columns],
    data: table.data.map((c) => c.select(rows)),
    length: indices.length,
    source: table.source,
  };
  if (table.lines) {
    const lines = table.lines;
    out.lines = rows.map((i) => lines[i]);
  }
  const numbers = table.rowNumbers;
  out.rowNumbers = rows.map((i) => (numbers ? numbers[i] : i + 1));
  return out;
}
