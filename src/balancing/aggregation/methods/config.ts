import type { Aggregator } from '../types.js';
import { OptionReader } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import { matVec, quad } from '../linalg.js';
import { imtlWeights } from './imtl.js';

/**
 * ConFIG (Liu, Chu & Thuerey, "ConFIG: Towards Conflict-free Training of
 * Physics Informed Neural Networks", ICLR 2025). The direction's unit vector
 * is U⁺1 normalised, U the matrix of unit task gradients u_t: the direction
 * with the same (positive) projection onto every u_t, so it conflicts with no
 * task. Its length is the sum of the task gradients' projections onto it,
 * Σ_t g_tᵀd̂, so agreeing gradients give their sum's size.
 * U⁺1 = Σ_t y_t u_t with y = C⁺1 on the cosine matrix C: the direction IMTL-G
 * finds (imtl.ts, same rank handling), with ConFIG's length instead of IMTL's
 * Σα = 1. From the Gram matrix: with d = Σα_t g_t the weights are
 * α·(1ᵀKα)/(αᵀKα).
 */
export const configAggregator: Aggregator<'config'> = {
  name: 'config',
  resolve(options) {
    new OptionReader('config', options).done();
    return {};
  },
  init: () => baseState('config'),
  checkState: (s) => checkBaseState('config', s),
  run(ctx, _o, state) {
    const { T } = ctx;
    const K = ctx.gram();
    const { weights: alpha, solver } = imtlWeights(K, T);
    const norm2 = quad(K, T, alpha, alpha);
    let projections = 0;
    for (const x of matVec(K, T, alpha)) projections += x;
    // ‖d‖ = 0 (all gradients zero, or cancelling): no direction and no length.
    const factor = norm2 > 0 ? projections / norm2 : 0;
    for (let t = 0; t < T; t++) alpha[t] *= factor;
    return { weights: alpha, state: advance(state), solver };
  },
};
