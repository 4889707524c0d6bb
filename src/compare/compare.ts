/**
 * Joint or separate, and how to balance? `compare` trains, on one seeded
 * split and the same budget, the separate models (one per target) and the
 * joint model under each selected balancing method, each over several seeds,
 * and summarises per head the validation metric (mean ± std over seeds), the
 * multi-task score Δm against the separate models, the parameter count and
 * the training time. Runs are independent: they go to a pool of worker
 * threads (one per core by default). Node-only.
 */
import { availableParallelism } from 'node:os';
import { BALANCING_METHODS } from '../balancing/index.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { MultilossError } from '../errors.js';
import { createMetrics } from '../metrics/index.js';
import type { HeadKind } from '../model/heads/head.js';
import type { Table } from '../data/table.js';
import { subsetImages, type ImageSet } from '../data/images/dataset.js';
import { splitImages, type ImagePart } from '../training/fit-images.js';
import { fitEncoders, labelledRows, splitInput, type FitInput } from '../training/fit.js';
import { resolveMonitor } from '../training/trainer.js';
import type { EarlyStoppingSpec } from '../training/early-stopping.js';
import { fitHead } from '../model/heads/index.js';
import { deltaM, DELTA_M_MONITOR, isDeltaMMonitor, type DeltaMReference } from './delta-m.js';
import { resolveGrid, variantConfig, type Grid, type ResolvedGrid } from './grid.js';
import { runPool } from './pool.js';
import type { PoolOptions } from './pool-options.js';
import { executeRun, warmUp, type RunData, type RunResult, type RunTask } from './run.js';
import { runId, sweepId } from './run-id.js';
import { chooseTrial, planTunedStatic, staticVariant, trialTasks, TUNED_STATIC, type TunedStaticOptions, type TunedStaticPlan, type TunedStaticResult } from './tuned-static.js';

export { runConfig, type RunKind, type RunResult } from './run.js';
export { deltaM, deltaMOf, DELTA_M_MONITOR, isDeltaMMonitor, fitWithDeltaMStopping, type DeltaMReference, type DeltaMStopping } from './delta-m.js';

/** The joint model's balancing methods compared by default. */
export const DEFAULT_COMPARE_METHODS: readonly string[] = ['equal', 'uncertainty', 'dwa', 'famo', 'pcgrad', 'mgda', 'nash', 'upgrad'];
export const DEFAULT_COMPARE_SEEDS = 3;
/** The row label of the separate models (the reference of Δm). */
export const SEPARATE = 'separate';

/** The comparison's data: the training table (split, or with validation data), and optionally test data. */
export interface CompareInput extends FitInput {
  /** Held-out rows the table, Δm and the report are computed on; validation still drives early stopping. */
  test?: Table;
}

/** The data the table's figures are computed on. */
export interface MetricsData {
  /** 'test': the test data given; 'validation': the validation split or validation data. */
  data: 'validation' | 'test';
  /** The file (or table source) of the figures; for the split, the training file it was taken from. */
  source: string;
  /** Whether validation is a split of the training data (true) or a file of its own. */
  split: boolean;
  /** Rows the figures are computed on (with any label). */
  rows: number;
}

/** A run that failed for good (on a queue: after its last attempt); the sweep completes without it. */
export interface FailedRun {
  key: string;
  label: string;
  seed: number;
  error: string;
  attempts: number;
}

/** What an executor brings back: every finished run, and the runs that failed for good. */
export interface RunOutcome {
  results: RunResult[];
  failed: FailedRun[];
}

/** Progress an executor reports beyond finished runs (a queue's running and failed runs). */
export interface ExecutorStatus {
  running: number;
  failed: number;
}

/**
 * Trains a comparison's runs somewhere: the local worker-thread pool (the
 * default) or a job queue (`compare --queue`, see queue/coordinator.ts).
 * `hooks.prepare` says when a task may start (Δm early stopping waits for
 * the separate models); `hooks.onResult` is told of every finished run, once.
 */
export type RunExecutor = (tasks: readonly RunTask[], data: RunData, hooks: PoolOptions & { onStatus?: (status: ExecutorStatus) => void }) => Promise<RunOutcome>;

