import { MultilossError } from '../../errors.js';
import type { AggregatorName, BaseState } from './types.js';

/** Checks the fields every state has. */
export function checkBaseState(method: AggregatorName, state: unknown): void {
  if (state === null || typeof state !== 'object') {
    throw new MultilossError('config', `aggregator '${method}': state must be an object from a previous aggregate() call`);
  }
  const s = state as Partial<BaseState>;
  if (s.method !== method) {
    throw new MultilossError('config', `aggregator '${method}': state belongs to aggregator '${String(s.method)}'`);
  }
  if (typeof s.step !== 'number' || !Number.isInteger(s.step) || s.step < 0) {
    throw new MultilossError('config', `aggregator '${method}': state.step must be a non-negative integer (got ${String(s.step)})`);
  }
}

/**
 * Checks a rows×cols array-of-arrays state field; its entries too (finite
 * numbers) when `values` is set (large tables leave that to the method).
 */
export function checkTable(method: AggregatorName, name: string, v: unknown, rows: number, cols: number, values = true): void {
  const bad = (why: string): never => {
    throw new MultilossError('config', `aggregator '${method}': state.${name} ${why}`);
  };
  if (!Array.isArray(v)) bad('must be an array of rows');
  const a = v as unknown[];
  if (a.length !== rows) bad(`has ${a.length} rows but the gradient matrix has ${rows} task rows`);
  for (const r of a) {
    if (!Array.isArray(r) && !(r instanceof Float64Array) && !(r instanceof Float32Array)) bad('must be an array of rows');
    const row = r as ArrayLike<number>;
    if (row.length !== cols) bad(`rows have ${row.length} entries, expected ${cols}`);
    if (values) for (let k = 0; k < row.length; k++) if (typeof row[k] !== 'number' || !Number.isFinite(row[k])) bad('has a non-finite entry');
  }
}

export function baseState<M extends AggregatorName>(method: M, step = 0): BaseState<M> {
  return { method, step };
}

/** The same state one step later (a copy; the input is not modified). */
export function advance<S extends BaseState>(state: S): S {
  return { ...state, step: state.step + 1 };
}

function rowToJSON(this: Float64Array): number[] {
  return Array.from(this);
}

/**
 * A Float64Array row (3× faster to fill than a plain array at d = 10⁵) that
 * JSON.stringify writes as a plain array, so the state stays JSON-serialisable.
 */
export function jsonRow(d: number): Float64Array {
  const row = new Float64Array(d);
  Object.defineProperty(row, 'toJSON', { value: rowToJSON, enumerable: false });
  return row;
}

/** Checks a length-n state vector of finite numbers (null allowed when `nullable`). */
export function checkVector(method: AggregatorName, name: string, v: unknown, n: number, nullable = false): void {
  if (v === null && nullable) return;
  const ok = (Array.isArray(v) || v instanceof Float64Array) && (v as ArrayLike<number>).length === n;
  if (!ok) throw new MultilossError('config', `aggregator '${method}': state.${name} must be ${nullable ? 'null or ' : ''}an array of ${n} numbers (one per task row)`);
  const a = v as ArrayLike<number>;
  for (let k = 0; k < n; k++) {
    if (typeof a[k] !== 'number' || !Number.isFinite(a[k])) throw new MultilossError('config', `aggregator '${method}': state.${name} has a non-finite entry`);
  }
}
