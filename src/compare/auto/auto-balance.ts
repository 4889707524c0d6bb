/**
 * `autoBalance()` / `multiloss compare --auto`: which balancing method for
 * this data, without training every method on the full budget. Successive
 * halving (schedule.ts) over the candidates (candidates.ts: every method in
 * each gradient mode, and the tuned static baseline): each rung trains the
 * surviving candidates on a short budget, ranks them by validation Δm against
 * the separate models (trained once, with the full budget, on every seed),
 * and promotes the best 1/η to a budget η times longer. The winner is then
 * trained with the full budget on every seed. Why it chose (reasons.ts): the
 * table at each rung, the gradient conflict the gradient methods measured,
 * each candidate's cost per step.
 *
 * Every run goes through `runTasks`, so `--auto` runs on the local pool and on
 * a queue alike; a run whose id was already trained (a rung on the full
 * budget, a trial that is the winner's first seed) is taken over, not redone.
 * Node-only (as compare).
 */
import { availableParallelism } from 'node:os';
import type { GradientMode } from '../../balancing/gradient-methods.js';
import type { BalanceSpec } from '../../balancing/index.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { MultilossError } from '../../errors.js';
import {
  compareBase,
  compareHeads,
  DEFAULT_COMPARE_METHODS,
  DEFAULT_COMPARE_SEEDS,
  deltaMReference,
  SEPARATE,
  stopsOnDeltaM,
  summarize,
  runTasks,
  sweepData,
  type CompareHead,
  type CompareImages,
  type CompareInput,
  type CompareResult,
  type FailedRun,
  type FiguresOf,
  type MetricsData,
  type RunExecutor,
  type RunHooks,
} from '../compare.js';
import type { BackendChoice } from '../../engine/backend.js';
import { type DeltaMReference } from '../delta-m.js';
import { variantConfig, type RunVariant } from '../grid.js';
import { runId } from '../run-id.js';
import type { RunResult, RunTask } from '../run.js';
import { chooseTrial, planTunedStatic, staticBalance, trialTasks, type TunedStaticOptions, type TunedStaticResult } from '../tuned-static.js';
import { autoCandidates, AUTO_MODES, type AutoCandidate } from './candidates.js';
import { conflictSummary, reasonLines, rungRow, stepCosts, type ConflictSummary, type RungRow, type StepCost } from './reasons.js';
import { halvingSchedule, promote } from './schedule.js';

export const DEFAULT_AUTO_ETA = 3;

export interface AutoBalanceOptions {
  /** Candidate methods (names, or METHOD:MODE); default the comparison's default methods. */
  methods?: readonly string[];
  /** Gradient modes a gradient method is tried in (default param and rep). */
  modes?: readonly GradientMode[];
  /** The tuned static baseline as a candidate (default on; its trials train at the first rung's budget unless `epochs` says otherwise). */
  tunedStatic?: boolean | TunedStaticOptions;
  /** Keep the best ⌈n/η⌉ at each rung, budgets η times longer (default 3). */
  eta?: number;
  /** The first rung's budget in epochs (default: the full budget / η^rungs, at least 1). */
  minEpochs?: number;
  /** Seeds per candidate in each rung (default 1: the configuration's seed). */
  rungSeeds?: number;
  /** Seeds of the final training of the winner and of the separate models (default 3). */
  seeds?: number;
  /** Fingerprint of the data (see run-id.ts); part of every run's id. */
  dataFingerprint?: string;
  /** Where the runs train (default: the worker-thread pool, or this thread with workers 0); a queue's executor runs every rung. */
  execute?: RunExecutor;
  /** Worker threads (default: os.availableParallelism()); 0 trains in this thread. */
  workers?: number;
  backend?: BackendChoice;
  /** Told when a phase starts and after every finished run. */
  onProgress?: (progress: AutoProgress) => void;
  warn?: (message: string) => void;
}

export interface AutoProgress {
  /** 'rung' (index given), or 'final' (the winner on the full budget). */
  phase: 'rung' | 'final';
  rung?: number;
  rungs: number;
  /** Runs of this phase finished, and in total. */
  runsDone: number;
  runsTotal: number;
  finished?: RunResult;
  elapsedSeconds: number;
}

