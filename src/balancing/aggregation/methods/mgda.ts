import { MultilossError } from '../../../errors.js';
import type { Aggregator, MgdaNormalization } from '../types.js';
import { OptionReader, checkTaskLength } from '../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import { minNormSimplex } from '../simplex.js';
import { converged } from '../solver.js';
import { QP_TOLERANCE } from '../linalg.js';

const NORMALIZATIONS: readonly MgdaNormalization[] = ['none', 'l2', 'loss', 'loss+'];

/**
 * MGDA (Sener & Koltun 2018): the min-norm point of the convex hull of the
 * (optionally normalised) task gradients. The convex weights α are computed
 * on the normalised gradients and applied to the raw ones, as the official
 * code does; they are multiplied by T so that aligned, equal gradients give
 * the sum. Exact: closed form for T = 2, active-set QP on GGᵀ for T > 2.
 */
export const mgdaAggregator: Aggregator<'mgda'> = {
  name: 'mgda',
  // The training loop fills in `losses` at every step (the 'loss' normalisations read them).
  takesLosses: () => true,
  resolve(options) {
    const r = new OptionReader('mgda', options);
    const normalization = r.oneOf('normalization', 'none', NORMALIZATIONS);
    const losses = r.numbers('losses');
    const ub = r.boolean('ub', false);
    r.done();
    if ((normalization === 'loss' || normalization === 'loss+') && losses === undefined) {
      r.fail('losses', `given (one loss value per task) when normalization is '${normalization}'`, undefined);
    }
    if (losses !== undefined && losses.some((l) => l < 0)) {
      r.fail('losses', 'non-negative finite numbers (the normalisations divide by them)', losses);
    }
    return losses === undefined ? { normalization, ub } : { normalization, ub, losses };
  },
  init: () => baseState('mgda'),
  checkState: (s) => checkBaseState('mgda', s),
  run(ctx, o, state) {
    const { T } = ctx;
    checkTaskLength('mgda', 'losses', o.losses, T);
    const K = ctx.gram();
    const { alpha, iterations, residual } = minNormSimplex(normalizeGram(K, T, o.normalization, o.losses), T);
    const solver = converged('mgda', 'the min-norm QP over the simplex', { iterations, residual }, QP_TOLERANCE);
    const weights = new Float64Array(T);
    for (let t = 0; t < T; t++) weights[t] = T * alpha[t];
    return { weights, state: advance(state), solver };
  },
};

/** Gram matrix of the rows g_t / n_t; rows with n_t = 0 become zero. */
export function normalizeGram(K: Float64Array, T: number, kind: MgdaNormalization, losses?: readonly number[]): Float64Array {
  if (kind === 'none') return K;
  const n = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const norm = Math.sqrt(K[t * T + t]);
    if (kind === 'l2') n[t] = norm;
    else if (losses === undefined) throw new MultilossError('config', `aggregator 'mgda': option 'losses' is required by normalization '${kind}'`);
    else n[t] = kind === 'loss' ? losses[t] : losses[t] * norm;
  }
  const out = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      out[i * T + j] = n[i] > 0 && n[j] > 0 ? K[i * T + j] / (n[i] * n[j]) : 0;
    }
  }
  return out;
}
