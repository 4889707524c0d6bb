/**
 * ExcessMTL (src/balancing/aggregation/methods/excessmtl.ts, the reference) on the training loop's
 * per-head gradient tensors: the AdaGrad accumulators H_t stay tensors (one per head and shared
 * variable, float32) between steps, and only the T excess-risk estimates reach JavaScript. Same
 * algebra as the reference: H_t ← H_t + g_t², r_t = Σ_j g_tj²/√(H_tj + eps) (0 where that is
 * 0/0), the weights from r and r⁰ by the reference's own `excessWeights`, and the direction
 * Σ_t w_t g_t. Float32 accumulators (the reference's are Float64): equal to float32 rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import { weightedSum } from '../engine/weighted-sum.js';
import { excessmtlAggregator, excessWeights } from './aggregation/methods/excessmtl.js';
import type { ExcessmtlState, ResolvedOptions } from './aggregation/types.js';
import { rowsFromTensors, sizeOf, tensorsFromRows, type Grad } from './tensor-rows.js';

export class ExcessmtlTensorState {
  private sums: tf.Tensor[][] | null = null;
  private initial: number[] | null;
  private weights: number[] | null;
  private step: number;

  constructor(
    private readonly options: ResolvedOptions<'excessmtl'>,
    state: ExcessmtlState,
    shapes: readonly (readonly number[])[],
    private readonly rows: number,
  ) {
    excessmtlAggregator.checkState(state, rows, shapes.reduce((s, shape) => s + sizeOf(shape), 0));
    this.step = state.step;
    this.initial = state.initial === null ? null : Array.from(state.initial);
    this.weights = state.weights === null ? null : Array.from(state.weights);
    if (state.sumSquares !== null) this.sums = tensorsFromRows('excessmtl', 'sumSquares', state.sumSquares, shapes, rows, true);
  }

  combine(perHead: readonly (readonly Grad[])[], shapes: readonly (readonly number[])[]): { weights: Float64Array; direction: tf.Tensor[] } {
    const T = perHead.length;
    if (T !== this.rows) throw new MultilossError('training', `aggregator 'excessmtl': ${T} heads' gradients for accumulators of ${this.rows} heads`);
    const old = this.sums;
    const eps = this.options.eps;
    // One pass per head and variable: g², H + g² (kept as the next accumulator) and Σ g²/√(H + g² + eps).
    const next: tf.Tensor[][] = [];
    let risk: Float64Array;
    try {
      const values = tf.tidy(() => {
        const sums = perHead.map((row, t) => {
          const parts: tf.Tensor[] = [tf.scalar(0)];
          next.push(
            shapes.map((shape, i) => {
              const g = row[i];
              const h = old?.[t][i];
              if (!g) return tf.keep(h ? tf.clone(h) : tf.zeros(shape.slice()));
              const g2 = tf.square(g);
              const acc = tf.keep(h ? tf.add(h, g2) : g2);
              // With eps = 0, H = 0 only where g = 0: that term is 0, as the reference's guard.
              parts.push(tf.sum(eps > 0 ? tf.mul(g2, tf.rsqrt(tf.add(acc, eps))) : tf.divNoNan(g2, tf.sqrt(acc))));
              return acc;
            }),
          );
          return tf.addN(parts);
        });
        return tf.stack(sums).dataSync();
      });
      risk = Float64Array.from(values);
      for (let t = 0; t < T; t++) {
        if (!Number.isFinite(risk[t])) throw new MultilossError('training', `aggregator 'excessmtl': head ${t + 1}'s excess-risk estimate overflows; lower the learning rate or set training.clipNorm`);
      }
    } catch (e) {
      tf.dispose(next.flat());
      throw e;
    }
    const first = this.initial === null || this.weights === null;
    const initial = first ? Array.from(risk) : (this.initial as number[]);
    const weights = first ? new Float64Array(T).fill(1) : excessWeights(this.weights as number[], initial, risk, this.options.stepSize);
    const direction: tf.Tensor[] = tf.tidy(() => shapes.map((shape, i) => weightedSum(perHead.map((row) => row[i]), weights, shape.slice())));
    this.dispose();
    this.sums = next;
    this.initial = initial;
    this.weights = Array.from(weights);
    this.step++;
    return { weights, direction };
  }

  toState(): ExcessmtlState {
    return { method: 'excessmtl', step: this.step, sumSquares: this.sums === null ? null : rowsFromTensors(this.sums), initial: this.initial, weights: this.weights };
  }

  dispose(): void {
    if (this.sums !== null) tf.dispose(this.sums.flat());
    this.sums = null;
  }
}
