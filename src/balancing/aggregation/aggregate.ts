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
import { modoAggregator } from './methods/modo.js';
import { sdmgradAggregator } from './methods/sdmgrad.js';

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
  modo: modoAggregator,
  sdmgrad: sdmgradAggregator,
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
  return aggregateBatches(method, [grads], options, state);
}

/**
 * `aggregate` for a method that takes several independent batches' gradients per step
 * (`aggregatorNeeds(method).batches`, e.g. modo's 3): `batches[b]` is batch b's T×d matrix, the
 * direction combines the last one's rows. One matrix is every batch. Any other count throws.
 */
export function aggregateBatches<M extends AggregatorName>(
  method: M,
  batches: readonly Matrix[],
  options?: AggregatorOptionsMap[M],
  state?: AggregatorState,
): AggregateResult {
  const agg = lookup(method);
  const resolved = validateAggregatorOptions(method, options);
  checkBatchCount(method, agg, (options ?? {}) as Record<string, unknown>, batches.length);
  const all = batches.map((m) => toRows(m));
  const rows = all[all.length - 1];
  for (const b of all) {
    if (b.length !== rows.length || b[0].length !== rows[0].length) {
      throw new MultilossError('config', `aggregator '${method}': every batch's matrix must be ${rows.length}×${rows[0].length}, got ${b.length}×${b[0].length}`);
    }
  }
  const ctx = makeContext(rows, all.length > 1 ? all : undefined);
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

/** Refuses a batch count other than what `method` declares (one is always fine: every batch is it). */
function checkBatchCount(method: string, agg: Aggregator<AggregatorName>, options: Record<string, unknown>, given: number): void {
  const declared = declaredNeeds(agg, options).batches ?? 1;
  if (given === declared || given === 1) return;
  throw new MultilossError('config', `aggregator '${method}' takes ${declared} batch${declared === 1 ? '' : 'es'}' gradients per step, got ${given}`);
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
 * With `batches` > 1 (a method that declares them), K is the (batches·T)² Gram
 * matrix of every batch's rows stacked (batch b's rows at b·T…): the method
 * sees its blocks as `crossGram`, the last batch's block as `gram()`.
 */
export function aggregateGram<M extends AggregatorName>(
  method: M,
  gram: Float64Array,
  T: number,
  d: number,
  options?: AggregatorOptionsMap[M],
  state?: AggregatorState,
  batches = 1,
): { weights: Float64Array; state: AggregatorState; solver?: SolverReport } {
  const agg = lookup(method);
  const resolved = validateAggregatorOptions(method, options);
  if (needsRows(method, (options ?? {}) as Record<string, unknown>)) throw new MultilossError('config', `aggregator '${method}' needs the gradient rows, not only their Gram matrix`);
  checkBatchCount(method, agg, (options ?? {}) as Record<string, unknown>, batches);
  const n = batches * T;
  if (!Number.isInteger(T) || T < 1 || !Number.isInteger(d) || d < 1 || gram.length !== n * n) {
    throw new MultilossError('config', `Gram matrix: expected ${n}×${n} entries for ${batches} batch(es) of T = ${T} tasks of dimension ${d}, got ${gram.length}`);
  }
  if (!allFinite(gram)) throw new MultilossError('config', 'Gram matrix: non-finite entry (gradient magnitudes overflow)');
  // Block (a, b) of the batches' joint Gram matrix: G_a G_bᵀ.
  const block = (a: number, b: number): Float64Array => {
    if (batches === 1) return gram;
    const out = new Float64Array(T * T);
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) out[i * T + j] = gram[(a * T + i) * n + b * T + j];
    return out;
  };
  const last = block(batches - 1, batches - 1);
  const ctx: GradContext = {
    T,
    d,
    get rows(): never {
      throw new MultilossError('config', `aggregator '${method}': the gradient rows are not available (Gram-only call)`);
    },
    gram: () => last,
    crossGram: block,
  };
  const st = state ?? agg.init();
  agg.checkState(st, T, d);
  const out = agg.run(ctx, resolved, st);
  if (out.direction !== undefined) throw new MultilossError('config', `aggregator '${method}' needs the gradient rows, not only their Gram matrix`);
  if (!allFinite(out.weights)) throw new MultilossError('training', `aggregator '${method}': the weights are not finite (gradient magnitudes overflow)`);
  return out.solver ? { weights: out.weights, state: out.state, solver: out.solver } : { weights: out.weights, state: out.state };
}
