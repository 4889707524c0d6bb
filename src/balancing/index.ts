import { MultilossError } from '../errors.js';
import { AggregatingBalancer, GRADIENT_METHODS, isGradientMethod, type GradientMode } from './gradient-balancer.js';
import { LOSS_METHODS } from './strategies/index.js';
import type { BalancedHead, BalancingStrategy } from './strategy.js';

export * from './strategy.js';
export * from './strategies/index.js';
export { AggregatingBalancer, GRADIENT_METHODS, VALID_MODES, isGradientMethod, type GradientMethod, type GradientMode } from './gradient-balancer.js';
export { GRADIENT_METHOD_TRAINING, type GradientMethodTraining, type TensorCombiner } from './gradient-methods.js';
export {
  aggregate,
  aggregateBatches,
  AGGREGATORS,
  computeGram,
  initialAggregatorState,
  isAggregatorName,
  runToy,
  TOY_PARETO,
  TOY_STARTS,
  toyParetoX2,
  toyProblem,
  validateAggregatorOptions,
} from './aggregation/index.js';
export type { AggregateResult, AggregatorName, AggregatorOptions, AggregatorState, Matrix, SolverReport, ToyRun, ToyRunOptions } from './aggregation/index.js';

/** `balance:` in a configuration: the method, its mode (gradient methods) and its options. */
export interface BalanceSpec {
  method: string;
  /** Gradient-based methods: 'param' (exact, one backward pass per head; default) or 'rep' (trunk output). */
  mode?: GradientMode;
  /** `static`: per-head weights by head name. */
  weights?: Record<string, number>;
  [option: string]: unknown;
}

/** Every method name `balance.method` accepts. */
export const BALANCING_METHODS: readonly string[] = [...Object.keys(LOSS_METHODS), ...GRADIENT_METHODS];

export function createStrategy(spec: BalanceSpec, heads: readonly BalancedHead[]): BalancingStrategy {
  const { method, mode, ...options } = spec;
  const loss = Object.prototype.hasOwnProperty.call(LOSS_METHODS, method) ? LOSS_METHODS[method] : undefined;
  if (loss) {
    if (mode !== undefined) throw new MultilossError('config', `balance.mode applies to gradient-based methods only; "${method}" is loss-based`);
    return loss(heads, options);
  }
  if (isGradientMethod(method)) {
    if (mode !== undefined && mode !== 'param' && mode !== 'rep') {
      throw new MultilossError('config', `balance.mode: expected "param" or "rep", got ${JSON.stringify(mode)}`);
    }
    return new AggregatingBalancer(method, mode ?? AggregatingBalancer.defaultMode(method, options), heads, options);
  }
  const custom = CUSTOM_METHODS.get(method);
  if (custom) return checkStrategy(method, custom(heads, mode === undefined ? options : { ...options, mode }));
  throw new MultilossError('config', `balance.method: unknown method "${method}"; valid methods: ${[...BALANCING_METHODS, ...CUSTOM_METHODS.keys()].join(', ')}`);
}

/**
 * Builds a registered balancing method: `options` is the `balance:` block
 * without `method` (with `mode` when given). Returns a LossBalancer (total
 * loss from the heads' losses, inside the tape) or a GradientBalancer
 * (direction from the T×d matrix of per-head gradients on the shared part).
 * Throw MultilossError('config', …) naming `balance.<option>` for a bad option.
 */
export type BalancingMethodFactory = (heads: readonly BalancedHead[], options: Record<string, unknown>) => BalancingStrategy;

const CUSTOM_METHODS = new Map<string, BalancingMethodFactory>();

/** Registers a balancing method under `name` (config files and the library API). Registering a name again replaces it. */
export function registerBalancingMethod(name: string, factory: BalancingMethodFactory): void {
  if (BALANCING_METHODS.includes(name)) throw new MultilossError('config', `registerBalancingMethod: "${name}" is a built-in method; pick another name`);
  CUSTOM_METHODS.set(name, factory);
}

/** Names of the methods registered with `registerBalancingMethod`. */
export function registeredBalancingMethods(): string[] {
  return [...CUSTOM_METHODS.keys()];
}

function checkStrategy(method: string, s: BalancingStrategy): BalancingStrategy {
  const ok = s && ((s.kind === 'loss' && typeof s.combine === 'function') || (s.kind === 'gradient' && typeof s.combineGradients === 'function' && (s.mode === 'param' || s.mode === 'rep')));
  if (!ok) throw new MultilossError('config', `balance.method "${method}": the registered factory must return a LossBalancer (kind 'loss', combine) or a GradientBalancer (kind 'gradient', mode 'param' | 'rep', combineGradients)`);
  return s;
}