/** A rung as it went. */
export interface AutoRung {
  index: number;
  epochs: number;
  seeds: number[];
  /** The candidates of the rung, best Δm first. */
  rows: RungRow[];
  /** Labels promoted (best first; the last rung's is the winner). */
  promoted: string[];
}

/** What auto spent, against what the full sweep of the same candidates would. */
export interface AutoCost {
  /** Runs trained (taken-over runs not counted). */
  runs: number;
  /** Epochs trained over every run (separate models: summed over their models). */
  epochs: number;
  /** Wall-clock seconds of the whole selection and final training. */
  seconds: number;
  /** The full sweep: every candidate (tuned-static: its trials and seeds) and the separate models, on every seed with the full budget (epochs at most: early stopping ends runs sooner). */
  fullSweep: { runs: number; epochs: number };
  /** The runs' epoch budgets summed (what auto plans at most), comparable with fullSweep.epochs. */
  plannedEpochs: number;
}

export interface AutoBalanceResult {
  heads: CompareHead[];
  candidates: AutoCandidate[];
  eta: number;
  rungs: AutoRung[];
  /** The winner: its label, and the balance spec it trains with (tuned-static: static with the chosen weights). */
  chosen: { label: string; balance: BalanceSpec };
  /** The final table: the separate models and the winner with the full budget on every seed (a comparison result: format it with formatCompareTable). */
  final: CompareResult;
  tunedStatic?: TunedStaticResult;
  reasons: { conflict?: ConflictSummary; costs: StepCost[]; lines: string[] };
  cost: AutoCost;
  /** Every run trained or taken over: the rungs' and the final's. */
  runs: RunResult[];
  failed?: FailedRun[];
}

const positiveInt = (v: number | undefined, name: string) => {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new MultilossError('usage', `${name}: expected a whole number ≥ 1, got ${v}`);
};

/**
 * Selects a balancing method by successive halving and trains it (see the
 * module comment), on tables (`{ table, validation?, test? }`, as `compare`)
 * or images (`{ train, validation? }` image sets, as `compareImages`).
 */
