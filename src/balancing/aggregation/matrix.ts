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

/** Throws MultilossError('config') naming the first non-finite entry, if there is one. */
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
 * block stay in cache; inside a block, tiles of 2 rows × 4 rows share their
 * loads (8 products for 6 loads). Tiles start on the diagonal, so a few
 * entries below it are computed too; the lower triangle is then mirrored
 * from the upper one.
 */
export function computeGram(rows: ReadonlyArray<Row>): Float64Array {
  const T = rows.length;
  const d = T > 0 ? rows[0].length : 0;
  const K = new Float64Array(T * T);
  for (let start = 0; start < d; start += BLOCK) {
    const end = start + BLOCK < d ? start + BLOCK : d;
    let i = 0;
    for (; i + 1 < T; i += 2) {
      const a0 = rows[i];
      const a1 = rows[i + 1];
      const r0 = i * T;
      const r1 = r0 + T;
      let j = i;
      for (; j + 3 < T; j += 4) {
        const b0 = rows[j];
        const b1 = rows[j + 1];
        const b2 = rows[j + 2];
        const b3 = rows[j + 3];
        let s00 = 0;
        let s01 = 0;
        let s02 = 0;
        let s03 = 0;
        let s10 = 0;
        let s11 = 0;
        let s12 = 0;
        let s13 = 0;
        for (let k = start; k < end; k++) {
          const x0 = a0[k];
          const x1 = a1[k];
          const y0 = b0[k];
          const y1 = b1[k];
          const y2 = b2[k];
          const y3 = b3[k];
          s00 += x0 * y0;
          s01 += x0 * y1;
          s02 += x0 * y2;
          s03 += x0 * y3;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s12 += x1 * y2;
          s13 += x1 * y3;
        }
        K[r0 + j] += s00;
        K[r0 + j + 1] += s01;
        K[r0 + j + 2] += s02;
        K[r0 + j + 3] += s03;
        K[r1 + j] += s10;
        K[r1 + j + 1] += s11;
        K[r1 + j + 2] += s12;
        K[r1 + j + 3] += s13;
      }
      for (; j < T; j++) {
        const b = rows[j];
        let s0 = 0;
        let s1 = 0;
        for (let k = start; k < end; k++) {
          const y = b[k];
          s0 += a0[k] * y;
          s1 += a1[k] * y;
        }
        K[r0 + j] += s0;
        K[r1 + j] += s1;
      }
    }
    if (i < T) {
      const a = rows[i];
      let s = 0;
      for (let k = start; k < end; k++) s += a[k] * a[k];
      K[i * T + i] += s;
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

/**
 * The context handed to the methods: rows plus a lazily computed, checked Gram matrix. `batches`
 * (several independent batches' rows, `rows` the last) gives `crossGram`; without, every batch is `rows`.
 */
export function makeContext(rows: ReadonlyArray<Row>, batches?: ReadonlyArray<ReadonlyArray<Row>>): GradContext {
  const T = rows.length;
  const d = rows[0].length;
  let K: Float64Array | null = null;
  return {
    T,
    d,
    rows,
    crossGram(a: number, b: number): Float64Array {
      if (batches === undefined) return this.gram();
      const A = batches[a];
      const B = batches[b];
      const out = new Float64Array(T * T);
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += A[i][k] * B[j][k];
          out[i * T + j] = s;
        }
      }
      if (!allFinite(out)) throw new MultilossError('config', 'gradient matrices: entries too large, the cross-batch products overflow');
      return out;
    },
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
