import type { Aggregator } from '../types.js';
import { OptionReader, checkTaskLength } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';

/** Σ_t w_t g_t with the caller's fixed weights, not rescaled (weights summing to T keep the sum scale). */
export const staticAggregator: Aggregator<'static'> = {
  name: 'static',
  resolve(options) {
    const r = new OptionReader('static', options);
    const weights = r.numbers('weights');
    r.done();
    if (weights === undefined) return r.fail('weights', 'a non-empty array of finite numbers, one per task', undefined);
    return { weights };
  },
  init: () => baseState('static'),
  checkState: (s) => checkBaseState('static', s),
  run(ctx, o, state) {
    checkTaskLength('static', 'weights', o.weights, ctx.T);
    return { weights: Float64Array.from(o.weights), state: advance(state) };
  },
};
