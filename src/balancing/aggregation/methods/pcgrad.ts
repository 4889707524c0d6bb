import type { Aggregator } from '../types.js';
import { OptionReader, checkTaskLength } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import { taskOrders } from '../orders.js';

/** Called after each projection of task i's running gradient onto g_j, with the inner product after it. */
export type ProjectionTrace = (i: number, j: number, dotAfter: number) => void;

/**
 * PCGrad (Yu et al. 2020). For every task i, its gradient visits the other
 * tasks j in random order; whenever the running gradient conflicts with the
 * original g_j (negative inner product) its component along g_j is removed.
 * The result is the sum of the projected gradients (sum scale by
 * construction). Everything is done on the T×T matrix W with projected
 * row i = Σ_k W_ik g_k, through the Gram matrix.
 */
export const pcgradAggregator: Aggregator<'pcgrad'> = {
  name: 'pcgrad',
  needs: { stepSeed: true },
  resolve(options) {
    const r = new OptionReader('pcgrad', options);
    const seed = r.integer('seed', 0, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const order = r.permutation('order');
    r.done();
    return order === undefined ? { seed } : { seed, order };
  },
  init: () => baseState('pcgrad'),
  checkState: (s) => checkBaseState('pcgrad', s),
  run(ctx, o, state) {
    const { T } = ctx;
    checkTaskLength('pcgrad', 'order', o.order, T);
    const W = pcgradRows(ctx.gram(), T, taskOrders(T, 'pcgrad', o.seed, state.step, o.order));
    return { weights: columnSums(W, T), state: advance(state) };
  },
};

/** The T×T coefficients of the projected rows (row i = Σ_k W[i*T+k]·g_k). */
export function pcgradRows(K: Float64Array, T: number, orders: readonly (readonly number[])[], trace?: ProjectionTrace): Float64Array {
  const W = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    W[i * T + i] = 1;
    for (const j of orders[i]) {
      const kjj = K[j * T + j];
      if (!(kjj > 0)) continue;
      let dot = 0;
      for (let k = 0; k < T; k++) dot += W[i * T + k] * K[k * T + j];
      if (dot < 0) {
        W[i * T + j] -= dot / kjj;
        if (trace) {
          let after = 0;
          for (let k = 0; k < T; k++) after += W[i * T + k] * K[k * T + j];
          trace(i, j, after);
        }
      }
    }
  }
  return W;
}

export function columnSums(W: Float64Array, T: number): Float64Array {
  const w = new Float64Array(T);
  for (let i = 0; i < T; i++) for (let k = 0; k < T; k++) w[k] += W[i * T + k];
  return w;
}
