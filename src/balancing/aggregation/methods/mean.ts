import type { Aggregator } from '../types.js';
import { OptionReader } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';

/** (1/T) Σ_t g_t. The one method deliberately off the sum scale (by 1/T). */
export const meanAggregator: Aggregator<'mean'> = {
  name: 'mean',
  resolve(options) {
    new OptionReader('mean', options).done();
    return {};
  },
  init: () => baseState('mean'),
  checkState: (s) => checkBaseState('mean', s),
  run(ctx, _o, state) {
    return { weights: new Float64Array(ctx.T).fill(1 / ctx.T), state: advance(state) };
  },
};