export interface CompareOptions {
  /** Balancing methods of the joint model (default DEFAULT_COMPARE_METHODS); `grid.methods` takes precedence. */
  methods?: readonly string[];
  /** Seeds per configuration (default 3): the configuration's seed, +1, +2, … The split always uses the configuration's seed. `grid.seeds` takes precedence. */
  seeds?: number;
  /** The sweep's grid: approaches, methods with options, static weights, architectures, learning rates, seeds (see grid.ts). */
  grid?: Grid;
  /** Fingerprint of the data (see run-id.ts's dataFingerprint); part of every run's id. Default: the tables' sources. */
  dataFingerprint?: string;
  /** Where the runs train (default: the worker-thread pool, or this thread with workers 0). */
  execute?: RunExecutor;
  /** Worker threads (default: os.availableParallelism()); 0 trains in this thread, one run after another. */
  workers?: number;
  /** Backend each worker initialises (default: initBackend's choice). */
  backend?: BackendChoice;
  /** Progress after every epoch and every finished run. */
  onProgress?: (progress: CompareProgress) => void;
  /** Non-fatal notices (rows dropped, …). */
  warn?: (message: string) => void;
  /**
   * The tuned static baseline (a `tuned-static` row: static weights searched on the validation data, see tuned-static.ts):
   * true or its options to add it, false to leave it out. Default: on when the methods are the defaults (neither `methods`
   * nor the grid's `methods` or `staticWeights` given), off otherwise.
   */
  tunedStatic?: boolean | TunedStaticOptions;
}

export interface CompareProgress {
  /** Epochs trained so far, over every run (separate models count each sub-model's epochs). */
  epochsDone: number;
  epochsTotal: number;
  runsDone: number;
  runsTotal: number;
  elapsedSeconds: number;
  /** Estimated seconds left (undefined before anything was measured). */
  etaSeconds?: number;
  /** The run that just finished, when this progress report is about one. */
  finished?: RunResult;
  /** On a queue: runs being trained now, and runs failed for good. */
  runsRunning?: number;
  runsFailed?: number;
}

/** A figure over seeds: mean, sample standard deviation (0 for one seed) and the per-seed values. */
export interface SeedStat {
  mean: number;
  std: number;
  values: number[];
}

/** A head's column in the table: its first metric. */
export interface CompareHead {
  name: string;
  kind: HeadKind;
  metric: string;
  higherIsBetter: boolean;
}

export interface CompareRow {
  /** 'separate' or the balancing method (with a grid: its options, architecture and learning rate when they vary). */
  label: string;
  approach: 'joint' | 'separate';
  /** Per head: the validation metric over seeds. */
  heads: Record<string, SeedStat>;
  /** Δm in percent over seeds (per seed against the separate models' mean; the mean is Δm of the mean metrics). */
  deltaM: SeedStat;
  parameters: number;
  /** Training time per run, seconds. */
  seconds: SeedStat;
  /** Epochs per run (mean; summed over sub-models for separate models). */
  epochs: number;
  /** Gradient methods: per head, its share of the update, cos(gradient, update) and decrease vs the plain sum, over seeds (see HeadUpdate). */
  update?: Record<string, { share: SeedStat; cosine: SeedStat; relativeDecrease: SeedStat }>;
}

export interface CompareResult {
  heads: CompareHead[];
  seeds: number[];
  methods: string[];
  /** 'separate' first, then the joint model per method, in the order given. */
  rows: CompareRow[];
  /** The sweep's id: its runs' ids and row labels, hashed (the same sweep has the same id; `compare --resume ID`). */
  sweep?: string;
  /** Runs that failed for good (on a queue, after their last attempt); their rows summarise the seeds that finished. */
  failed?: FailedRun[];
  /** The tuned-static search: every weight vector tried, its validation Δm and metrics, and the one the `tuned-static` row trains. */
  tunedStatic?: TunedStaticResult;
  /** Row labels that are best per column (ties: all of them). */
  best: { heads: Record<string, string[]>; deltaM: string[]; parameters: string[]; seconds: string[] };
  /** Every run, in task order. */
  runs: RunResult[];
  split: { train: number; validation: number; seed: number };
  /** Which data the table's figures (per-head metrics and Δm) are computed on (absent in results saved before it existed: the validation data). */
  metricsData?: MetricsData;
  /** The epoch budget of every run. */
  epochs: number;
  /** Early stopping of the runs, when configured (monitor `validation.deltaM`: see `fitWithDeltaMStopping`). */
  earlyStopping?: EarlyStoppingSpec;
  workers: number;
  seconds: number;
}

