import { MultilossError } from '../../../errors.js';
import type { Aggregator, AggregatorName, AggregatorState, CrmogmState } from '../types.js';
import { OptionReader, show } from '../../options.js';
import { checkBaseState, checkVector } from '../state.js';
import { declaredNeeds } from '../needs.js';

/** The registry of every method (the wrapper is built by aggregate.ts, which owns it). */
type Registry = () => Readonly<Record<string, Aggregator<AggregatorName>>>;

/**
 * CR-MOGM (Zhou, Li, Ren, Zhang, Zhou & Gao, "On the Convergence of
 * Stochastic Multi-Objective Gradient Manipulation and Beyond", NeurIPS 2022):
 * the weights of a gradient-manipulation method computed on one mini-batch
 * are biased estimates of the full-batch ones; averaging them over the steps
 * with an exponential moving average removes the bias that breaks
 * convergence. Wraps any method whose direction is Σ_t w_t g_t (`inner`):
 *   λ_k = β·λ_{k−1} + (1 − β)·ŵ_k,   direction Σ_t λ_k,t·g_t,
 * ŵ_k the inner method's weights on this step's gradients (λ_1 = ŵ_1). Not
 * for methods whose direction comes from their own buffers (dbmtl, moco), nor
 * for methods that take several batches per step (modo), nor for itself. Options: `inner` (method name; default 'mgda', so that
 * `--balance crmogm` works alone), `innerOptions` (its
 * options), `beta` ∈ [0, 1) (default 0.9); `losses` is passed on to inner
 * methods that take it. State: λ and the inner method's state. Cost: the inner
 * method's plus O(T).
 */
export function crmogmAggregatorOver(registry: Registry): Aggregator<'crmogm'> {
  const lookup = (name: string): Aggregator<AggregatorName> | undefined => (Object.prototype.hasOwnProperty.call(registry(), name) ? registry()[name] : undefined);
  const innerOf = (name: string): Aggregator<AggregatorName> => {
    const inner = lookup(name);
    if (inner === undefined) throw new MultilossError('config', `aggregator 'crmogm': option 'inner' must name an aggregator (got ${show(name)})`);
    return inner;
  };
  return {
    name: 'crmogm',
    // What the inner method needs (with its options) is what CR-MOGM needs.
    needs: (o) => {
      const inner = lookup(typeof o.inner === 'string' ? o.inner : 'mgda');
      const innerOptions = o.innerOptions !== null && typeof o.innerOptions === 'object' ? (o.innerOptions as Record<string, unknown>) : {};
      return inner ? declaredNeeds(inner, innerOptions) : {};
    },
    resolve(options) {
      const r = new OptionReader('crmogm', options);
      const name = r.oneOf('inner', 'mgda', innerNames(registry()));
      const beta = r.number('beta', 0.9, 0, 1, { maxOpen: true });
      const raw = r.object('innerOptions');
      const losses = r.numbers('losses');
      r.done();
      const inner = innerOf(name);
      const innerRaw = { ...(raw ?? {}), ...(losses !== undefined && declaredNeeds(inner, raw ?? {}).losses ? { losses } : {}) };
      const innerOptions = inner.resolve(innerRaw);
      return { inner: name as Exclude<AggregatorName, 'crmogm'>, beta, innerOptions: innerOptions as Record<string, unknown> };
    },
    init: () => ({ method: 'crmogm', step: 0, weights: null, inner: null }),
    checkState(s, T, d) {
      checkBaseState('crmogm', s);
      checkVector('crmogm', 'weights', s.weights, T, true);
      if (s.inner !== null) {
        const inner = innerOf(String((s.inner as { method?: unknown }).method));
        inner.checkState(s.inner, T, d);
      }
    },
    run(ctx, o, state) {
      const inner = innerOf(o.inner);
      if (state.inner !== null && state.inner.method !== o.inner) {
        throw new MultilossError('config', `aggregator 'crmogm': state.inner belongs to aggregator '${String(state.inner.method)}', not to inner '${o.inner}'`);
      }
      const innerState = state.inner ?? inner.init();
      const out = inner.run(ctx, o.innerOptions as never, innerState);
      const weights = Float64Array.from(out.weights);
      if (state.weights !== null) for (let t = 0; t < ctx.T; t++) weights[t] = o.beta * state.weights[t] + (1 - o.beta) * weights[t];
      const next: CrmogmState = { method: 'crmogm', step: state.step + 1, weights: Array.from(weights), inner: out.state as AggregatorState };
      return out.solver ? { weights, state: next, solver: out.solver } : { weights, state: next };
    },
  };
}

/** The methods CR-MOGM can wrap: those whose direction is Σ_t w_t g_t of the rows given, other than itself. */
function innerNames(registry: Readonly<Record<string, Aggregator<AggregatorName>>>): string[] {
  return Object.values(registry)
    .filter((a) => a.name !== 'crmogm' && !a.ownDirection && (declaredNeeds(a, {}).batches ?? 1) === 1)
    .map((a) => a.name);
}
