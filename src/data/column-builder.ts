/**
 * Filling one column from the values a binary reader (Parquet, Arrow) decodes, by what the
 * file's schema says the column is. Missing values follow the text readers' rules: null and
 * NaN are missing (as an empty cell or "NaN" in a CSV); ±Infinity is an error naming the row
 * (as in JSON). A 64-bit integer beyond ±(2^53 − 1), which no float64 holds exactly, is an error
 * naming the row rather than a rounded number (read the other columns, or store such ids as
 * strings: a string column stays exact text). Dates and timestamps become their ISO text, as
 * they read in a CSV.
 */
import { MultilossError } from '../errors.js';
import type { ColumnValues } from './columns.js';
import { showValue } from './rowref.js';

/** The largest integer a float64 holds exactly (and every integer below it). */
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** What a column's values are: numbers (ints, floats, decimals), booleans, text, dates or timestamps. */
export type ValueKind = 'numeric' | 'boolean' | 'text' | 'date' | 'timestamp';

export interface ColumnBuilder {
  /** Sets row `i` (0-based in this column) from a decoded value. */
  set(i: number, value: unknown): void;
  done(): ColumnValues;
}

/** A date or timestamp (a Date, or milliseconds since the epoch) as ISO text; `day` keeps only the date. */
function isoText(value: unknown, day: boolean): string | null {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'bigint' ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isFinite(ms)) return null;
  const iso = new Date(ms).toISOString();
  return day ? iso.slice(0, 10) : iso;
}

/**
 * A builder for a column of `rows` values of `kind`; `firstRow` is the 1-based row of the file
 * that value 0 is, for messages.
 */
export function columnBuilder(name: string, kind: ValueKind, rows: number, source: string, firstRow: number): ColumnBuilder {
  const bad = (i: number, what: string): MultilossError => new MultilossError('data', `${source}: row ${firstRow + i}, column "${name}": ${what}`);
  if (kind === 'numeric') {
    const values = new Float64Array(rows);
    const missing = new Uint8Array(rows);
    return {
      set(i, value) {
        if (typeof value === 'bigint' && (value > MAX_EXACT || value < -MAX_EXACT)) {
          throw bad(i, `the 64-bit integer ${value} is beyond ±(2^53 − 1), the largest a number holds exactly (leave the column out of the features, or store it as a string)`);
        }
        const x = typeof value === 'bigint' ? Number(value) : value;
        if (x === null || x === undefined || (typeof x === 'number' && Number.isNaN(x))) {
          missing[i] = 1;
        } else if (typeof x !== 'number') {
          throw bad(i, `expected a number, got ${showValue(String(x))}`);
        } else if (!Number.isFinite(x)) {
          throw bad(i, `the number ${String(x)} is not finite`);
        } else {
          values[i] = x;
        }
      },
      done: () => ({ name, type: 'numeric', values, missing }),
    };
  }
  if (kind === 'boolean') {
    const values = new Array<boolean | null>(rows).fill(null);
    return {
      set(i, value) {
        if (value === null || value === undefined) return;
        if (typeof value !== 'boolean') throw bad(i, `expected a boolean, got ${showValue(String(value))}`);
        values[i] = value;
      },
      done: () => ({ name, type: 'boolean', values }),
    };
  }
  const values = new Array<string | null>(rows).fill(null);
  return {
    set(i, value) {
      if (value === null || value === undefined) return;
      if (kind === 'text') {
        if (typeof value !== 'string') throw bad(i, 'holds binary data, not text');
        values[i] = value;
      } else {
        values[i] = isoText(value, kind === 'date');
      }
    },
    done: () => ({ name, type: 'categorical', values }),
  };
}