/** Sample mean and standard deviation (n − 1; 0 for a single value). */
export function seedStat(values: readonly number[]): SeedStat {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, values: [...values] };
}

/** Each head's column: the first metric of its kind (accuracy, accuracy, micro_f1, rmse, mae). */
export function compareHeads(config: ResolvedConfig): CompareHead[] {
  return config.heads.map((h) => {
    const m = createMetrics(h.kind, { threshold: h.threshold })[0];
    return { name: h.name, kind: h.kind, metric: m.name, higherIsBetter: m.higherIsBetter };
  });
}

/** Checks a method list: known methods, no duplicates; the error lists the valid ones. */
export function checkMethods(methods: readonly string[], what = 'methods'): string[] {
  if (methods.length === 0) throw new MultilossError('usage', `${what}: give at least one balancing method`);
  const seen = new Set<string>();
  for (const m of methods) {
    if (!BALANCING_METHODS.includes(m))
      throw new MultilossError('usage', `${what}: unknown balancing method "${m}"; valid methods: ${BALANCING_METHODS.join(', ')}`);
    if (seen.has(m)) throw new MultilossError('usage', `${what}: "${m}" is given twice`);
    seen.add(m);
  }
  return [...methods];
}

function bestOf(labels: readonly string[], values: readonly number[], higherIsBetter: boolean): string[] {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return [];
  const best = higherIsBetter ? Math.max(...finite) : Math.min(...finite);
  return labels.filter((_, i) => values[i] === best);
}

/** Which of a run's figures: the validation split's (early stopping, Δm monitor) or the test data's. */
export type FiguresOf = 'validation' | 'test';

const metricOf = (r: RunResult, h: CompareHead, on: FiguresOf = 'validation') => r[on]?.heads[h.name]?.metrics[h.metric] ?? NaN;
const runsOf = (runs: readonly RunResult[], label: string) => runs.filter((r) => r.label === label).sort((a, b) => a.seed - b.seed);

/**
 * The reference of Δm: per head, the separate models' validation metric,
 * mean over their seeds (what the table's Δm and a Δm early-stopping
 * monitor measure against).
 */
export function deltaMReference(heads: readonly CompareHead[], runs: readonly RunResult[], on: FiguresOf = 'validation'): DeltaMReference {
  // With a grid over learning rates, the first separate row is the reference.
  const first = runs.find((r) => r.approach === 'separate');
  const sepRuns = first ? runsOf(runs, first.label) : [];
  if (sepRuns.length === 0) throw new Error('Δm reference: no runs of the separate models');
  return {
    heads: heads.map((h) => ({ name: h.name, metric: h.metric, higherIsBetter: h.higherIsBetter, value: seedStat(sepRuns.map((r) => metricOf(r, h, on))).mean })),
  };
}

/** Per head, the update figures over seeds of runs that record them (gradient methods). */
function updateStats(heads: readonly CompareHead[], runs: readonly RunResult[]): Pick<CompareRow, 'update'> {
  const withUpdate = runs.filter((r) => r.update !== undefined);
  if (withUpdate.length === 0) return {};
  const update: NonNullable<CompareRow['update']> = {};
  for (const h of heads) {
    const stat = (key: 'share' | 'cosine' | 'relativeDecrease') => seedStat(withUpdate.map((r) => r.update?.[h.name]?.[key] ?? NaN));
    update[h.name] = { share: stat('share'), cosine: stat('cosine'), relativeDecrease: stat('relativeDecrease') };
  }
  return { update };
}

