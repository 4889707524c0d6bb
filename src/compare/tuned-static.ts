/**
 * The tuned static baseline (`tuned-static`): `static` balancing with head
 * weights searched on the validation data. A comparison that shows only
 * equal weights beside the specialised methods flatters them; a weighting
 * tuned on the same budget is the baseline a method has to beat.
 *
 * The search: equal weights first, then seeded draws from the simplex
 * (Dirichlet(1), scaled so the weights sum to the number of heads, as equal
 * weights do), each trained once on the comparison's split with the
 * configuration's first seed; the trial with the highest validation Δm
 * against the separate models wins (ties: the earlier trial). The chosen
 * weights are then trained like every other row, on every seed.
 * Browser-safe.
 */
import type { BalanceSpec } from '../balancing/index.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { MultilossError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { deltaMOf, type DeltaMReference } from './delta-m.js';
import { variantConfig, type RunVariant } from './grid.js';
import type { RunResult, RunTask } from './run.js';

/** The row label of the tuned static baseline. */
export const TUNED_STATIC = 'tuned-static';
export const DEFAULT_TUNED_STATIC_TRIALS = 8;

/** Head name → weight of `static` balancing. */
export type HeadWeights = Record<string, number>;

export interface TunedStaticOptions {
  /** Weight vectors tried (default 8): equal weights, then seeded draws from the simplex. Ignored with `candidates`. */
  trials?: number;
  /** Epochs of each trial (default: the comparison's budget, so the chosen trial is also the row's run of the first seed, trained once). */
  epochs?: number;
  /** Seed of the weight draws (default: the configuration's seed). */
  seed?: number;
  /** The weight vectors to try, instead of equal weights and draws. */
  candidates?: HeadWeights[];
}

/** The search as resolved: what is tried, for how long, on which seed. */
export interface TunedStaticPlan {
  candidates: HeadWeights[];
  /** Epochs per trial (undefined: the comparison's budget). */
  epochs?: number;
  /** The training seed of every trial (the comparison's first seed). */
  seed: number;
}

/** One weight vector tried, and how it did on the validation data. */
export interface TunedStaticTrial {
  weights: HeadWeights;
  /** The trial run's id (see run-id.ts). */
  key: string;
  /** Validation Δm against the separate models (NaN when the run failed). */
  deltaM: number;
  /** Per head, the validation column metric. */
  heads: Record<string, number>;
  epochs: number;
  seconds: number;
}

