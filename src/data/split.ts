/**
 * Train/validation splits and row selection.
 */
import { MultilossError } from '../errors.js';
import { Rng } from '../training/rng.js';
import type { Table } from './table.js';

export interface TrainValidationSplit {
  train: number[];
  validation: number[];
}

/**
 * Splits row indices 0..n-1 into train and validation, seeded and
 * deterministic (same n, fraction, seed and strata → same split).
 *
 * `fraction` (0 ≤ fraction < 1) is the validation share. Without strata,
 * round(fraction·n) shuffled rows go to validation. With strata (one entry per
 * row; null is a group of its own, distinct from the string "null"), every
 * stratum — taken in order of first appearance — is shuffled and contributes
 * round(fraction·size) rows. Both lists are returned sorted ascending.
 */
export function splitTrainValidation(
  n: number,
  fraction: number,
  seed: number,
  strata?: ReadonlyArray<string | null>,
): TrainValidationSplit {
  if (!Number.isInteger(n) || n < 0) {
    throw new MultilossError('config', `split: the row count must be a non-negative integer, got ${n}`);
  }
  if (!(fraction >= 0 && fraction < 1)) {
    throw new MultilossError('config', `split: the validation fraction must be in [0, 1), got ${fraction}`);
  }
  if (strata !== undefined && strata.length !== n) {
    throw new MultilossError('config', `split: ${strata.length} strata given for ${n} rows`);
  }
  const rng = new Rng(seed);
  const groups: number[][] = [];
  if (strata === undefined) {
    groups.push(Array.from({ length: n }, (_, i) => i));
  } else {
    const byKey = new Map<string | null, number[]>();
    for (let i = 0; i < n; i++) {
      const key = strata[i];
      let g = byKey.get(key);
      if (g === undefined) {
        g = [];
        byKey.set(key, g);
        groups.push(g);
      }
      g.push(i);
    }
  }
  const train: number[] = [];
  const validation: number[] = [];
  for (const g of groups) {
    rng.shuffle(g);
    const k = Math.round(fraction * g.length);
    for (let i = 0; i < g.length; i++) (i < k ? validation : train).push(g[i]);
  }
  const asc = (a: number, b: number): number => a - b;
  return { train: train.sort(asc), validation: validation.sort(asc) };
}

/** The rows at `indices` (in that order), keeping `lines` and the original row numbers; the source is unchanged. */
export function selectRows(table: Table, indices: readonly number[]): Table {
  const n = table.rows.length;
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new RangeError(`selectRows: index ${i} is out of range for ${n} rows of ${table.source}`);
    }
  }
  const out: Table = {
    columns: [...table.columns],
    rows: indices.map((i) => [...table.rows[i]]),
    source: table.source,
  };
  if (table.lines) {
    const lines = table.lines;
    out.lines = indices.map((i) => lines[i]);
  }
  const numbers = table.rowNumbers;
  out.rowNumbers = indices.map((i) => (numbers ? numbers[i] : i + 1));
  return out;
}
