import { MultilossError } from '../errors.js';
import { StaticBalancer } from './strategies/static.js';
import type { BalancedHead, BalancingStrategy } from './strategy.js';

export * from './strategy.js';
export { StaticBalancer } from './strategies/static.js';

/** `balance:` in a configuration. */
export interface BalanceSpec {
  method: string;
  weights?: Record<string, number>;
}

export const BALANCING_METHODS = ['static'] as const;

export function createStrategy(spec: BalanceSpec, heads: readonly BalancedHead[]): BalancingStrategy {
  switch (spec.method) {
    case 'static':
      return new StaticBalancer(heads, { weights: spec.weights });
    default:
      throw new MultilossError('config', `balance.method: unknown method "${spec.method}"; valid methods: ${BALANCING_METHODS.join(', ')}`);
  }
}
