// What an aggregator declares it needs from a training loop, read the one way: its `needs`
// field is an object or a function of the caller's (unresolved) options.
import type { Aggregator, AggregatorName, AggregatorNeeds } from './types.js';

/** What `agg` declares it needs with these options (nothing beyond GGᵀ when it declares nothing). */
export function declaredNeeds(agg: Aggregator<AggregatorName>, options: Record<string, unknown>): AggregatorNeeds {
  return typeof agg.needs === 'function' ? agg.needs(options) : (agg.needs ?? {});
}
