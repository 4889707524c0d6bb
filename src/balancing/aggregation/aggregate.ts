/** The registry of methods and the `aggregate` entry point (re-exported by index.ts). */
import { MultilossError } from '../../errors.js';
import { allFinite, assertFinite, combine, makeContext, toRows } from './matrix.js';
import { declaredNeeds } from './needs.js';
import type { AggregateResult, Aggregator, AggregatorName, AggregatorNeeds, AggregatorOptionsMap, AggregatorState, GradContext, Matrix, ResolvedOptions, SolverReport } from './types.js';
import { sumAggregator } from './methods/sum.js';
import { meanAggregator } from './methods/mean.js';
import { staticAggregator } from './methods/static.js';
import { mgdaAggregator } from './methods/mgda.js';
import { pcgradAggregator } from './methods/pcgrad.js';
import { gradvacAggregator } from './methods/gradvac.js';
import { cagradAggregator } from './methods/cagrad.js';
import { imtlAggregator } from './methods/imtl.js';
import { nashAggregator } from './methods/nash.js';
import { alignedAggregator } from './methods/aligned.js';
import { upgradAggregator } from './methods/upgrad.js';
import { dbmtlAggregator } from './methods/dbmtl.js';
import { dualprojAggregator } from './methods/dualproj.js';
import { configAggregator } from './methods/config.js';
import { fairgradAggregator } from './methods/fairgrad.js';
import { excessmtlAggregator } from './methods/excessmtl.js';
import { mocoAggregator } from './methods/moco.js';
import { crmogmAggregatorOver } from './methods/crmogm.js';
import { graddropAggregator } from './methods/graddrop.js';

const REGISTRY: { [M in AggregatorName]: Aggregator<M> } = {
  sum: sumAggregator,
  mean: meanAggregator,
  static: staticAggregator,
  mgda: mgdaAggregator,
  pcgrad: pcgradAggregator,
  gradvac: gradvacAggregator,
  cagrad: cagradAggregator,
  imtl: imtlAggregator,
  nash: nashAggregator,
  aligned: alignedAggregator,
  upgrad: upgradAggregator,
  dbmtl: dbmtlAggregator,
  dualproj: dualprojAggregator,
  config: configAggregator,
  fairgrad: fairgradAggregator,
  excessmtl: excessmtlAggregator,
  moco: mocoAggregator,
  crmogm: crmogmAggregatorOver(() => REGISTRY as unknown as Record<string, Aggregator<AggregatorName>>),
  graddrop: graddropAggregator,
};

/** Every method name, in a stable order. */
export const AGGREGATORS: readonly AggregatorName[] = Object.freeze(Object.keys(REGISTRY) as AggregatorName[]);

export function isAggregatorName(method: unknown): method is AggregatorName {
  return typeof method === 'string' && Object.prototype.hasOwnProperty.call(REGISTRY, method);
}

function lookup(method: unknown): Aggregator<AggregatorName> {
  if (!isAggregatorName(method)) {
    throw new MultilossError('config', `unknown aggregator ${JSON.stringify(method)}; valid aggregators: ${AGGREGATORS.join(', ')}`);
  }
  return REGISTRY[method] as unknown as Aggregator<AggregatorName>;
}

/**
 * Checks `options` for `method` and returns them with the defaults filled in.
 * Throws MultilossError('config') for an unknown method (listing the valid
 * ones), an unknown option, or an option of the wrong type or out of range
 * (naming it and its valid range). Per-task lengths are checked by `aggregate`.
 */
export function validateAggregatorOptions<M extends AggregatorName>(method: M, options: unknown): ResolvedOptions<M>;
export function validateAggregatorOptions(method: string, options: unknown): ResolvedOptions;
export function validateAggregatorOptions(method: string, options: unknown): ResolvedOptions {
  // The method's OptionReader refuses options that are not an object.
  return lookup(method).resolve((options ?? {}) as Record<string, unknown>);
}

