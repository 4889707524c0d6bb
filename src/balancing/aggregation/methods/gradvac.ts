import { MultilossError } from '../../../errors.js';
import type { Aggregator, GradvacState } from '../types.js';
import { OptionReader, checkTaskLength } from '../../options.js';
import { checkBaseState, checkTable } from '../state.js';
import { taskOrders } from '../orders.js';
import { columnSums } from './pcgrad.js';

/**
 * Called after task i's running gradient was adjusted towards g_j, with the
 * cosine after it, the target, the cosine before, and how much the running
 * gradient had cancelled before (Σ_k |W_ik|·‖g_k‖ / ‖Σ_k W_ik g_k‖, ≥ 1: its rounding scale).
 */
export type VaccineTrace = (i: number, j: number, cosAfter: number, target: number, cosBefore: number, cancellation: number) => void;

/** Targets are kept below 1 so the adjustment stays finite. */
const MAX_TARGET = 1 - 1e-9;

/**
 * GradVac (Wang et al. 2021). For every task i, its running gradient visits
 * the other tasks j in random order; when its cosine similarity ρ_ij with g_j
 * is below the target φ̂_ij, a multiple of g_j is added so the cosine becomes
 * exactly φ̂_ij (Eq. 2). The targets are an EMA of the observed ρ_ij, updated
 * for every pair at every step (Eq. 3), starting at 0: the first step is
 * PCGrad. The direction is the sum of the adjusted gradients (sum scale).
 * Whole-model granularity: for per-layer targets call once per parameter group.
 */
export const gradvacAggregator: Aggregator<'gradvac'> = {
  name: 'gradvac',
  resolve(options) {
    const r = new OptionReader('gradvac', options);
    const beta = r.number('beta', 0.01, 0, 1);
    const seed = r.integer('seed', 0, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const order = r.permutation('order');
    r.done();
    return order === undefined ? { beta, seed } : { beta, seed, order };
  },
  init: () => ({ method: 'gradvac', step: 0, targets: null }),
  checkState(s, T) {
    checkBaseState('gradvac', s);
    if (s.targets !== null) {
      checkTable('gradvac', 'targets', s.targets, T, T);
      if (s.targets.some((row) => row.some((v) => v < -1 || v > 1))) {
        throw new MultilossError('config', "aggregator 'gradvac': state.targets must be cosine similarities in [-1, 1]");
      }
    }
  },
  run(ctx, o, state) {
    const { T } = ctx;
    checkTaskLength('gradvac', 'order', o.order, T);
    const targets = state.targets ?? Array.from({ length: T }, () => new Array<number>(T).fill(0));
    const { W, targets: nextTargets } = gradvacRows(ctx.gram(), T, targets, o.beta, taskOrders(T, 'gradvac', o.seed, state.step, o.order));
    const next: GradvacState = { method: 'gradvac', step: state.step + 1, targets: nextTargets };
    return { weights: columnSums(W, T), state: next };
  },
};

/**
 * The T×T coefficients of the adjusted rows (row i = Σ_k W[i*T+k]·g_k) and the
 * updated targets.
 */
export function gradvacRows(
  K: Float64Array,
  T: number,
  targets: readonly (readonly number[])[],
  beta: number,
  orders: readonly (readonly number[])[],
  trace?: VaccineTrace,
): { W: Float64Array; targets: number[][] } {
  const W = new Float64Array(T * T);
  const next = targets.map((row) => Array.from(row));
  for (let i = 0; i < T; i++) {
    W[i * T + i] = 1;
    let n2 = K[i * T + i];
    for (const j of orders[i]) {
      const kjj = K[j * T + j];
      if (!(kjj > 0) || !(n2 > 1e-300)) continue;
      // A running gradient that has cancelled to the rounding of its Gram-based norm
      // (ε × the terms it is made of, squared) has no direction left to adjust.
      let terms = 0;
      for (let k = 0; k < T; k++) terms += Math.abs(W[i * T + k]) * Math.sqrt(Math.max(0, K[k * T + k]));
      if (n2 <= 64 * T * Number.EPSILON * terms * terms) continue;
      let dot = 0;
      for (let k = 0; k < T; k++) dot += W[i * T + k] * K[k * T + j];
      const ni = Math.sqrt(n2);
      const nj = Math.sqrt(kjj);
      const rho = Math.max(-1, Math.min(1, dot / (ni * nj)));
      const phi = Math.min(targets[i][j], MAX_TARGET);
      if (rho < phi) {
        const cancellation = terms / ni;
        const sp = Math.sqrt(1 - phi * phi);
        const w = (ni * (phi * Math.sqrt(1 - rho * rho) - rho * sp)) / (nj * sp);
        W[i * T + j] += w;
        n2 = rowNorm2(W, K, T, i);
        if (trace) {
          let after = 0;
          for (let k = 0; k < T; k++) after += W[i * T + k] * K[k * T + j];
          trace(i, j, n2 > 0 ? after / (Math.sqrt(n2) * nj) : 0, phi, rho, cancellation);
        }
      }
      next[i][j] = (1 - beta) * targets[i][j] + beta * rho;
    }
  }
  return { W, targets: next };
}

/** ‖Σ_k W_ik g_k‖² = W_i K W_iᵀ. */
function rowNorm2(W: Float64Array, K: Float64Array, T: number, i: number): number {
  let s = 0;
  for (let a = 0; a < T; a++) {
    const wa = W[i * T + a];
    if (wa === 0) continue;
    let r = 0;
    for (let b = 0; b < T; b++) r += K[a * T + b] * W[i * T + b];
    s += wa * r;
  }
  return Math.max(0, s);
}
