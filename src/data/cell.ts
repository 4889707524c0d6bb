// The cell: one value as read from CSV/JSON, and the one rule for reading it as a number. The
// lowest module of data/ (the column stores, type inference and tables all build on it).

/** What a feature column is: numbers, categories or booleans. */
export type ColumnType = 'numeric' | 'categorical' | 'boolean';

/** A cell as read from CSV/JSON: missing values are `null` after parsing. */
export type Cell = string | number | boolean | null;

// Plain decimal notation with optional sign, fraction and exponent:
// "1", "-0", ".5", "5.", "1e3", "+2.5E-3". No hex, no separators, no "Infinity".
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The finite number a cell holds, or null. Numbers must be finite; strings are
 * trimmed and must be plain decimal notation (`1e3`, `-0`, `.5`) whose value is
 * finite (`1e309` overflows → null). Thousands separators (`1,000`), hex,
 * `NaN`/`Infinity`, empty strings and booleans → null.
 */
export function parseNumber(cell: Cell): number | null {
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : null;
  if (typeof cell !== 'string') return null;
  const s = cell.trim();
  if (!DECIMAL.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}