/** A fresh state for `method` (what `aggregate` uses when none is given). */
export function initialAggregatorState<M extends AggregatorName>(method: M): AggregatorState<M> {
  return lookup(method).init() as AggregatorState<M>;
}

/**
 * Combines the per-task gradients into one update direction with `method`.
 * Pure: `state` (from the previous call's result, or omitted for a fresh
 * start) is not modified; pass the returned `state` to the next call.
 */
export function aggregate<M extends AggregatorName>(
  method: M,
  grads: Matrix,
  options?: AggregatorOptionsMap[M],
  state?: AggregatorState,
): AggregateResult {
  const agg = lookup(method);
  const resolved = validateAggregatorOptions(method, options);
  const rows = toRows(grads);
  const ctx = makeContext(rows);
  const st = state ?? agg.init();
  agg.checkState(st, ctx.T, ctx.d);
  const out = agg.run(ctx, resolved, st);
  const direction = out.direction ?? combine(rows, out.weights, ctx.d);
  if (!allFinite(direction) || !allFinite(out.weights)) {
    assertFinite(rows);
    throw new MultilossError('training', `aggregator '${method}': the direction is not finite (gradient magnitudes overflow)`);
  }
  return out.solver ? { direction, weights: out.weights, state: out.state, solver: out.solver } : { direction, weights: out.weights, state: out.state };
}

/** What `method` with these options needs from a training loop (its declaration; see AggregatorNeeds). */
export function aggregatorNeeds(method: AggregatorName, options: Record<string, unknown> = {}): AggregatorNeeds {
  return declaredNeeds(lookup(method) as Aggregator<AggregatorName>, options);
}

/** Whether `method` with these options needs the gradient rows themselves, not only GGᵀ. */
export function needsRows(method: AggregatorName, options: Record<string, unknown> = {}): boolean {
  return aggregatorNeeds(method, options).rows === true;
}

/**
 * Internal (the training loop): the weights of `method` from a precomputed
 * Gram matrix K = GGᵀ (T×T, row-major) of T gradient rows of length d, without
 * the rows; the caller forms the direction Σ_t w_t g_t itself (for example
 * with tensor ops, so the d-vectors never leave the backend). Same options,
 * state handling and results as `aggregate` for every method except those
 * for which `needsRows` holds, which throw. K must be finite and symmetric.
 */
export function aggregateGram<M extends AggregatorName>(
  method: M,
  gram: Float64Array,
  T: number,
  d: number,
  options?: AggregatorOptionsMap[M],
  state?: AggregatorState,
): { weights: Float64Array; state: AggregatorState; solver?: SolverReport } {
  const agg = lookup(method);
  const resolved = validateAggregatorOptions(method, options);
  if (needsRows(method, (options ?? {}) as Record<string, unknown>)) throw new MultilossError('config', `aggregator '${method}' needs the gradient rows, not only their Gram matrix`);
  if (!Number.isInteger(T) || T < 1 || !Number.isInteger(d) || d < 1 || gram.length !== T * T) {
    throw new MultilossError('config', `Gram matrix: expected ${T}×${T} entries for T = ${T} tasks of dimension ${d}, got ${gram.length}`);
  }
  if (!allFinite(gram)) throw new MultilossError('config', 'Gram matrix: non-finite entry (gradient magnitudes overflow)');
  const ctx: GradContext = {
    T,
    d,
    get rows(): never {
      throw new MultilossError('config', `aggregator '${method}': the gradient rows are not available (Gram-only call)`);
    },
    gram: () => gram,
  };
  const st = state ?? agg.init();
  agg.checkState(st, T, d);
  const out = agg.run(ctx, resolved, st);
  if (out.direction !== undefined) throw new MultilossError('config', `aggregator '${method}' needs the gradient rows, not only their Gram matrix`);
  if (!allFinite(out.weights)) throw new MultilossError('training', `aggregator '${method}': the weights are not finite (gradient magnitudes overflow)`);
  return out.solver ? { weights: out.weights, state: out.state, solver: out.solver } : { weights: out.weights, state: out.state };
}
