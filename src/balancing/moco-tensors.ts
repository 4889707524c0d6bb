/**
 * MoCo (src/balancing/aggregation/methods/moco.ts, the reference) on the training loop's per-head
 * gradient tensors: the tracked gradients y_t stay tensors (one per head and shared variable,
 * float32) between steps; only ‖g_t‖ (for the loss normalisation) and YYᵀ reach JavaScript. Same
 * algebra as the reference: y_t ← (1 − β_k)·y_t + β_k·ĝ_t with ĝ_t = L_t·g_t/(‖g_t‖ + eps)
 * (`normalization: 'none'`: g_t), λ from the reference's own `mocoLambda`, direction
 * T·Σ_t λ_t y_t. Float32 tracked rows (the reference's are Float64): equal to float32 rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import { weightedSum } from '../engine/weighted-sum.js';
import { mocoAggregator, mocoLambda, mocoRates } from './aggregation/methods/moco.js';
import type { MocoState, ResolvedOptions } from './aggregation/types.js';
import { gramOfRows, rowsFromTensors, sizeOf, tensorsFromRows, type Grad } from './tensor-rows.js';

export class MocoTensorState {
  private tracked: tf.Tensor[][] | null = null;
  private lambda: number[] | null;
  private step: number;

  constructor(
    private readonly options: ResolvedOptions<'moco'>,
    state: MocoState,
    shapes: readonly (readonly number[])[],
    private readonly rows: number,
  ) {
    mocoAggregator.checkState(state, rows, shapes.reduce((s, shape) => s + sizeOf(shape), 0));
    this.step = state.step;
    this.lambda = state.lambda === null ? null : Array.from(state.lambda);
    if (state.tracked !== null) this.tracked = tensorsFromRows('moco', 'tracked', state.tracked, shapes, rows);
  }

  combine(perHead: readonly (readonly Grad[])[], shapes: readonly (readonly number[])[], losses: readonly number[]): { weights: Float64Array; direction: tf.Tensor[] } {
    const T = perHead.length;
    const o = this.options;
    if (T !== this.rows || losses.length !== T) throw new MultilossError('training', `aggregator 'moco': ${T} heads' gradients and ${losses.length} losses for tracked gradients of ${this.rows} heads`);
    const k = this.step + 1;
    const { b, g: gammaK } = mocoRates(o, k);
    const scales = new Float64Array(T).fill(1);
    if (o.normalization === 'loss') {
      const gram = gramOfRows(perHead);
      for (let t = 0; t < T; t++) {
        const den = Math.sqrt(gram[t * T + t]) + o.eps;
        // A zero gradient has no direction: it tracks towards 0.
        scales[t] = den > 0 ? losses[t] / den : 0;
        if (!Number.isFinite(scales[t])) throw new MultilossError('training', `aggregator 'moco': head ${t + 1}'s gradient overflows; lower the learning rate or set training.clipNorm`);
      }
    }
    const old = this.tracked;
    const next: tf.Tensor[][] = tf.tidy(() => perHead.map((row, t) => shapes.map((shape, i) => weightedSum([old?.[t][i], row[i]], [1 - b, b * scales[t]], shape.slice()))));
    let lambda: Float64Array;
    try {
      const YY = gramOfRows(next);
      for (let t = 0; t < T; t++) {
        if (!Number.isFinite(YY[t * T + t])) throw new MultilossError('training', `aggregator 'moco': head ${t + 1}'s tracked gradient overflows; lower the learning rate or set training.clipNorm`);
      }
      lambda = mocoLambda(this.lambda, YY, T, gammaK, o.rho);
    } catch (e) {
      tf.dispose(next.flat());
      throw e;
    }
    const weights = Float64Array.from(lambda, (l) => T * l);
    const direction: tf.Tensor[] = tf.tidy(() => shapes.map((shape, i) => weightedSum(next.map((row) => row[i]), weights, shape.slice())));
    this.dispose();
    for (const row of next) for (const x of row) tf.keep(x);
    this.tracked = next;
    this.lambda = Array.from(lambda);
    this.step = k;
    return { weights, direction };
  }

  toState(): MocoState {
    return { method: 'moco', step: this.step, tracked: this.tracked === null ? null : rowsFromTensors(this.tracked), lambda: this.lambda };
  }

  dispose(): void {
    if (this.tracked !== null) tf.dispose(this.tracked.flat());
    this.tracked = null;
  }
}