/** Builds the table from the runs' validation (or test) figures (pure; exported for tests and for re-summarising saved runs). */
export function summarize(heads: readonly CompareHead[], labels: readonly string[], runs: readonly RunResult[], on: FiguresOf = 'validation'): Pick<CompareResult, 'rows' | 'best'> {
  const byLabel = (label: string) => runsOf(runs, label);
  // No finished separate run (all failed on a queue): Δm is not defined.
  const reference = runs.some((r) => r.approach === 'separate') ? deltaMReference(heads, runs, on).heads.map((h) => h.value) : heads.map(() => NaN);
  const directions = heads.map((h) => h.higherIsBetter);
  const rows: CompareRow[] = labels.map((label) => {
    const rs = byLabel(label);
    const headStats: Record<string, SeedStat> = {};
    for (const h of heads) headStats[h.name] = seedStat(rs.map((r) => metricOf(r, h, on)));
    return {
      label,
      approach: rs[0]?.approach ?? (label.startsWith(SEPARATE) ? 'separate' : 'joint'),
      heads: headStats,
      deltaM: seedStat(
        rs.map((r) =>
          deltaM(
            heads.map((h) => metricOf(r, h, on)),
            reference,
            directions,
          ),
        ),
      ),
      parameters: rs[0]?.parameters ?? NaN,
      seconds: seedStat(rs.map((r) => r.seconds)),
      epochs: seedStat(rs.map((r) => r.epochs)).mean,
      ...updateStats(heads, rs),
    };
  });
  const names = rows.map((r) => r.label);
  const best: CompareResult['best'] = {
    heads: {},
    deltaM: bestOf(
      names,
      rows.map((r) => r.deltaM.mean),
      true,
    ),
    parameters: bestOf(
      names,
      rows.map((r) => r.parameters),
      false,
    ),
    seconds: bestOf(
      names,
      rows.map((r) => r.seconds.mean),
      false,
    ),
  };
  for (const h of heads) {
    best.heads[h.name] = bestOf(
      names,
      rows.map((r) => r.heads[h.name].mean),
      h.higherIsBetter,
    );
  }
  return { rows, best };
}

/**
 * The runs of a comparison, in the order they are started: the separate
 * models (the reference of Δm) for every seed, then per seed the joint model
 * under each method.
 */
export function compareTasks(config: ResolvedConfig, methods: readonly string[], seeds: readonly number[], dataFingerprint = 'data'): RunTask[] {
  return sweepTasks(config, resolveGrid({ methods: [...methods], seeds: [...seeds] }, config, { methods, seeds: seeds.length }), dataFingerprint).tasks;
}

/** A sweep's id from its runs: their ids and row labels in order (see run-id.ts). */
export function sweepIdOf(tasks: readonly RunTask[]): string {
  return sweepId(
    tasks.map((t) => t.key),
    [...new Set(tasks.map((t) => t.label))],
  );
}

/**
 * The runs of a sweep, in the order they are started (separate models for
 * every seed, then per seed each joint row), each with its id; a run that two
 * rows describe alike is kept once (`duplicates` names the rows dropped).
 */
export function sweepTasks(config: ResolvedConfig, grid: ResolvedGrid, dataFingerprint: string): { tasks: RunTask[]; labels: string[]; duplicates: string[] } {
  const tasks: RunTask[] = [];
  const labels: string[] = [];
  const duplicates: string[] = [];
  const keys = new Set<string>();
  const rowsOf = (approach: 'separate' | 'joint') => grid.rows.filter((r) => r.variant.approach === approach);
  const rowKeys = new Map<string, string[]>();
  for (const approach of ['separate', 'joint'] as const) {
    for (const seed of grid.seeds) {
      for (const row of rowsOf(approach)) {
        const runConfigured = variantConfig(config, row.variant, seed);
        const key = runId(runConfigured, dataFingerprint);
        rowKeys.set(row.label, [...(rowKeys.get(row.label) ?? []), key]);
        if (keys.has(key)) continue;
        keys.add(key);
        tasks.push({ id: tasks.length, key, label: row.label, seed, variant: row.variant, config: runConfigured });
      }
    }
  }
  for (const row of grid.rows) {
    if (tasks.some((t) => t.label === row.label)) labels.push(row.label);
    else duplicates.push(row.label);
  }
  return { tasks, labels, duplicates };
}

