import { MultilossError } from '../../../errors.js';
import type { Aggregator, DbmtlState } from '../types.js';
import { OptionReader } from '../../options.js';
import { checkBaseState, checkTable, jsonRow } from '../state.js';
import { assertFinite, combine } from '../matrix.js';

/**
 * DB-MTL (Lin et al. 2023), its gradient-balancing half. Each task's gradient
 * goes into an EMA buffer ĝ_t ← (1 − β_k)·g_t + β_k·ĝ_t with β_k = β/k^σ
 * (zero-initialised, no bias correction, as the reference code); the direction
 * is Σ_t (max_s ‖ĝ_s‖ / (‖ĝ_t‖ + eps))·ĝ_t: every buffered gradient scaled to
 * the largest norm. This is the paper's scale: with β = 0 and equal norms it is
 * exactly the sum, otherwise T gradients of the largest norm.
 * The loss-scale half (training on log ℓ_t instead of ℓ_t) is the training
 * loop's job: the rows passed here must be gradients of log ℓ_t.
 */
export const dbmtlAggregator: Aggregator<'dbmtl'> = {
  name: 'dbmtl',
  needs: { rows: true, rowsAcrossSteps: true },
  ownDirection: true,
  resolve(options) {
    const r = new OptionReader('dbmtl', options);
    const beta = r.number('beta', 0.9, 0, 1, { maxOpen: true });
    const betaSigma = r.number('betaSigma', 0, 0, Infinity);
    const eps = r.number('eps', 1e-8, 0, Infinity);
    r.done();
    return { beta, betaSigma, eps };
  },
  init: () => ({ method: 'dbmtl', step: 0, buffer: null }),
  checkState(s, T, d) {
    checkBaseState('dbmtl', s);
    // Entries are checked while the buffer is updated (a full scan here would double the cost).
    if (s.buffer !== null) checkTable('dbmtl', 'buffer', s.buffer, T, d, false);
  },
  run(ctx, o, state) {
    const { T, d, rows } = ctx;
    const k = state.step + 1;
    const b = o.beta / Math.pow(k, o.betaSigma);
    const a = 1 - b;
    const buffer: Float64Array[] = [];
    const norms = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      const g = rows[t];
      const old = state.buffer?.[t];
      const nb = jsonRow(d);
      let n2 = 0;
      if (old === undefined || b === 0) {
        for (let j = 0; j < d; j++) {
          const v = a * g[j];
          nb[j] = v;
          n2 += v * v;
        }
      } else {
        for (let j = 0; j < d; j++) {
          const v = a * g[j] + b * old[j];
          nb[j] = v;
          n2 += v * v;
        }
      }
      if (!Number.isFinite(n2)) {
        assertFinite(rows);
        if (old !== undefined) {
          for (let j = 0; j < d; j++) {
            if (typeof old[j] !== 'number' || !Number.isFinite(old[j])) {
              throw new MultilossError('config', `aggregator 'dbmtl': state.buffer has a non-finite entry at row ${t}, column ${j}`);
            }
          }
        }
        throw new MultilossError('config', 'gradient matrix: entries too large, the buffered norms overflow');
      }
      buffer.push(nb);
      norms[t] = Math.sqrt(n2);
    }
    let maxNorm = 0;
    for (let t = 0; t < T; t++) maxNorm = Math.max(maxNorm, norms[t]);
    const weights = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      const den = norms[t] + o.eps;
      weights[t] = den > 0 ? maxNorm / den : 1;
    }
    const next: DbmtlState = { method: 'dbmtl', step: k, buffer };
    return { weights, direction: combine(buffer, weights, d), state: next };
  },
};
