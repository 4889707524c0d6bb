/**
 * JSON / JSON-lines reading and plain-object rows → {@link Table}. Browser-safe.
 */
import { MultilossError } from '../errors.js';
import type { Cell, Table } from './table.js';
import { TableBuilder } from './table-build.js';

/**
 * Separator used when an array of primitives is flattened into one cell
 * (`["a", "b"]` → `"a|b"`); it is the multilabel separator.
 */
export const MULTILABEL_SEPARATOR = '|';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** `where` is e.g. "row 3" or "line 7"; used in every message about one row. */
function toCell(value: unknown, source: string, where: string, key: string): Cell {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new MultilossError('data', `${source}: ${where}, key "${key}": the number ${String(value)} is not finite`);
      }
      return value;
    default:
      break;
  }
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === null || item === undefined) continue;
      if (typeof item === 'string' || typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item))) {
        const text = String(item);
        if (text.includes(MULTILABEL_SEPARATOR)) {
          throw new MultilossError(
            'data',
            `${source}: ${where}, key "${key}": array item ${JSON.stringify(text)} contains "${MULTILABEL_SEPARATOR}", the multilabel separator`,
          );
        }
        parts.push(text);
      } else {
        throw new MultilossError(
          'data',
          `${source}: ${where}, key "${key}": array item ${i + 1} is ${typeName(item)}; only arrays of strings, numbers or booleans are supported`,
        );
      }
    }
    return parts.join(MULTILABEL_SEPARATOR);
  }
  throw new MultilossError('data', `${source}: ${where}, key "${key}": nested ${typeName(value).replace(/^an? /, '')} values are not supported`);
}

/** Plain objects → Table (columns = union of keys, first-seen order); `lineOf` gives each object's source line (JSON lines). */
export function objectsToTable(objects: readonly unknown[], source: string, lineOf?: (i: number) => number): Table {
  const where = (i: number): string => (lineOf ? `line ${lineOf(i)}` : `row ${i + 1}`);
  const index = new Map<string, number>();
  const columns: string[] = [];
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i];
    if (!isPlainObject(obj)) {
      throw new MultilossError('data', `${source}: ${where(i)} is ${typeName(obj)}, expected an object of column → value`);
    }
    for (const key of Object.keys(obj)) {
      if (!index.has(key)) {
        index.set(key, columns.length);
        columns.push(key);
      }
    }
  }
  const builder = new TableBuilder(columns, !!lineOf);
  const row: Cell[] = new Array<Cell>(columns.length);
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i] as Record<string, unknown>;
    row.fill(null);
    for (const key of Object.keys(obj)) {
      row[index.get(key) as number] = toCell(obj[key], source, where(i), key);
    }
    builder.push(row, lineOf?.(i));
  }
  return builder.finish(source);
}

/** 1-based line and column of a character offset. */
function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

export function jsonErrorDetail(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
}

function parseJsonArray(text: string, source: string): Table {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const detail = jsonErrorDetail(e);
    const m = /position (\d+)/.exec(detail);
    const at = m ? lineColumnAt(text, Number(m[1])) : undefined;
    const place = at ? ` at line ${at.line}, column ${at.column}` : '';
    throw new MultilossError('data', `${source}: invalid JSON${place}: ${detail}`);
  }
  if (!Array.isArray(value)) {
    throw new MultilossError('data', `${source}: expected a JSON array of objects (or JSON lines, one object per line), got ${typeName(value)}`);
  }
  return objectsToTable(value, source);
}

function parseJsonLines(text: string, source: string): Table {
  const objects: unknown[] = [];
  const lineNumbers: number[] = [];
  const rawLines = text.split(/\r\n|\n|\r/);
  for (let i = 0; i < rawLines.length; i++) {
    const raw = rawLines[i].trim();
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new MultilossError('data', `${source}: line ${i + 1} is not valid JSON: ${jsonErrorDetail(e)}`);
    }
    objects.push(value);
    lineNumbers.push(i + 1);
  }
  return objectsToTable(objects, source, (k) => lineNumbers[k]);
}

/**
 * Parses a JSON array of objects, or JSON lines (one object per line; blank
 * lines skipped). The format is detected from the first non-space character:
 * `[` → array, `{` → JSON lines (`mode` forces one).
 *
 * Columns are the union of keys in first-seen order; an absent key (or
 * `null`) → null. Strings, numbers and booleans are kept as they are (the
 * string "NaN" stays a string). Arrays of primitives are joined with
 * {@link MULTILABEL_SEPARATOR} (`|`; null items dropped, an empty array gives
 * ""); an item containing `|` is an error. Nested objects / arrays are errors
 * naming the row (or line) and key. For JSON lines, `lines` is recorded.
 */
export function parseJson(text: string, source: string, mode?: 'array' | 'lines'): Table {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const trimmed = body.trim();
  if (trimmed === '') {
    throw new MultilossError('data', `${source}: the file is empty`);
  }
  const chosen = mode ?? (trimmed[0] === '[' ? 'array' : trimmed[0] === '{' ? 'lines' : undefined);
  if (chosen === undefined) {
    const at = lineColumnAt(body, body.length - body.trimStart().length);
    throw new MultilossError(
      'data',
      `${source}: line ${at.line}: expected a JSON array of objects ("[") or JSON lines (one "{...}" object per line), got ${JSON.stringify(trimmed[0])}`,
    );
  }
  return chosen === 'array' ? parseJsonArray(body, source) : parseJsonLines(body, source);
}

/**
 * Builds a Table from plain objects (for library callers), with the same
 * rules as {@link parseJson}. Errors name `row N` (1-based).
 */
export function rowsToTable(rows: readonly Record<string, unknown>[], source = 'rows'): Table {
  if (!Array.isArray(rows)) {
    throw new MultilossError('data', `${source}: expected an array of row objects, got ${typeName(rows)}`);
  }
  return objectsToTable(rows, source);
}
