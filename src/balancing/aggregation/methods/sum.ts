import type { Aggregator } from '../types.js';
import { OptionReader } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';

/** Σ_t g_t: what plain summed-loss training does. The reference scale. */
export const sumAggregator: Aggregator<'sum'> = {
  name: 'sum',
  resolve(options) {
    new OptionReader('sum', options).done();
    return {};
  },
  init: () => baseState('sum'),
  checkState: (s) => checkBaseState('sum', s),
  run(ctx, _o, state) {
    return { weights: new Float64Array(ctx.T).fill(1), state: advance(state) };
  },
};
