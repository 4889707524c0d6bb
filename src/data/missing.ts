import type { Table } from './table.js';

/** Strings treated as "missing" by default (compared after trimming). */
export const DEFAULT_MISSING: readonly string[] = ['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None', '?'];

/** Every cell value read as missing: the defaults plus a configuration's own `missingValues`. */
export function missingTokens(extra: readonly string[] = []): string[] {
  return [...DEFAULT_MISSING, ...extra];
}

/**
 * Returns a new table (same columns, source and lines) in which every string
 * cell equal, after trimming, to one of `tokens` is null. Numbers and booleans
 * are never changed. The input table is not modified.
 */
export function normalizeMissing(table: Table, tokens: readonly string[] = DEFAULT_MISSING): Table {
  const set = new Set(tokens.map((t) => t.trim()));
  const out: Table = { columns: [...table.columns], data: table.data.map((c) => c.withMissing(set)), length: table.length, source: table.source };
  if (table.lines) out.lines = table.lines;
  return out;
}
