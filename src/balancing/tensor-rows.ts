/**
 * What the tensor paths of the stateful gradient methods share (DB-MTL's buffers, ExcessMTL's
 * accumulators, MoCo's tracked gradients): per-head state kept as one tensor per head and shared
 * variable, built from and written back to the reference state's T×d rows (the shared variables
 * flattened in order), and its Gram matrix natively (double sums) or with tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import { gramOfTensors } from '../engine/native/gram.js';
import type { AggregatorName } from './aggregation/types.js';

export type Grad = tf.Tensor | undefined;

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((s, n) => s * n, 1);
}

/**
 * The reference state's rows (`name`, T rows of d) as kept tensors, rows[t][i] of shapes[i];
 * every entry finite (and ≥ 0 when `nonNegative`), else MultilossError('config') naming the entry.
 */
export function tensorsFromRows(
  method: AggregatorName,
  name: string,
  rows: readonly ArrayLike<number>[],
  shapes: readonly (readonly number[])[],
  T: number,
  nonNegative = false,
): tf.Tensor[][] {
  const d = shapes.reduce((s, shape) => s + sizeOf(shape), 0);
  if (rows.length !== T) throw new MultilossError('config', `aggregator '${method}': state.${name} has ${rows.length} rows but the model has ${T} heads`);
  const made: tf.Tensor[][] = [];
  try {
    for (let t = 0; t < T; t++) {
      const row = rows[t];
      if (row.length !== d) throw new MultilossError('config', `aggregator '${method}': state.${name} rows have ${row.length} entries, expected ${d}`);
      const flat = Float32Array.from(row);
      for (let j = 0; j < d; j++) {
        if (!Number.isFinite(flat[j]) || (nonNegative && flat[j] < 0)) {
          throw new MultilossError('config', `aggregator '${method}': state.${name} has a ${nonNegative ? 'negative or ' : ''}non-finite entry at row ${t}, column ${j}`);
        }
      }
      let offset = 0;
      made.push(
        shapes.map((shape) => {
          const size = sizeOf(shape);
          const part = tf.keep(tf.tensor(flat.subarray(offset, offset + size), shape.slice(), 'float32'));
          offset += size;
          return part;
        }),
      );
    }
  } catch (e) {
    tf.dispose(made.flat());
    throw e;
  }
  return made;
}

function rowToJSON(this: Float64Array): number[] {
  return Array.from(this);
}

/** Each head's tensors flattened into one Float64Array row that JSON.stringify writes as a plain array (as the reference's rows). */
export function rowsFromTensors(tensors: readonly (readonly tf.Tensor[])[]): Float64Array[] {
  return tensors.map((row) => {
    const flat = tf.tidy(() => tf.concat(row.map((x) => tf.reshape(x, [-1]))).dataSync() as Float32Array);
    const out = Float64Array.from(flat);
    Object.defineProperty(out, 'toJSON', { value: rowToJSON, enumerable: false });
    return out;
  });
}

/** The T×T Gram matrix of rows[t][i] (row-major): natively in one addon call, else tfjs sums. */
export function gramOfRows(rows: readonly (readonly Grad[])[]): Float64Array {
  const T = rows.length;
  const native = gramOfTensors(rows);
  if (native) return native;
  const values = tf.tidy(() => {
    const dots: tf.Tensor[] = [];
    for (let a = 0; a < T; a++) {
      for (let b = a; b < T; b++) {
        const terms = rows[a].flatMap((x, i) => {
          const y = rows[b][i];
          return x && y ? [tf.sum(a === b ? tf.square(x) : tf.mul(x, y))] : [];
        });
        dots.push(tf.addN([tf.scalar(0), ...terms]));
      }
    }
    return tf.stack(dots).dataSync();
  });
  const gram = new Float64Array(T * T);
  let p = 0;
  for (let a = 0; a < T; a++) {
    for (let b = a; b < T; b++) {
      gram[a * T + b] = values[p];
      gram[b * T + a] = values[p++];
    }
  }
  return gram;
}