/** Whether the joint runs of a comparison with this configuration stop early on Δm (and so wait for the separate models). */
export function stopsOnDeltaM(config: ResolvedConfig): boolean {
  return isDeltaMMonitor(config.training.earlyStopping?.monitor);
}

/**
 * The split every run of a comparison trains and validates on: the
 * configuration's seeded split (or its validation data), taken once; and the
 * test data, checked now (columns, values, class labels known to the heads)
 * so that a bad test file is an error before any run.
 */
export function compareSplit(config: ResolvedConfig, input: CompareInput, warn?: (message: string) => void): RunData {
  const joint: ResolvedConfig = { ...config, approach: 'joint' };
  const split = splitInput(joint, input, warn);
  const { train, validation } = split;
  if (!validation || validation.length === 0) {
    throw new MultilossError('config', 'compare needs validation data: set validation.split > 0 (or --validation-split) or validation.data');
  }
  const stopping = config.training.earlyStopping;
  // A monitor that names no head or metric is refused before any run starts (Δm is always valid here).
  if (stopping && !isDeltaMMonitor(stopping.monitor)) {
    resolveMonitor(
      stopping,
      config.heads.map((h) => fitHead(h, train, train)),
      true,
    );
  }
  if (!input.test) return { train, validation };
  if (input.test.length === 0) throw new MultilossError('data', `${input.test.source}: no data rows (only a header)`);
  const test = labelledRows(joint, input.test, warn);
  // Encoded once as every run will encode it: a missing feature, a bad value or a class the heads do not know fails here.
  const { preprocessor, heads } = fitEncoders(joint, split);
  preprocessor.transform(test);
  for (const h of heads) h.encode(test);
  return { train, validation, test };
}

/** The configuration every run of a comparison varies (a Δm monitor under its canonical name); also what a queue worker rebuilds from a job. */
export function compareBase(config: ResolvedConfig): ResolvedConfig {
  const onDeltaM = stopsOnDeltaM(config);
  const earlyStopping = onDeltaM ? { ...config.training.earlyStopping, monitor: DELTA_M_MONITOR } : config.training.earlyStopping;
  if (earlyStopping?.mode === 'min' && onDeltaM)
    throw new MultilossError('config', `training.earlyStopping.mode "min": Δm is higher-is-better; leave mode unset when monitoring ${DELTA_M_MONITOR}`);
  return { ...config, approach: 'joint', training: { ...config.training, earlyStopping } };
}

/** Where a list of runs trains: an executor (a queue), or the worker-thread pool (`workers` > 0) or this thread (0). */
export interface RunPlacement {
  execute?: RunExecutor;
  workers: number;
  backend?: BackendChoice;
}

/** What a list of runs tells its caller as it trains (see PoolOptions and ExecutorStatus). */
export type RunHooks = Omit<PoolOptions, 'workers' | 'backend'> & { onStatus?: (status: ExecutorStatus) => void };

/**
 * Trains a list of runs where `placement` says — the one place every sweep
 * (`compare`, its tuned-static search, each rung of `autoBalance`) hands its
 * runs over, so a sweep runs alike on the local pool and on a queue.
 */
export async function runTasks(tasks: readonly RunTask[], data: RunData, placement: RunPlacement, hooks: RunHooks = {}): Promise<RunOutcome> {
  if (tasks.length === 0) return { results: [], failed: [] };
  if (placement.execute) return placement.execute(tasks, data, { workers: placement.workers, backend: placement.backend, ...hooks });
  if (placement.workers === 0) {
    await initBackend(placement.backend);
    await warmUp(tasks[0], data);
    const results: RunResult[] = [];
    for (const t of tasks) {
      const ready = hooks.prepare ? hooks.prepare(t) : t;
      if (!ready) throw new Error(`compare: run ${t.label} (seed ${t.seed}) cannot start before the separate models`);
      const r = await executeRun(ready, data, () => hooks.onEpoch?.(t.id));
      results.push(r);
      hooks.onResult?.(r);
    }
    return { results, failed: [] };
  }
  const results = await runPool(tasks, data, { workers: placement.workers, backend: placement.backend, ...hooks });
  return { results, failed: [] };
}