export async function autoBalance(config: ResolvedConfig, input: CompareInput | CompareImages, options: AutoBalanceOptions = {}): Promise<AutoBalanceResult> {
  positiveInt(options.seeds, 'seeds');
  positiveInt(options.rungSeeds, 'rungSeeds');
  positiveInt(options.minEpochs, 'minEpochs');
  const workers = options.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 0) throw new MultilossError('usage', `workers: expected a whole number ≥ 0, got ${workers}`);
  const eta = options.eta ?? DEFAULT_AUTO_ETA;
  const tunedOn = options.tunedStatic !== false;
  const candidates = autoCandidates(options.methods ?? DEFAULT_COMPARE_METHODS, options.modes ?? AUTO_MODES, tunedOn);
  const base = compareBase(config);
  const maxEpochs = base.training.epochs;
  const schedule = halvingSchedule({ candidates: candidates.length, eta, maxEpochs, minEpochs: options.minEpochs });
  const tunedOptions = typeof options.tunedStatic === 'object' ? options.tunedStatic : {};
  const firstEpochs = schedule[0]?.epochs ?? maxEpochs;
  const tunedPlan = tunedOn ? planTunedStatic({ ...tunedOptions, epochs: tunedOptions.epochs ?? firstEpochs }, base) : undefined;
  const heads = compareHeads(base);
  const source = sweepData(input);
  const data = source.split(base, options.warn);
  const fingerprint = options.dataFingerprint ?? source.fingerprint;
  const seeds = Array.from({ length: options.seeds ?? DEFAULT_COMPARE_SEEDS }, (_, i) => base.training.seed + i);
  const rungSeeds = seeds.length >= (options.rungSeeds ?? 1) ? seeds.slice(0, options.rungSeeds ?? 1) : Array.from({ length: options.rungSeeds ?? 1 }, (_, i) => base.training.seed + i);
  const onDeltaM = stopsOnDeltaM(base);
  const stepsPerEpoch = Math.max(1, Math.ceil(data.train.length / base.training.batchSize));
  const placement = { execute: options.execute, workers, backend: options.backend };
  const start = performance.now();

  // Every run by id: a run asked for again (same configuration and data) is taken over.
  const done = new Map<string, RunResult>();
  const failed: FailedRun[] = [];
  let nextId = 0;
  let trainedRuns = 0;
  let trainedEpochs = 0;
  let plannedEpochs = 0;
  let reference: DeltaMReference | undefined;
  const task = (label: string, variant: RunVariant, seed: number): RunTask => {
    const c = variantConfig(base, variant, seed);
    return { id: nextId++, key: runId(c, fingerprint), label, seed, variant, config: c };
  };
  const planned = (t: RunTask) => t.config.training.epochs * (t.config.approach === 'separate' ? t.config.heads.length : 1);
  /** Trains the tasks not trained yet (the one call site of runTasks); returns every task's result by key. */
  const train = async (tasks: RunTask[], progress: Omit<AutoProgress, 'runsDone' | 'runsTotal' | 'elapsedSeconds' | 'finished'>): Promise<void> => {
    const fresh = tasks.filter((t, i) => !done.has(t.key) && tasks.findIndex((u) => u.key === t.key) === i);
    plannedEpochs += fresh.reduce((a, t) => a + planned(t), 0);
    let runsDone = 0;
    const tell = (finished?: RunResult) =>
      options.onProgress?.({ ...progress, runsDone, runsTotal: fresh.length, elapsedSeconds: (performance.now() - start) / 1000, ...(finished ? { finished } : {}) });
    tell();
    const hooks: RunHooks = {
      // Joint runs that stop on Δm carry the reference (the separate models train first then).
      prepare: (t) => (onDeltaM && t.variant.approach === 'joint' ? (reference ? { ...t, reference } : undefined) : t),
      onResult: (r) => {
        runsDone++;
        tell(r);
      },
    };
    const outcome = await runTasks(fresh, data, placement, hooks);
    for (const r of outcome.results) {
      done.set(r.key, r);
      trainedRuns++;
      trainedEpochs += r.epochs;
    }
    failed.push(...outcome.failed);
  };
  const resultsOf = (tasks: readonly RunTask[]) => tasks.flatMap((t) => {
    const r = done.get(t.key);
    return r ? [{ ...r, id: t.id, label: t.label }] : [];
  });

  // The separate models (the reference of every rung's Δm and of the final table), on every seed.
  const separateTasks = seeds.map((seed) => task(SEPARATE, { approach: 'separate' }, seed));
  const referenceOf = () => {
    const runs = resultsOf(separateTasks);
    if (runs.length === 0) throw new MultilossError('data', 'auto: every run of the separate models failed; Δm has no reference');
    return deltaMReference(heads, runs);
  };
  // With Δm early stopping the joint runs need the reference before they start; otherwise the
  // separate models train beside the first rung.
  if (onDeltaM) {
    await train(separateTasks, { phase: 'rung', rung: 0, rungs: schedule.length });
    reference = referenceOf();
  }

  let alive = candidates.map((_, i) => i);
  let tunedStatic: TunedStaticResult | undefined;
  const rungs: AutoRung[] = [];
  const firstRungRuns: RunResult[] = [];
  for (const rung of schedule) {
    const variantOf = (c: AutoCandidate): RunVariant | undefined =>
      c.kind === 'method'
        ? { approach: 'joint', balance: c.balance, epochs: rung.epochs }
        : tunedStatic
          ? { approach: 'joint', balance: staticBalance(tunedStatic.weights), epochs: rung.epochs }
          : undefined;
    const byCandidate = new Map<number, RunTask[]>();
    for (const i of alive) {
      const v = variantOf(candidates[i]);
      byCandidate.set(i, v ? rungSeeds.map((seed) => task(candidates[i].label, v, seed)) : []);
    }
    // Tuned-static's first rung is its weight search: every trial on the first seed.
    const trials = tunedPlan && !tunedStatic && alive.some((i) => candidates[i].kind === 'tuned-static') ? trialTasks(tunedPlan, base, nextId, (c) => runId(c, fingerprint)) : [];
    nextId += trials.length;
    const rungTasks = [...(rung.index === 0 && !onDeltaM ? separateTasks : []), ...[...byCandidate.values()].flat(), ...trials];
    await train(rungTasks, { phase: 'rung', rung: rung.index, rungs: schedule.length });
    reference ??= referenceOf();
    if (trials.length > 0 && tunedPlan) {
      tunedStatic = chooseTrial(tunedPlan, trials, done, reference);
      if (!tunedStatic) options.warn?.('tuned-static: no trial finished; the candidate drops out');
    }
    const rows = alive.map((i) => {
      const c = candidates[i];
      const runs = c.kind === 'tuned-static' && trials.length > 0 ? resultsOf(trials.filter((t) => tunedStatic && t.key === tunedStatic.trials[tunedStatic.chosen].key)) : resultsOf(byCandidate.get(i) ?? []);
      if (rung.index === 0) firstRungRuns.push(...runs);
      return rungRow(c.label, runs, heads, reference as DeltaMReference, stepsPerEpoch);
    });
    const order = promote(
      rows.map((r) => r.deltaM.mean),
      rung.keep,
    );
    const ranks = new Map(
      promote(
        rows.map((r) => r.deltaM.mean),
        rows.length,
      ).map((k, rank) => [k, rank + 1]),
    );
    const table = rows.map((r, k) => ({ ...r, rank: ranks.get(k) ?? rows.length, promoted: order.includes(k) })).sort((a, b) => a.rank - b.rank);
    rungs.push({ index: rung.index, epochs: rung.epochs, seeds: rungSeeds, rows: table, promoted: order.map((k) => rows[k].label) });
    // The next rung keeps the candidates' order (ties go to the earlier candidate).
    alive = order.map((k) => alive[k]).sort((a, b) => a - b);
  }
  const winner = candidates[alive[0]];
  if (winner.kind === 'tuned-static' && !tunedStatic) throw new MultilossError('data', 'auto: the tuned-static search has no finished trial');
  const balance: BalanceSpec = winner.kind === 'method' ? winner.balance : staticBalance((tunedStatic as TunedStaticResult).weights);

  // The winner on the full budget, on every seed (beside the separate models when no rung trained them).
  const finalTasks = seeds.map((seed) => task(winner.label, { approach: 'joint', balance }, seed));
  await train([...(schedule.length === 0 && !onDeltaM ? separateTasks : []), ...finalTasks], { phase: 'final', rungs: schedule.length });
  reference ??= referenceOf();
  const finalRuns = [...resultsOf(separateTasks), ...resultsOf(finalTasks)];
  const on: FiguresOf = data.test ? 'test' : 'validation';
  const { rows, best } = summarize(heads, [SEPARATE, winner.label], finalRuns, on);
  const shown = data.test ?? data.validation;
  const metricsData: MetricsData = { data: on, source: shown.source, split: source.validationIsSplit, rows: shown.length };
  const seconds = (performance.now() - start) / 1000;
  const final: CompareResult = {
    heads,
    seeds,
    methods: [winner.label],
    rows,
    best,
    runs: finalRuns,
    split: { train: data.train.length, validation: data.validation.length, seed: base.training.seed },
    metricsData,
    epochs: maxEpochs,
    ...(base.training.earlyStopping ? { earlyStopping: base.training.earlyStopping } : {}),
    workers,
    seconds,
  };

  const conflict = conflictSummary(firstRungRuns);
  const firstRows = rungs[0]?.rows ?? [];
  const costs = stepCosts(firstRows);
  const lines = reasonLines(
    rungs.map((r) => ({ index: r.index, epochs: r.epochs, seeds: r.seeds.length, rows: r.rows })),
    winner.kind === 'tuned-static'
      ? `${winner.label} (static weights ${Object.entries((tunedStatic as TunedStaticResult).weights)
          .map(([h, w]) => `${h} ${w}`)
          .join(', ')})`
      : winner.label,
    conflict,
    costs,
  );
  const separateEpochs = maxEpochs * heads.length * seeds.length;
  const fullRuns = candidates.reduce((a, c) => a + (c.kind === 'tuned-static' ? (tunedPlan?.candidates.length ?? 0) + seeds.length - 1 : seeds.length), seeds.length);
  const fullEpochs = separateEpochs + (fullRuns - seeds.length) * maxEpochs;
  return {
    heads,
    candidates,
    eta,
    rungs,
    chosen: { label: winner.label, balance },
    final,
    ...(tunedStatic ? { tunedStatic } : {}),
    reasons: { ...(conflict ? { conflict } : {}), costs, lines },
    cost: { runs: trainedRuns, epochs: trainedEpochs, seconds, fullSweep: { runs: fullRuns, epochs: fullEpochs }, plannedEpochs },
    runs: [...done.values()],
    ...(failed.length > 0 ? { failed } : {}),
  };
}