export interface TunedStaticResult {
  trials: TunedStaticTrial[];
  /** The index in `trials` of the weights the `tuned-static` row trains. */
  chosen: number;
  weights: HeadWeights;
  /** Epochs per trial. */
  epochs: number;
  seed: number;
  /** The search always chooses on the validation data (with test data, the table is on data the choice did not see). */
  chosenOn: 'validation';
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * `trials` weight vectors over `heads`: equal weights (all 1), then draws
 * from Dirichlet(1) scaled to sum to the number of heads, to 3 decimals; the
 * same seed gives the same vectors.
 */
export function staticCandidates(heads: readonly string[], trials: number, seed: number): HeadWeights[] {
  const T = heads.length;
  const rng = new Rng(`tuned-static:${seed}`);
  const out: HeadWeights[] = [Object.fromEntries(heads.map((h) => [h, 1]))];
  while (out.length < trials) {
    // Dirichlet(1, …, 1): normalised Exp(1) draws (1 − u > 0 keeps the log finite).
    const draws = heads.map(() => -Math.log(1 - rng.next()));
    const sum = draws.reduce((a, b) => a + b, 0);
    out.push(Object.fromEntries(heads.map((h, i) => [h, round3((T * draws[i]) / sum)])));
  }
  return out;
}

/** Checks the options and resolves the search; errors name the option (`where`, e.g. `--tuned-static-trials` or `tunedStatic.trials`). */
export function planTunedStatic(options: TunedStaticOptions, base: ResolvedConfig, where: { trials: string; epochs: string; candidates: string } = { trials: 'tunedStatic.trials', epochs: 'tunedStatic.epochs', candidates: 'tunedStatic.candidates' }): TunedStaticPlan {
  const heads = base.heads.map((h) => h.name);
  const seed = options.seed ?? base.training.seed;
  if (!Number.isInteger(seed)) throw new MultilossError('usage', `tunedStatic.seed: expected a whole number, got ${seed}`);
  if (options.epochs !== undefined && (!Number.isInteger(options.epochs) || options.epochs < 1))
    throw new MultilossError('usage', `${where.epochs}: expected a whole number ≥ 1, got ${options.epochs}`);
  let candidates: HeadWeights[];
  if (options.candidates !== undefined) {
    if (options.candidates.length === 0) throw new MultilossError('usage', `${where.candidates}: give at least one weight vector`);
    options.candidates.forEach((w, i) => {
      for (const [name, v] of Object.entries(w)) {
        if (!heads.includes(name)) throw new MultilossError('usage', `${where.candidates}[${i}]: unknown head "${name}"; heads: ${heads.join(', ')}`);
        if (!Number.isFinite(v) || v < 0) throw new MultilossError('usage', `${where.candidates}[${i}].${name}: expected a weight ≥ 0, got ${v}`);
      }
      if (!heads.some((h) => (w[h] ?? 1) > 0)) throw new MultilossError('usage', `${where.candidates}[${i}]: every weight is 0`);
    });
    candidates = options.candidates.map((w) => Object.fromEntries(heads.map((h) => [h, w[h] ?? 1])));
  } else {
    const trials = options.trials ?? DEFAULT_TUNED_STATIC_TRIALS;
    if (!Number.isInteger(trials) || trials < 1) throw new MultilossError('usage', `${where.trials}: expected a whole number ≥ 1, got ${trials}`);
    candidates = staticCandidates(heads, trials, seed);
  }
  return { candidates, ...(options.epochs !== undefined ? { epochs: options.epochs } : {}), seed: base.training.seed };
}

/** The `static` balance of a weight vector. */
export const staticBalance = (weights: HeadWeights): BalanceSpec => ({ method: 'static', weights });

/** A joint run under static `weights` (with an epoch budget of its own when given). */
export function staticVariant(weights: HeadWeights, epochs?: number): RunVariant {
  return { approach: 'joint', balance: staticBalance(weights), ...(epochs !== undefined ? { epochs } : {}) };
}

/** The trial runs of a search, with ids from `firstId` on; `keyOf` gives a run's stable id. */
export function trialTasks(plan: TunedStaticPlan, base: ResolvedConfig, firstId: number, keyOf: (config: ResolvedConfig) => string): RunTask[] {
  return plan.candidates.map((weights, i) => {
    const variant = staticVariant(weights, plan.epochs);
    const config = variantConfig(base, variant, plan.seed);
    return { id: firstId + i, key: keyOf(config), label: `${TUNED_STATIC} trial ${i + 1}`, seed: plan.seed, variant, config };
  });
}

/**
 * The trials' figures and the chosen one: the highest validation Δm against
 * `reference` (ties and NaN: the earlier trial). `results` holds the trial
 * runs that finished (by key); a missing one counts as failed (NaN).
 */
export function chooseTrial(plan: TunedStaticPlan, tasks: readonly RunTask[], results: ReadonlyMap<string, RunResult>, reference: DeltaMReference): TunedStaticResult | undefined {
  const trials: TunedStaticTrial[] = tasks.map((t, i) => {
    const r = results.get(t.key);
    return {
      weights: plan.candidates[i],
      key: t.key,
      deltaM: r ? deltaMOf(r.validation, reference) : NaN,
      heads: Object.fromEntries(reference.heads.map((h) => [h.name, r?.validation.heads[h.name]?.metrics[h.metric] ?? NaN])),
      epochs: r?.epochs ?? NaN,
      seconds: r?.seconds ?? NaN,
    };
  });
  let chosen = -1;
  trials.forEach((t, i) => {
    if (Number.isFinite(t.deltaM) && (chosen < 0 || t.deltaM > trials[chosen].deltaM)) chosen = i;
  });
  if (chosen < 0) return undefined;
  return { trials, chosen, weights: trials[chosen].weights, epochs: tasks[0].config.training.epochs, seed: plan.seed, chosenOn: 'validation' };
}