/** Image data of a comparison: the training images (split as `validation.split` says) or also held-out validation images. */
export interface CompareImages {
  train: ImageSet;
  validation?: ImageSet;
}

/**
 * The split every run of an image comparison trains and validates on, taken
 * once as for tables (`compareSplit`); the runs' tables are the images' labels.
 */
export function compareImageSplit(config: ResolvedConfig, images: CompareImages, warn?: (message: string) => void): RunData {
  const split = splitImages({ ...config, approach: 'joint' }, images.train, images.validation, warn ?? (() => undefined));
  if (!split.validation || split.validation.rows.length === 0) throw new MultilossError('config', 'compare needs validation data: set validation.split > 0 (or --validation-split) or validation.data');
  // Copied out of the sets: the runs (and worker threads) take plain ImageSets.
  const own = (part: ImagePart): ImageSet => subsetImages(part.images, part.rows);
  return { train: split.train.table, validation: split.validation.table, images: { train: own(split.train), validation: own(split.validation) } };
}

/**
 * A comparison's data, tables or images, as every sweep over it (`compare`,
 * `compareImages`, each rung of `autoBalance`) takes it: the split its runs
 * share, taken once; whether validation is a split of the training data; and
 * the default fingerprint of its runs' ids (the sources' names).
 */
export interface SweepData {
  split(base: ResolvedConfig, warn?: (message: string) => void): RunData;
  validationIsSplit: boolean;
  fingerprint: string;
}

/** Whether a comparison's input is images (an ImageSet to train on) rather than tables. */
export function isCompareImages(input: CompareInput | CompareImages): input is CompareImages {
  return !('table' in input);
}

/** The sweep data of tables (`compare`) or images (`compareImages`). */
export function sweepData(input: CompareInput | CompareImages): SweepData {
  if (isCompareImages(input)) {
    return {
      split: (base, warn) => compareImageSplit(base, input, warn),
      validationIsSplit: !input.validation,
      fingerprint: [input.train.source, input.validation?.source ?? ''].join('|'),
    };
  }
  return {
    split: (base, warn) => compareSplit(base, input, warn),
    validationIsSplit: !input.validation,
    fingerprint: [input.table, input.validation, input.test].map((t) => t?.source ?? '').join('|'),
  };
}

/** Trains and summarises a comparison on images (as `compare` does on tables). */
export async function compareImages(config: ResolvedConfig, images: CompareImages, options: CompareOptions = {}): Promise<CompareResult> {
  return compareOn(config, sweepData(images), options);
}

/** Trains and summarises the comparison (see the module comment). */
export async function compare(config: ResolvedConfig, input: CompareInput, options: CompareOptions = {}): Promise<CompareResult> {
  return compareOn(config, sweepData(input), options);
}

