/**
 * Feature preprocessing: turns table columns into a dense Float32 matrix.
 * Fitted on the training split only; the fitted state round-trips through JSON.
 */
import * as z from 'zod';
import { MultilossError } from '../errors.js';
import { DictionaryColumn, mapCells, NumberColumn, numberReader, SelectedColumn, type Column } from './column.js';
import { inferColumnType, parseBoolean, parseNumber, tableColumn } from './infer.js';
import { rowRef, showValue } from './rowref.js';
import type { Cell, ColumnType, Table } from './table.js';

export interface FeatureSpec {
  name: string;
  /** Inferred from the training values when absent. */
  type?: ColumnType;
}

export interface NumericFeatureJSON {
  name: string;
  type: 'numeric';
  /** Training mean (also the imputed value for missing cells). */
  mean: number;
  /** Training standard deviation (population); 1 when the column was constant. */
  std: number;
  /** Whether a 0/1 "missing" output follows the value (training split had missing cells). */
  missingIndicator: boolean;
}

export interface CategoricalFeatureJSON {
  name: string;
  type: 'categorical';
  /** Categories seen in training, in output order (sorted by code unit at fit time). */
  categories: string[];
}

export interface BooleanFeatureJSON {
  name: string;
  type: 'boolean';
  missingIndicator: boolean;
}

export type FeatureJSON = NumericFeatureJSON | CategoricalFeatureJSON | BooleanFeatureJSON;

export interface PreprocessorJSON {
  version: 1;
  features: FeatureJSON[];
}

/** Name of the extra output holding 1 when a feature's value was missing. */
export const MISSING_SUFFIX = ':missing';
/** Category label of the bucket for unseen and missing categories. */
export const UNKNOWN_CATEGORY = '<unknown>';

const featureSchema = z.discriminatedUnion('type', [
  z.object({
    name: z.string().min(1),
    type: z.literal('numeric'),
    mean: z.number(),
    std: z.number().positive(),
    missingIndicator: z.boolean(),
  }),
  z.object({
    name: z.string().min(1),
    type: z.literal('categorical'),
    categories: z.array(z.string()),
  }),
  z.object({
    name: z.string().min(1),
    type: z.literal('boolean'),
    missingIndicator: z.boolean(),
  }),
]);

const preprocessorSchema = z.object({
  version: z.literal(1),
  features: z.array(featureSchema).min(1),
});

function isMissing(cell: Cell): boolean {
  return cell === null || (typeof cell === 'string' && cell.trim() === '');
}

function categoryOf(cell: Cell): string {
  return String(cell).trim();
}

