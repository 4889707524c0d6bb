// The cell: one value as read from CSV/JSON, and the one rule for reading it as a number. The
// lowest module of data/ (the column stores, type inference and tables all build on it).

/** What a feature column is: numbers, categories or booleans. */
export type ColumnType = 'numeric' | 'categorical' | 'boolean';

/** A cell as read from CSV/JSON: missing values are `null` after parsing. */
export type Cell = string | number | boolean | null;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Whether `s` is plain decimal notation with optional sign, fraction and exponent — the language
 * of /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/: "1", "-0", ".5", "5.", "1e3", "+2.5E-3";
 * no hex, no separators, no "Infinity". A scan of the characters: every cell of a numeric column
 * goes through here, and the regular expression cost several times more.
 */
export function isDecimalText(s: string): boolean {
  const n = s.length;
  let i = 0;
  let c = s.charCodeAt(0);
  if (c === 43 || c === 45) i++; // + -
  let digits = 0;
  while (i < n && isDigit(s.charCodeAt(i))) {
    i++;
    digits++;
  }
  if (i < n && s.charCodeAt(i) === 46) {
    i++;
    while (i < n && isDigit(s.charCodeAt(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return false;
  if (i < n && ((c = s.charCodeAt(i)) === 101 || c === 69)) {
    i++;
    if (i < n && ((c = s.charCodeAt(i)) === 43 || c === 45)) i++;
    const start = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === start) return false;
  }
  return i === n;
}

/** Whether trimming could change `s`: its first or last character is not printable ASCII. */
function mayTrim(s: string): boolean {
  const first = s.charCodeAt(0);
  const last = s.charCodeAt(s.length - 1);
  return !(first > 32 && first < 127 && last > 32 && last < 127);
}

/**
 * The finite number a cell holds, or null. Numbers must be finite; strings are
 * trimmed and must be plain decimal notation (`1e3`, `-0`, `.5`) whose value is
 * finite (`1e309` overflows → null). Thousands separators (`1,000`), hex,
 * `NaN`/`Infinity`, empty strings and booleans → null.
 */
export function parseNumber(cell: Cell): number | null {
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : null;
  if (typeof cell !== 'string') return null;
  const s = cell.length > 0 && mayTrim(cell) ? cell.trim() : cell;
  if (s.length === 0 || !isDecimalText(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}