/** The comparison on tables or images (see SweepData). */
async function compareOn(config: ResolvedConfig, source: SweepData, options: CompareOptions): Promise<CompareResult> {
  const methodNames = options.grid?.methods === undefined ? checkMethods(options.methods ?? DEFAULT_COMPARE_METHODS) : [];
  const seedCount = options.seeds ?? DEFAULT_COMPARE_SEEDS;
  if (!Number.isInteger(seedCount) || seedCount < 1) throw new MultilossError('usage', `seeds: expected a whole number ≥ 1, got ${seedCount}`);
  const workers = options.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 0) throw new MultilossError('usage', `workers: expected a whole number ≥ 0, got ${workers}`);
  const onDeltaM = stopsOnDeltaM(config);
  const base = compareBase(config);
  const earlyStopping = base.training.earlyStopping;
  const heads = compareHeads(base);
  const data = source.split(base, options.warn);
  const grid = resolveGrid(options.grid ?? {}, base, { methods: methodNames, seeds: seedCount });
  const { seeds } = grid;
  const fingerprint = options.dataFingerprint ?? source.fingerprint;
  const sweep = sweepTasks(base, grid, fingerprint);
  if (sweep.duplicates.length > 0) options.warn?.(`rows ${sweep.duplicates.join(', ')} train the same runs as earlier rows; each run is trained once`);
  const tunedPlan = tunedStaticPlanOf(options, base, sweep.tasks);
  const keyOf = (c: ResolvedConfig) => runId(c, fingerprint);
  // The search's trials train beside the sweep (after its runs), on the first seed.
  const trials = tunedPlan ? trialTasks(tunedPlan, base, sweep.tasks.length, keyOf) : [];
  const tasks: RunTask[] = [...sweep.tasks, ...trials];
  const methods = sweep.labels.filter((l) => sweep.tasks.find((t) => t.label === l)?.variant.approach === 'joint');
  // With Δm early stopping, the joint runs measure Δm against the separate models' mean
  // metrics: they start once every separate run has finished.
  const separateIds = new Set(tasks.filter((t) => t.variant.approach === 'separate').map((t) => t.id));
  if (onDeltaM && separateIds.size === 0) throw new MultilossError('config', `early stopping on ${DELTA_M_MONITOR} needs the separate models: keep approach separate in the grid`);
  const separateDone: RunResult[] = [];
  let reference: DeltaMReference | undefined;
  const prepare = (t: RunTask): RunTask | undefined => {
    if (!onDeltaM || separateIds.has(t.id)) return t;
    return reference ? { ...t, reference } : undefined;
  };
  const noteResult = (r: RunResult) => {
    if (!separateIds.has(r.id)) return;
    separateDone.push(r);
    if (separateDone.length === separateIds.size) reference = deltaMReference(heads, separateDone);
  };

  // Progress in epochs: separate models train one model per head. The tuned-static row's runs
  // (known once its trials have finished) are planned at the full budget from the start.
  const planned = (t: RunTask) => t.config.training.epochs * (t.config.approach === 'separate' ? t.config.heads.length : 1);
  const plannedById = new Map(tasks.map((t) => [t.id, planned(t)]));
  let epochsTotal = tasks.reduce((a, t) => a + planned(t), 0) + (tunedPlan ? seeds.length * base.training.epochs : 0);
  let runsTotal = tasks.length + (tunedPlan ? seeds.length : 0);
  const doneById = new Map<number, number>();
  let epochsDone = 0;
  let runsDone = 0;
  let running = 0;
  let failedCount = 0;
  const start = performance.now();
  // The time left is extrapolated from the epochs since the first one (workers start up before it).
  let first: { at: number; done: number } | undefined;
  const report = (finished?: RunResult) => {
    if (!options.onProgress) return;
    const now = performance.now();
    const elapsedSeconds = (now - start) / 1000;
    first ??= { at: now, done: epochsDone };
    const rate = epochsDone > first.done ? (now - first.at) / 1000 / (epochsDone - first.done) : undefined;
    const etaSeconds = epochsDone >= epochsTotal ? 0 : rate === undefined ? undefined : rate * (epochsTotal - epochsDone);
    options.onProgress({ epochsDone, epochsTotal, runsDone, runsTotal, elapsedSeconds, etaSeconds, finished, ...(options.execute ? { runsRunning: running, runsFailed: failedCount } : {}) });
  };
  const onEpoch = (id: number) => {
    const done = doneById.get(id) ?? 0;
    if (done < (plannedById.get(id) ?? 0)) {
      doneById.set(id, done + 1);
      epochsDone++;
    }
    report();
  };
  const onResult = (r: RunResult) => {
    noteResult(r);
    // Early stopping may end a run before its budget: count the rest as done.
    const plan = plannedById.get(r.id) ?? 0;
    epochsDone += plan - (doneById.get(r.id) ?? 0);
    doneById.set(r.id, plan);
    runsDone++;
    report(r);
  };
  const onStatus = (s: ExecutorStatus) => {
    running = s.running;
    failedCount = s.failed;
    report();
  };
  const placement: RunPlacement = { execute: options.execute, workers, backend: options.backend };
  const hooks = { onEpoch, onResult, prepare, onStatus };
  const outcome = await runTasks(tasks, data, placement, hooks);
  const trialIds = new Set(trials.map((t) => t.id));
  let runs = outcome.results.filter((r) => !trialIds.has(r.id));
  const failed = [...outcome.failed];
  const labels = [...sweep.labels];
  let tunedStatic: TunedStaticResult | undefined;
  if (tunedPlan) {
    const byKey = new Map(outcome.results.filter((r) => trialIds.has(r.id)).map((r) => [r.key, r]));
    const found = runs.some((r) => r.approach === 'separate') ? chooseTrial(tunedPlan, trials, byKey, deltaMReference(heads, runs)) : undefined;
    if (!found) {
      options.warn?.(`${TUNED_STATIC}: no trial finished; the row is left out`);
      epochsTotal -= seeds.length * base.training.epochs;
      runsTotal -= seeds.length;
    } else {
      tunedStatic = found;
      labels.push(TUNED_STATIC);
      const variant = staticVariant(found.weights);
      const rowTasks = seeds.map((seed, i): RunTask => {
        const c = variantConfig(base, variant, seed);
        return { id: tasks.length + i, key: keyOf(c), label: TUNED_STATIC, seed, variant, config: c };
      });
      // A trial on the full budget is the row's run of its seed: taken over, not trained again.
      const reused = rowTasks.flatMap((t) => {
        const r = byKey.get(t.key);
        return r ? [{ ...r, id: t.id, label: TUNED_STATIC }] : [];
      });
      const toTrain = rowTasks.filter((t) => !byKey.has(t.key));
      for (const t of rowTasks) plannedById.set(t.id, planned(t));
      for (const r of reused) onResult(r);
      const row = await runTasks(toTrain, data, placement, hooks);
      runs = [...runs, ...[...reused, ...row.results].sort((a, b) => a.id - b.id)];
      failed.push(...row.failed);
    }
  }
  const on: FiguresOf = data.test ? 'test' : 'validation';
  const { rows, best } = summarize(heads, labels, runs, on);
  const shown = data.test ?? data.validation;
  const metricsData: MetricsData = { data: on, source: shown.source, split: source.validationIsSplit, rows: shown.length };
  return {
    heads,
    seeds,
    methods: tunedStatic ? [...methods, TUNED_STATIC] : methods,
    rows,
    best,
    sweep: sweepIdOf(tasks),
    ...(failed.length > 0 ? { failed } : {}),
    runs,
    ...(tunedStatic ? { tunedStatic } : {}),
    split: { train: data.train.length, validation: data.validation.length, seed: base.training.seed },
    metricsData,
    epochs: base.training.epochs,
    ...(earlyStopping ? { earlyStopping } : {}),
    workers: workers === 0 ? 0 : Math.min(workers, tasks.length),
    seconds: (performance.now() - start) / 1000,
  };
}