/** 1/0 for booleans, "true"/"false" (any case) and 0/1 (number or string); otherwise null. */
function booleanValue(cell: Cell): number | null {
  const b = parseBoolean(cell);
  if (b !== null) return b ? 1 : 0;
  const n = parseNumber(cell);
  return n === 0 || n === 1 ? n : null;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function outputWidth(f: FeatureJSON): number {
  switch (f.type) {
    case 'numeric':
    case 'boolean':
      return f.missingIndicator ? 2 : 1;
    case 'categorical':
      return f.categories.length + 1;
  }
}

function outputNamesOf(f: FeatureJSON): string[] {
  switch (f.type) {
    case 'numeric':
    case 'boolean':
      return f.missingIndicator ? [f.name, `${f.name}${MISSING_SUFFIX}`] : [f.name];
    case 'categorical':
      return [...f.categories.map((c) => `${f.name}=${c}`), `${f.name}=${UNKNOWN_CATEGORY}`];
  }
}

function cloneFeature(f: FeatureJSON): FeatureJSON {
  return f.type === 'categorical' ? { ...f, categories: [...f.categories] } : { ...f };
}

function availableColumns(table: Table): string {
  return table.columns.map((c) => `"${c}"`).join(', ') || '(none)';
}

/**
 * Mean and population std of values so large that the plain sums overflow
 * (|x| near 1e308): computed on x / c, with c the largest |x|, then scaled back.
 */
function scaledMeanStd(each: (f: (x: number) => void) => void, count: number, c: number): { mean: number; std: number } {
  let m = 0;
  each((x) => (m += x / c / count));
  let ss = 0;
  each((x) => (ss += (x / c - m) * (x / c - m)));
  return { mean: m * c, std: Math.sqrt(ss / count) * c };
}

/** Whether row i of `column` is missing (null or blank): read per dictionary entry where the column has one. */
function missingOf(column: Column): (i: number) => boolean {
  if (column instanceof SelectedColumn) {
    const inner = missingOf(column.base);
    const rows = column.rows;
    return (i) => inner(rows[i]);
  }
  if (column instanceof NumberColumn) {
    return column.others.size === 0 ? (i) => column.missing[i] === 1 : (i) => isMissing(column.get(i));
  }
  return mapCells(column, isMissing);
}

/** The type of the present cells of `column`, as {@link inferColumnType} gives it (only the distinct values decide it; a schema's type first). */
function inferPresent(column: Column, missingAt: (i: number) => boolean): ColumnType {
  if (column.declaredType) return column.declaredType;
  const base = column instanceof SelectedColumn ? column.base : column;
  if (base instanceof NumberColumn && base.others.size === 0) return 'numeric';
  if (base instanceof DictionaryColumn) {
    const codeAt = column instanceof SelectedColumn ? (i: number) => base.codes[column.rows[i]] : (i: number) => base.codes[i];
    const used = new Set<number>();
    for (let i = 0; i < column.length; i++) if (!missingAt(i)) used.add(codeAt(i));
    return inferColumnType([...used].map((c) => base.dictionary[c]));
  }
  const cells: Cell[] = [];
  for (let i = 0; i < column.length; i++) if (!missingAt(i)) cells.push(column.get(i));
  return inferColumnType(cells);
}

function fitFeature(table: Table, spec: FeatureSpec): FeatureJSON {
  const column = tableColumn(table, spec.name);
  const n = column.length;
  const missingAt = missingOf(column);
  let present = 0;
  for (let row = 0; row < n; row++) if (!missingAt(row)) present++;
  if (present === 0) {
    throw new MultilossError(
      'data',
      `${table.source}: feature column "${spec.name}" has no values in the training rows (all ${n} missing)`,
    );
  }
  const hasMissing = present < n;
  const type = spec.type ?? inferPresent(column, missingAt);
  switch (type) {
    case 'numeric': {
      // The present values in row order, read twice (sums, then squares) rather than copied.
      const numberOf = numberReader(column);
      const each = (f: (x: number) => void): void => {
        for (let row = 0; row < n; row++) {
          if (missingAt(row)) continue;
          const x = numberOf(row);
          if (x === null) {
            throw new MultilossError(
              'data',
              `${table.source}: ${rowRef(table, row)}, column "${spec.name}": value ${showValue(column.get(row))} is not a number (the feature is numeric)`,
            );
          }
          f(x);
        }
      };
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      each((x) => {
        if (x < min) min = x;
        if (x > max) max = x;
        sum += x;
      });
      if (min === max) {
        return { name: spec.name, type, mean: min, std: 1, missingIndicator: hasMissing };
      }
      let mean = sum / present;
      let ss = 0;
      each((x) => (ss += (x - mean) * (x - mean)));
      let std = Math.sqrt(ss / present);
      if (!Number.isFinite(mean) || !Number.isFinite(std)) ({ mean, std } = scaledMeanStd(each, present, Math.max(-min, max)));
      return { name: spec.name, type, mean, std: std > 0 && Number.isFinite(std) ? std : 1, missingIndicator: hasMissing };
    }
    case 'boolean': {
      const valueAt = mapCells(column, booleanValue);
      for (let row = 0; row < n; row++) {
        if (!missingAt(row) && valueAt(row) === null) {
          throw new MultilossError(
            'data',
            `${table.source}: ${rowRef(table, row)}, column "${spec.name}": value ${showValue(column.get(row))} is not a boolean (expected true/false or 1/0)`,
          );
        }
      }
      return { name: spec.name, type, missingIndicator: hasMissing };
    }
    case 'categorical': {
      const set = new Set<string>();
      const categoryAt = mapCells(column, (cell) => (isMissing(cell) ? '' : categoryOf(cell)));
      for (let row = 0; row < n; row++) if (!missingAt(row)) set.add(categoryAt(row));
      return { name: spec.name, type, categories: [...set].sort(compareCodeUnits) };
    }
  }
}

export class FeaturePreprocessor {
  readonly outputSize: number;
  readonly outputNames: string[];
  readonly features: ReadonlyArray<{ name: string; type: ColumnType }>;
  private readonly fitted: FeatureJSON[];

  private constructor(fitted: FeatureJSON[]) {
    this.fitted = fitted;
    this.outputNames = fitted.flatMap(outputNamesOf);
    this.outputSize = this.outputNames.length;
    this.features = Object.freeze(fitted.map((f) => Object.freeze({ name: f.name, type: f.type })));
  }

  /**
   * Fits on the TRAINING split only. Numeric: mean/std standardization (std 1
   * for a constant column), missing → mean plus a 0/1 missing indicator when
   * training had missing cells. Categorical: one-hot over the sorted training
   * categories plus an unknown bucket. Boolean: 1/0, missing → 0.5 plus an
   * indicator when training had missing cells. Missing = null or blank string.
   */
  static fit(table: Table, features: FeatureSpec[]): FeaturePreprocessor {
    if (features.length === 0) {
      throw new MultilossError('config', `${table.source}: no features given to preprocess`);
    }
    const names = new Set<string>();
    for (const f of features) {
      if (names.has(f.name)) throw new MultilossError('config', `feature "${f.name}" is listed twice`);
      names.add(f.name);
      if (!table.columns.includes(f.name)) {
        throw new MultilossError(
          'data',
          `${table.source}: feature column "${f.name}" not found; available columns: ${availableColumns(table)}`,
        );
      }
    }
    return new FeaturePreprocessor(features.map((f) => fitFeature(table, f)));
  }

  /** Rebuilds a fitted preprocessor; throws MultilossError('model') when `json` is malformed. */
  static fromJSON(json: unknown): FeaturePreprocessor {
    const parsed = preprocessorSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      throw new MultilossError('model', `invalid feature preprocessor: ${path}: ${issue.message}`);
    }
    const names = new Set<string>();
    for (const f of parsed.data.features) {
      if (names.has(f.name)) {
        throw new MultilossError('model', `invalid feature preprocessor: feature "${f.name}" appears twice`);
      }
      names.add(f.name);
      if (f.type === 'categorical' && new Set(f.categories).size !== f.categories.length) {
        throw new MultilossError('model', `invalid feature preprocessor: feature "${f.name}" has duplicate categories`);
      }
    }
    return new FeaturePreprocessor(parsed.data.features.map((f) => cloneFeature(f as FeatureJSON)));
  }

  toJSON(): PreprocessorJSON {
    return { version: 1, features: this.fitted.map(cloneFeature) };
  }

  /** Row-major n × outputSize matrix. Unseen or missing categories go to the unknown bucket. */
  transform(table: Table): Float32Array {
    const out = new Float32Array(table.length * this.outputSize);
    this.checkColumns(table);
    for (let k = 0; k < this.fitted.length; k++) this.transformFeature(table, k, out);
    return out;
  }

  /** An error naming the feature columns `table` lacks. */
  checkColumns(table: Table): void {
    const missingCols = this.fitted.filter((f) => !table.columns.includes(f.name)).map((f) => `"${f.name}"`);
    if (missingCols.length > 0) {
      throw new MultilossError(
        'data',
        `${table.source}: feature column${missingCols.length > 1 ? 's' : ''} ${missingCols.join(', ')} missing; available columns: ${availableColumns(table)}`,
      );
    }
  }

  /**
   * Writes feature `k`'s outputs for every row of `table` into `out` (row-major n × outputSize, as
   * `transform` gives): a caller encoding column by column can let each column go once written.
   */
  transformFeature(table: Table, k: number, out: Float32Array): void {
    const n = table.length;
    const f = this.fitted[k];
    let offset = 0;
    for (let j = 0; j < k; j++) offset += outputWidth(this.fitted[j]);
    const column = tableColumn(table, f.name);
    const missingAt = missingOf(column);
    const stride = this.outputSize;
    switch (f.type) {
      case 'numeric': {
        const numberOf = numberReader(column);
        for (let i = 0; i < n; i++) {
          const at = i * stride + offset;
          if (missingAt(i)) {
            out[at] = 0;
            if (f.missingIndicator) out[at + 1] = 1;
            continue;
          }
          const x = numberOf(i);
          if (x === null) {
            const cell = column.get(i);
            throw new MultilossError(
              'data',
              `${table.source}: ${rowRef(table, i)}, column "${f.name}": value ${showValue(cell)} is not a number (the feature is numeric)`,
            );
          }
          out[at] = (x - f.mean) / f.std;
          if (!Number.isFinite(out[at])) {
            const cell = column.get(i);
            // Beyond float32 (±3.4e38) once standardized: the network would see an infinity.
            throw new MultilossError(
              'data',
              `${table.source}: ${rowRef(table, i)}, column "${f.name}": value ${showValue(cell)} is out of range (standardized with the training mean ${f.mean} and std ${f.std} it exceeds ±3.4e38)`,
            );
          }
        }
        break;
      }
      case 'boolean': {
        const valueAt = mapCells(column, booleanValue);
        for (let i = 0; i < n; i++) {
          const at = i * stride + offset;
          if (missingAt(i)) {
            out[at] = 0.5;
            if (f.missingIndicator) out[at + 1] = 1;
            continue;
          }
          const b = valueAt(i);
          if (b === null) {
            const cell = column.get(i);
            throw new MultilossError(
              'data',
              `${table.source}: ${rowRef(table, i)}, column "${f.name}": value ${showValue(cell)} is not a boolean (expected true/false or 1/0)`,
            );
          }
          out[at] = b;
        }
        break;
      }
      case 'categorical': {
        const index = new Map(f.categories.map((c, k) => [c, k]));
        const unknown = f.categories.length;
        const slotAt = mapCells(column, (cell) => (isMissing(cell) ? unknown : (index.get(categoryOf(cell)) ?? unknown)));
        for (let i = 0; i < n; i++) out[i * stride + offset + slotAt(i)] = 1;
        break;
      }
    }
  }
}
