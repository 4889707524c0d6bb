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
