import type { Aggregator, ExcessmtlState } from '../types.js';
import { OptionReader } from '../../options.js';
import { checkBaseState, checkTable, checkVector, jsonRow } from '../state.js';
import { assertFinite } from '../matrix.js';
import { MultilossError } from '../../../errors.js';

/**
 * ExcessMTL (He, Zhou, Chen & Wu, "Robust Multi-Task Learning with Excess
 * Risks", ICML 2024). Each task's excess risk — how far its loss still is
 * from its best — is estimated from its gradient with an AdaGrad-style
 * diagonal curvature estimate: H_t ← H_t + g_t² (element-wise, over the
 * steps), r_t = Σ_j g_tj² / √(H_tj + eps). The first step records r⁰ and
 * keeps the weights at 1; afterwards the weights take an exponentiated step
 * towards the tasks with the larger relative excess risk,
 *   w_t ← w_t·exp(η·r_t/r⁰_t),  rescaled to Σw = T,
 * and the direction is Σ_t w_t g_t (the reference code weighs the losses by w,
 * the same update on the shared part). A task whose first-step estimate was 0
 * has no reference: its ratio counts as 0. Options: `stepSize` η ≥ 0 (default
 * 1e-2, LibMTL's `robust_step_size`), `eps` (1e-7, as the reference code).
 * State: the accumulators H (T×d), r⁰ and w. Cost: O(T·d) per step beyond the
 * gradients, and T×d numbers of state.
 */
export const excessmtlAggregator: Aggregator<'excessmtl'> = {
  name: 'excessmtl',
  needs: { rows: true, rowsAcrossSteps: true },
  resolve(options) {
    const r = new OptionReader('excessmtl', options);
    const stepSize = r.number('stepSize', 1e-2, 0, Infinity);
    const eps = r.number('eps', 1e-7, 0, Infinity);
    r.done();
    return { stepSize, eps };
  },
  init: () => ({ method: 'excessmtl', step: 0, sumSquares: null, initial: null, weights: null }),
  checkState(s, T, d) {
    checkBaseState('excessmtl', s);
    // Entries are checked while the accumulators are updated (a full scan here would double the cost).
    if (s.sumSquares !== null) checkTable('excessmtl', 'sumSquares', s.sumSquares, T, d, false);
    checkVector('excessmtl', 'initial', s.initial, T, true);
    checkVector('excessmtl', 'weights', s.weights, T, true);
    if ((s.sumSquares === null) !== (s.initial === null) || (s.initial === null) !== (s.weights === null)) {
      throw new MultilossError('config', "aggregator 'excessmtl': state.sumSquares, state.initial and state.weights are set together (all null before the first step)");
    }
  },
  run(ctx, o, state) {
    const { T, d, rows } = ctx;
    const sumSquares: Float64Array[] = [];
    const risk = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      const g = rows[t];
      const old = state.sumSquares?.[t];
      const acc = jsonRow(d);
      let r = 0;
      for (let j = 0; j < d; j++) {
        const g2 = g[j] * g[j];
        const h = (old === undefined ? 0 : old[j]) + g2;
        acc[j] = h;
        const den = Math.sqrt(h + o.eps);
        if (den > 0) r += g2 / den;
      }
      if (!Number.isFinite(r)) {
        assertFinite(rows);
        throw new MultilossError('config', `aggregator 'excessmtl': state.sumSquares row ${t} has a non-finite or negative entry, or the gradients overflow`);
      }
      sumSquares.push(acc);
      risk[t] = r;
    }
    const first = state.initial === null || state.weights === null;
    const initial = first ? Array.from(risk) : Array.from(state.initial as number[]);
    const weights = first ? new Float64Array(T).fill(1) : excessWeights(state.weights as number[], initial, risk, o.stepSize);
    const next: ExcessmtlState = { method: 'excessmtl', step: state.step + 1, sumSquares, initial, weights: Array.from(weights) };
    return { weights, state: next };
  },
};

/**
 * The next weights w_t ← w_t·exp(η·r_t/r⁰_t), renormalised to Σw = T in the log domain (a large
 * ratio must not overflow before the rescaling); a task with r⁰_t = 0 has ratio 0. Shared with
 * the trainer's tensor path (excessmtl-tensors.ts).
 */
export function excessWeights(previous: ArrayLike<number>, initial: ArrayLike<number>, risk: ArrayLike<number>, stepSize: number): Float64Array {
  const T = risk.length;
  const logs = new Float64Array(T);
  let max = -Infinity;
  for (let t = 0; t < T; t++) {
    const ratio = initial[t] > 0 ? risk[t] / initial[t] : 0;
    logs[t] = Math.log(previous[t]) + stepSize * ratio;
    max = Math.max(max, logs[t]);
  }
  if (!Number.isFinite(max)) throw new MultilossError('config', "aggregator 'excessmtl': state.weights must be positive (one per task row)");
  const weights = new Float64Array(T);
  let total = 0;
  for (let t = 0; t < T; t++) {
    weights[t] = Math.exp(logs[t] - max);
    total += weights[t];
  }
  for (let t = 0; t < T; t++) weights[t] *= T / total;
  return weights;
}
