import { MultilossError } from '../../errors.js';
import type { GradContext, Matrix } from './types.js';

type Row = ArrayLike<number>;

/** Rows of `m` (views into a flat buffer, no copy), after the shape checks. */
export function toRows(m: Matrix): Row[] {
  let rows: Row[];
  if (Array.isArray(m)) {
    rows = m as Row[];
  } else if (m !== null && typeof m === 'object' && 'data' in m && 'rows' in m && 'cols' in m) {
    const { data, rows: T, cols: d } = m as { data: Float32Array | Float64Array; rows: number; cols: number };
    if (!(data instanceof Float32Array || data instanceof Float64Array)) {
      throw new MultilossError('config', 'gradient matrix: data must be a Float32Array or Float64Array');
    }
    if (!Number.isInteger(T) || !Number.isInteger(d) || T < 0 || d < 0) {
      throw new MultilossError('config', `gradient matrix: rows and cols must be non-negative integers (got ${T}×${d})`);
    }
    if (data.length !== T * d) {
      throw new MultilossError('config', `gradient matrix: data has ${data.length} entries, expected rows×cols = ${T}×${d} = ${T * d}`);
    }
    rows = [];
    for (let t = 0; t < T; t++) rows.push(data.subarray(t * d, (t + 1) * d));
  } else {
    throw new MultilossError('config', 'gradient matrix: expected an array of rows or { data, rows, cols }');
  }
  if (rows.length === 0) throw new MultilossError('config', 'gradient matrix is empty: need at least one task row');
  const d = rows[0]?.length;
  if (typeof d !== 'number') throw new MultilossError('config', 'gradient matrix: row 0 is not an array');
  if (d === 0) throw new MultilossError('config', 'gradient matrix is empty: rows have no columns');
  for (let t = 1; t < rows.length; t++) {
    const len = rows[t]?.length;
    if (len !== d) {
      throw new MultilossError('config', `gradient matrix: rows differ in length (row 0 has ${d}, row ${t} has ${len ?? 'no length'})`);
    }
  }
  return rows;
}

/** Throws naming the first non-finite entry, if any; returns whether one was found otherwise never. */
export function assertFinite(rows: ReadonlyArray<Row>): void {
  for (let t = 0; t < rows.length; t++) {
    const r = rows[t];
    for (let k = 0; k < r.length; k++) {
      const v = r[k];
      if (!Number.isFinite(v)) {
        throw new MultilossError('config', `gradient matrix: non-finite entry ${v} at row ${t}, column ${k}`);
      }
    }
  }
}

const BLOCK = 2048;

/**
 * GGᵀ in Float64, row-major T×T. Blocked over the columns so the T rows of a
 * block stay in cache, and four pairs per pass over a block.
 */
export function computeGram(rows: ReadonlyArray<Row>): Float64Array {
  const T = rows.length;
  const d = T > 0 ? rows[0].length : 0;
  const K = new Float64Array(T * T);
  for (let start = 0; start < d; start += BLOCK) {
    const end = start + BLOCK < d ? start + BLOCK : d;
    for (let i = 0; i < T; i++) {
      const a = rows[i];
      let j = i;
      for (; j + 3 < T; j += 4) {
        const b0 = rows[j];
        const b1 = rows[j + 1];
        const b2 = rows[j + 2];
        const b3 = rows[j + 3];
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let k = start; k < end; k++) {
          const x = a[k];
          s0 += x * b0[k];
          s1 += x * b1[k];
          s2 += x * b2[k];
          s3 += x * b3[k];
        }
        K[i * T + j] += s0;
        K[i * T + j + 1] += s1;
        K[i * T + j + 2] += s2;
        K[i * T + j + 3] += s3;
      }
      for (; j + 1 < T; j += 2) {
        const b0 = rows[j];
        const b1 = rows[j + 1];
        let s0 = 0;
        let s1 = 0;
        for (let k = start; k < end; k++) {
          const x = a[k];
          s0 += x * b0[k];
          s1 += x * b1[k];
        }
        K[i * T + j] += s0;
        K[i * T + j + 1] += s1;
      }
      if (j < T) {
        const b0 = rows[j];
        let s0 = 0;
        for (let k = start; k < end; k++) s0 += a[k] * b0[k];
        K[i * T + j] += s0;
      }
    }
  }
  for (let i = 0; i < T; i++) for (let j = 0; j < i; j++) K[i * T + j] = K[j * T + i];
  return K;
}

/** Σ_t w_t·rows_t in Float64 (rows with weight 0 are skipped). */
export function combine(rows: ReadonlyArray<Row>, w: ArrayLike<number>, d: number): Float64Array {
  const out = new Float64Array(d);
  const idx: number[] = [];
  for (let t = 0; t < rows.length; t++) if (w[t] !== 0) idx.push(t);
  let p = 0;
  for (; p + 3 < idx.length; p += 4) {
    const r0 = rows[idx[p]];
    const r1 = rows[idx[p + 1]];
    const r2 = rows[idx[p + 2]];
    const r3 = rows[idx[p + 3]];
    const w0 = w[idx[p]];
    const w1 = w[idx[p + 1]];
    const w2 = w[idx[p + 2]];
    const w3 = w[idx[p + 3]];
    for (let k = 0; k < d; k++) out[k] += w0 * r0[k] + w1 * r1[k] + w2 * r2[k] + w3 * r3[k];
  }
  for (; p + 1 < idx.length; p += 2) {
    const r0 = rows[idx[p]];
    const r1 = rows[idx[p + 1]];
    const w0 = w[idx[p]];
    const w1 = w[idx[p + 1]];
    for (let k = 0; k < d; k++) out[k] += w0 * r0[k] + w1 * r1[k];
  }
  if (p < idx.length) {
    const r0 = rows[idx[p]];
    const w0 = w[idx[p]];
    for (let k = 0; k < d; k++) out[k] += w0 * r0[k];
  }
  return out;
}

export function allFinite(v: ArrayLike<number>): boolean {
  for (let k = 0; k < v.length; k++) if (!Number.isFinite(v[k])) return false;
  return true;
}

/** The context handed to the methods: rows plus a lazily computed, checked Gram matrix. */
export function makeContext(rows: ReadonlyArray<Row>): GradContext {
  const T = rows.length;
  const d = rows[0].length;
  let K: Float64Array | null = null;
  return {
    T,
    d,
    rows,
    gram(): Float64Array {
      if (K === null) {
        const G = computeGram(rows);
        if (!allFinite(G)) {
          assertFinite(rows);
          throw new MultilossError('config', 'gradient matrix: entries too large, GGᵀ overflows');
        }
        K = G;
      }
      return K;
    },
  };
}
