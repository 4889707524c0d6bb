/**
 * DB-MTL's gradient half (src/balancing/aggregation/methods/dbmtl.ts, the reference) on the
 * training loop's per-head gradient tensors: the EMA buffers ĝ_t stay tensors (one per head and
 * shared variable, float32) between steps, and only T norms reach JavaScript. Same algebra as the
 * reference: ĝ_t ← (1 − β_k)·g_t + β_k·ĝ_t with β_k = β/k^σ (zero-initialised, no bias
 * correction), direction Σ_t (max_s ‖ĝ_s‖ / (‖ĝ_t‖ + eps))·ĝ_t. The reference keeps its buffers
 * in Float64; here they are float32 (sums in double on the native path), which agrees with it to
 * float32 rounding.
 *
 * The native path (Node, wasm backend with the addon) runs the EMA update and the direction as
 * `weightedSum` (src/engine/weighted-sum.ts) and the norms as the Gram diagonal of `gramOfTensors`, in place on the
 * wasm heap; elsewhere the same algebra runs as tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import { weightedSum } from '../engine/weighted-sum.js';
import { checkBaseState } from './aggregation/state.js';
import type { DbmtlState } from './aggregation/types.js';
import { gramOfRows, rowsFromTensors, tensorsFromRows, type Grad } from './tensor-rows.js';

export interface DbmtlTensorOptions {
  beta: number;
  betaSigma: number;
  eps: number;
}

/** The EMA buffers as tensors, buffers[t][i]: head t, shared variable i (kept, owned by this object). */
export class DbmtlTensorBuffers {
  private buffers: tf.Tensor[][] | null = null;
  /** Steps taken (the reference state's `step`). */
  step: number;

  /** `state`: the reference state to continue from (checked against T heads and the variables' sizes). */
  constructor(
    private readonly options: DbmtlTensorOptions,
    state: DbmtlState,
    shapes: readonly (readonly number[])[],
    readonly rows: number,
  ) {
    const T = rows;
    checkBaseState('dbmtl', state);
    this.step = state.step;
    if (state.buffer !== null) this.buffers = tensorsFromRows('dbmtl', 'buffer', state.buffer, shapes, T);
  }

  /**
   * One step on perHead[t][i] (head t's gradient w.r.t. shared variable i; undefined: zero):
   * updates the buffers and returns the weights on them and the direction per variable (new
   * tensors, the caller's to dispose).
   */
  combine(perHead: readonly (readonly Grad[])[], shapes: readonly (readonly number[])[]): { weights: Float64Array; direction: tf.Tensor[] } {
    const T = perHead.length;
    if (T !== this.rows) throw new MultilossError('training', `aggregator 'dbmtl': ${T} heads' gradients for buffers of ${this.rows} heads`);
    const k = this.step + 1;
    const b = this.options.beta / Math.pow(k, this.options.betaSigma);
    const a = 1 - b;
    const old = b === 0 ? null : this.buffers;
    const next: tf.Tensor[][] = tf.tidy(() => perHead.map((row, t) => shapes.map((shape, i) => emaUpdate(row[i], old?.[t][i], a, b, shape.slice()))));
    let norms: Float64Array;
    try {
      norms = squaredNorms(next);
      for (let t = 0; t < T; t++) {
        if (!Number.isFinite(norms[t])) {
          throw new MultilossError('training', `aggregator 'dbmtl': the buffered gradient of head ${t + 1} overflows (its squared norm is not finite); lower the learning rate or set training.clipNorm`);
        }
        norms[t] = Math.sqrt(norms[t]);
      }
    } catch (e) {
      tf.dispose(next);
      throw e;
    }
    let maxNorm = 0;
    for (let t = 0; t < T; t++) maxNorm = Math.max(maxNorm, norms[t]);
    const weights = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      const den = norms[t] + this.options.eps;
      weights[t] = den > 0 ? maxNorm / den : 1;
    }
    const direction: tf.Tensor[] = tf.tidy(() => shapes.map((shape, i) => weightedSum(next.map((row) => row[i]), weights, shape.slice())));
    this.dispose();
    for (const row of next) for (const x of row) tf.keep(x);
    this.buffers = next;
    this.step = k;
    return { weights, direction };
  }

  /** The reference state: `buffer` as T rows of d (the shared variables flattened in order). */
  toState(): DbmtlState {
    const T = this.rows;
    if (this.buffers === null) return { method: 'dbmtl', step: this.step, buffer: null };
    const rows = rowsFromTensors(this.buffers);
    if (rows.length !== T) throw new MultilossError('training', `aggregator 'dbmtl': ${rows.length} buffered rows for ${T} heads`);
    return { method: 'dbmtl', step: this.step, buffer: rows };
  }

  dispose(): void {
    if (this.buffers !== null) tf.dispose(this.buffers.flat());
    this.buffers = null;
  }
}

/** a·g + b·old (old undefined: a·g; both missing: zeros), a new float32 tensor of `shape`. */
function emaUpdate(g: Grad, old: tf.Tensor | undefined, a: number, b: number, shape: number[]): tf.Tensor {
  return weightedSum([g, old], [a, b], shape);
}

/** ‖ĝ_t‖² summed over the variables (the Gram diagonal). */
function squaredNorms(buffers: tf.Tensor[][]): Float64Array {
  const T = buffers.length;
  const gram = gramOfRows(buffers);
  return Float64Array.from({ length: T }, (_, t) => gram[t * T + t]);
}