/** The tuned-static search of a sweep, or undefined when it is off (or, by default, when the sweep lacks an approach). */
export function tunedStaticPlanOf(options: Pick<CompareOptions, 'tunedStatic' | 'methods' | 'grid'>, base: ResolvedConfig, tasks: readonly RunTask[]): TunedStaticPlan | undefined {
  const tunedOptions = tunedStaticOptionsOf(options);
  if (!tunedOptions) return undefined;
  const both = tasks.some((t) => t.variant.approach === 'separate') && tasks.some((t) => t.variant.approach === 'joint');
  if (both) return planTunedStatic(tunedOptions, base);
  if (options.tunedStatic === undefined) return undefined;
  throw new MultilossError('usage', `${TUNED_STATIC}: the weights are chosen by Δm against the separate models: keep both approaches in the grid`);
}

/**
 * The tuned-static search's options, or undefined when it is off: on by
 * default for the default comparison (no methods, grid methods or static
 * weights given: the rows then show whether a method beats a tuned
 * weighting); a comparison of chosen rows gets it when asked for.
 */
export function tunedStaticOptionsOf(options: Pick<CompareOptions, 'tunedStatic' | 'methods' | 'grid'>): TunedStaticOptions | undefined {
  if (options.tunedStatic === false) return undefined;
  if (options.tunedStatic === true) return {};
  if (options.tunedStatic !== undefined) return options.tunedStatic;
  const chosen = options.methods !== undefined || options.grid?.methods !== undefined || options.grid?.staticWeights !== undefined;
  return chosen ? undefined : {};
}
