import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import {
  compare,
  compareBase,
  compareImages,
  compareImageSplit,
  type CompareImages,
  checkMethods,
  compareSplit,
  DEFAULT_COMPARE_METHODS,
  DEFAULT_COMPARE_SEEDS,
  SEPARATE,
  sweepIdOf,
  sweepTasks,
  tunedStaticPlanOf,
  type CompareInput,
  type CompareProgress,
  type RunExecutor,
} from '../../compare/compare.js';
import { autoBalance, type AutoBalanceOptions, type AutoProgress } from '../../compare/auto/auto-balance.js';
import { autoReportHtml, formatAutoReport } from '../../compare/auto/report.js';
import { autoCandidates, AUTO_MODES } from '../../compare/auto/candidates.js';
import type { GradientMode } from '../../balancing/gradient-methods.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { parseGrid, resolveGrid, type Grid } from '../../compare/grid.js';
import { queueExecutor, readSweepRecord } from '../../compare/queue/coordinator.js';
import { parseQueueUrl } from '../../compare/queue/connection.js';
import { loadQueueLibraries } from '../../compare/queue/libraries.js';
import type { DataRefs, FileRef } from '../../compare/queue/job.js';
import { displayLocation, displayUrl, downloadDataFile, isDataUrl } from '../../io/data-url.js';
import type { Table } from '../../data/table.js';
import { dataFingerprint, fileFingerprint } from '../../compare/run-id.js';
import { readConfigFile } from '../../io/config-file.js';
import { compareNotes, compareReportHtml, formatCompareTable, formatTunedStaticTrials } from '../../compare/report.js';
import { TUNED_STATIC, type TunedStaticOptions } from '../../compare/tuned-static.js';
import { DELTA_M_MONITOR, isDeltaMMonitor } from '../../compare/delta-m.js';
import { isImageSource, parseConfig, type Config, type ImageSource } from '../../config/schema.js';
import { describeImageSource, imageSourceFingerprint, readCompareImages } from '../../io/image-source.js';
import { resolveConfig } from '../../config/resolve.js';
import { MultilossError } from '../../errors.js';
import { writeFileAtomic } from '../../io/files.js';
import { configuredColumns, readDataFile } from '../../io/table-file.js';
import { VERSION } from '../../version.js';

import { log, type Backend } from './shared.js';
import { buildConfig } from './train.js';

export interface CompareFlags {
  config?: string;
  data?: string;
  target?: string[];
  features?: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  validationSplit?: number;
  validationData?: string;
  /** Held-out test file the table, Δm and the report are computed on. */
  testData?: string;
  seed?: number;
  methods?: string;
  seeds?: number;
  /** YAML grid file (approaches, methods with options, staticWeights, architectures, learningRates, seeds); flags replace its entries. */
  grid?: string;
  /** Comma-separated approaches (separate,joint). */
  approaches?: string;
  /** Comma-separated architecture kinds of the joint model. */
  architectures?: string;
  /** Comma-separated learning rates. */
  learningRates?: string;
  /** The tuned-static row: true (--tuned-static), false (--no-tuned-static), undefined: by default with the default methods. */
  tunedStatic?: boolean;
  tunedStaticTrials?: number;
  tunedStaticEpochs?: number;
  /** Choose a method by successive halving and train it (autoBalance). */
  auto?: boolean;
  autoEta?: number;
  autoMinEpochs?: number;
  autoRungSeeds?: number;
  /** Comma-separated gradient modes tried with --auto (default param,rep). */
  modes?: string;
  /** Print the resolved runs (id, row, seed) and stop. */
  dryRun?: boolean;
  /** redis:// or rediss:// address: train on `multiloss worker` processes through this queue. */
  queue?: string;
  /** With --queue: the id of a sweep to pick up (its configuration, grid and data come from the queue). */
  resume?: string;
  /** With --queue: attempts per run before it counts as failed (default 3). */
  attempts?: number;
  workers?: number;
  /** Early-stopping monitor of every run (`deltaM`: Δm against the separate models); overrides training.earlyStopping.monitor. */
  monitor?: string;
  /** Early-stopping patience of every run (epochs); overrides training.earlyStopping.patience. */
  patience?: number;
  /** false: `--no-early-stopping`. */
  earlyStopping?: boolean;
  json?: string;
  report?: string;
  backend: Backend;
  quiet?: boolean;
}

/** An output file's directory must exist: checked before hours of training, not after. */
function checkOutputPath(flag: string, path: string | undefined): void {
  if (path === undefined) return;
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new MultilossError('usage', `${flag} ${path}: directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new MultilossError('usage', `${flag} ${path}: ${dir} is not a directory`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new MultilossError('usage', `${flag} ${path}: is a directory, expected a file name`);
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Overall progress on stderr: a bar with the estimated time left on a terminal, one line per finished run elsewhere. */
function progressReporter(quiet: boolean): { onProgress?: (p: CompareProgress) => void; done(): void } {
  if (quiet) return { done: () => undefined };
  const stream = process.stderr;
  if (!stream.isTTY) {
    return {
      onProgress: (p) => {
        if (!p.finished) return;
        const r = p.finished;
        const what = r.label === SEPARATE ? 'separate models' : `joint ${r.label}`;
        const left = p.runsDone < p.runsTotal ? `, about ${duration(p.etaSeconds ?? NaN)} left` : '';
        const queued = p.runsRunning !== undefined ? `; ${p.runsRunning} running, ${p.runsFailed ?? 0} failed` : '';
        stream.write(
          `[${p.runsDone}/${p.runsTotal}] ${what}, seed ${r.seed}: ${r.seconds.toFixed(1)}s; ${Math.round((100 * p.epochsDone) / p.epochsTotal)}% done after ${duration(p.elapsedSeconds)}${left}${queued}\n`,
        );
      },
      done: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'compare |{bar}| {percentage}% | {runs}/{runsTotal} runs | {elapsed} elapsed, ETA {left}',
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: (p) => {
      const payload = {
        runs: p.runsDone,
        runsTotal: p.runsTotal,
        elapsed: duration(p.elapsedSeconds),
        left: p.etaSeconds === undefined ? '…' : duration(p.etaSeconds),
      };
      if (!started) {
        bar.start(p.epochsTotal, p.epochsDone, payload);
        started = true;
      } else {
        bar.update(p.epochsDone, payload);
      }
    },
    done: () => {
      if (started) bar.stop();
    },
  };
}

const list = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The grid of a command line: the --grid file with the flags that replace its entries. */
function gridOf(flags: CompareFlags): Grid {
  const fromFile = flags.grid !== undefined ? parseGrid(readConfigFile(flags.grid), flags.grid) : {};
  const given: Record<string, unknown> = { ...fromFile };
  if (flags.methods) {
    const methods = list(flags.methods);
    // Errors name the flag: each method known (METHOD or METHOD:MODE), none twice.
    methods.forEach((m, i) => {
      if (methods.indexOf(m) !== i) throw new MultilossError('usage', `--methods: "${m}" is given twice`);
    });
    checkMethods([...new Set(methods.map((m) => m.split(':')[0]))], '--methods');
    given.methods = methods;
  }
  if (flags.seeds !== undefined) given.seeds = flags.seeds;
  if (flags.approaches) given.approaches = list(flags.approaches);
  if (flags.architectures) given.architectures = list(flags.architectures);
  if (flags.learningRates) {
    given.learningRates = list(flags.learningRates).map((v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new MultilossError('usage', `--learning-rates: "${v}" is not a number > 0`);
      return n;
    });
  }
  return parseGrid(given, flags.grid ?? 'command line');
}

/** A configuration's validation data source, if any. */
const held = (config: Config) => config.validation?.data;

/** The images of a comparison on image data (read whole); refused with --test-data (a table file). */
function compareImageData(config: Config, flags: CompareFlags): CompareImages {
  if (flags.testData !== undefined) throw new MultilossError('usage', '--test-data: a table file; on image data the figures are computed on the validation images');
  return readCompareImages(config);
}

/** An image source's location (its folder or IDX file, absolute) and fingerprint: what queue workers read and check. */
async function imageRef(source: ImageSource): Promise<FileRef> {
  return { location: describeImageSource(source), fingerprint: await imageSourceFingerprint(source) };
}

/** A file's location (absolute) and fingerprint: what queue workers read and check. */
async function fileRef(path: string): Promise<FileRef> {
  return { location: resolve(path), fingerprint: await fileFingerprint(path) };
}

/** The tuned-static flags as compare's option (undefined: compare's default). */
function tunedStaticOf(flags: CompareFlags): boolean | TunedStaticOptions | undefined {
  const given = flags.tunedStaticTrials !== undefined || flags.tunedStaticEpochs !== undefined;
  if (flags.tunedStatic === false) {
    if (given) throw new MultilossError('usage', `--${flags.tunedStaticTrials !== undefined ? 'tuned-static-trials' : 'tuned-static-epochs'} with --no-tuned-static: give one of them`);
    return false;
  }
  if (!given) return flags.tunedStatic;
  return {
    ...(flags.tunedStaticTrials !== undefined ? { trials: flags.tunedStaticTrials } : {}),
    ...(flags.tunedStaticEpochs !== undefined ? { epochs: flags.tunedStaticEpochs } : {}),
  };
}

/** --auto's flags that need it, and the flags it cannot take: checked before anything is read. */
function checkAutoFlags(flags: CompareFlags): void {
  if (!flags.auto) {
    const stray = ([['autoEta', '--auto-eta'], ['autoMinEpochs', '--auto-min-epochs'], ['autoRungSeeds', '--auto-rung-seeds'], ['modes', '--modes']] as const).find(([k]) => flags[k] !== undefined);
    if (stray) throw new MultilossError('usage', `${stray[1]}: only with --auto`);
    return;
  }
  const refused = ([['grid', '--grid'], ['approaches', '--approaches'], ['architectures', '--architectures'], ['learningRates', '--learning-rates'], ['resume', '--resume'], ['dryRun', '--dry-run']] as const).find(
    ([k]) => flags[k] !== undefined && flags[k] !== false,
  );
  if (refused) throw new MultilossError('usage', `--auto with ${refused[1]}: auto chooses among --methods (in each of --modes) and tuned-static; give one of them`);
  for (const m of flags.modes !== undefined ? list(flags.modes) : [])
    if (!(AUTO_MODES as readonly string[]).includes(m)) throw new MultilossError('usage', `--modes: unknown gradient mode "${m}"; valid modes: ${AUTO_MODES.join(', ')}`);
  if (flags.autoEta !== undefined && flags.autoEta < 2) throw new MultilossError('usage', `--auto-eta must be a whole number ≥ 2`);
  if (flags.autoMinEpochs !== undefined && flags.epochs !== undefined && flags.autoMinEpochs > flags.epochs)
    throw new MultilossError('usage', `--auto-min-epochs ${flags.autoMinEpochs}: more than --epochs ${flags.epochs}`);
}

export async function runCompare(flags: CompareFlags): Promise<void> {
  checkAutoFlags(flags);
  if (flags.resume !== undefined && flags.queue === undefined) throw new MultilossError('usage', '--resume SWEEP: give the queue the sweep is on (--queue redis://…)');
  if (flags.attempts !== undefined && flags.queue === undefined) throw new MultilossError('usage', '--attempts: only with --queue');
  const queue = flags.queue !== undefined ? parseQueueUrl(flags.queue) : undefined;
  // Missing optional packages are named before any data is read.
  if (queue && !flags.dryRun) await loadQueueLibraries();
  checkOutputPath('--report', flags.report);
  checkOutputPath('--json', flags.json);
  const record = flags.resume !== undefined && flags.queue !== undefined ? await readSweepRecord(flags.queue, flags.resume) : undefined;
  if (record) {
    // The sweep as it was queued: its configuration, grid and data files (checked against their fingerprints).
    flags = { ...flags, testData: record.data.test?.location };
  }
  const grid = record ? record.grid : gridOf(flags);
  const tunedStatic = tunedStaticOf(flags);
  if (grid.methods === undefined) checkMethods(DEFAULT_COMPARE_METHODS);
  const raw = record ? { ...record.config, data: isImageSource(record.config.data) ? record.config.data : record.data.train.location } : buildConfig({ ...flags, json: undefined });
  // --patience and --no-early-stopping are merged by buildConfig, as for train.
  if (flags.monitor !== undefined) {
    if (flags.earlyStopping === false) throw new MultilossError('usage', '--monitor with --no-early-stopping: give one of them');
    const training = { ...((raw.training as Record<string, unknown> | undefined) ?? {}) };
    const given = training.earlyStopping;
    const stopping = { ...(typeof given === 'object' && given !== null ? given : {}) } as Record<string, unknown>;
    stopping.monitor = isDeltaMMonitor(flags.monitor) ? DELTA_M_MONITOR : flags.monitor;
    raw.training = { ...training, earlyStopping: stopping };
  }
  const config = parseConfig(raw, record ? `sweep ${flags.resume}` : (flags.config ?? 'command line'));
  if (config.approach !== undefined && !flags.quiet) log(`note: compare trains both approaches; approach: ${config.approach} in the configuration is not used`);
  const resolved = resolveConfig(config);
  const images = isImageSource(config.data) ? compareImageData(config, flags) : undefined;
  if (!images && isImageSource(held(config))) throw new MultilossError('config', 'validation.data: images, but the training data are a table file');
  const selection = { columns: configuredColumns(resolved) };
  // A path, or an http(s) URL downloaded into the data cache (workers download it too); each with its fingerprint.
  const read = async (location: string, what: string): Promise<{ table: Table; ref: FileRef }> => {
    if (!isDataUrl(location)) return { table: await readDataFile(location, config.format, selection), ref: await fileRef(location) };
    const copy = await downloadDataFile(location, { what });
    const table = await readDataFile(copy.path, config.format, selection);
    table.source = displayUrl(location);
    return { table, ref: { location, fingerprint: copy.fingerprint } };
  };
  const train = images ? undefined : await read(config.data as string, 'data file');
  const validationRead = !images && config.validation?.data ? await read(config.validation.data as string, 'validation file') : undefined;
  const testRead = flags.testData !== undefined ? await read(flags.testData, 'test file') : undefined;
  const [table, validation, test] = [train?.table, validationRead?.table, testRead?.table];
  // Checks the split, the test data and the monitor before the first line of output: bad input stays one line.
  if (images) compareImageSplit(resolved, images);
  else compareSplit(resolved, { table: table as Table, validation, test });
  const heldImages = held(config);
  // What queue workers read and check, and what the runs' ids fingerprint: the data's content (table
  // files' bytes; image sources' files and reading options), not where they are.
  const refs: DataRefs = images
    ? {
        train: await imageRef(config.data as ImageSource),
        ...(isImageSource(heldImages) ? { validation: await imageRef(heldImages) } : {}),
      }
    : {
        train: (train as { ref: FileRef }).ref,
        ...(validationRead ? { validation: validationRead.ref } : {}),
        ...(testRead ? { test: testRead.ref } : {}),
        ...(config.format ? { format: config.format } : {}),
      };
  const dataName = images ? describeImageSource(config.data as ImageSource) : displayLocation(config.data as string);
  if (record) {
    for (const [what, ref] of [['data', refs.train], ['validation', refs.validation], ['test', refs.test]] as const) {
      const want = record.data[what === 'data' ? 'train' : what]?.fingerprint;
      if (ref && ref.fingerprint !== want) throw new MultilossError('data', `--resume ${flags.resume}: ${displayLocation(ref.location)} has changed since the sweep was queued`);
    }
  }
  const fingerprint = dataFingerprint({ train: refs.train.fingerprint, validation: refs.validation?.fingerprint, test: refs.test?.fingerprint });
  const base = compareBase(resolved);
  const resolvedGrid = resolveGrid(grid, base, { methods: DEFAULT_COMPARE_METHODS, seeds: DEFAULT_COMPARE_SEEDS });
  const sweep = sweepTasks(base, resolvedGrid, fingerprint);
  const runs = sweep.tasks.length;
  const tunedPlan = tunedStaticPlanOf({ tunedStatic, grid }, base, sweep.tasks);
  const jointRows = [...sweep.labels.filter((l) => !l.startsWith(SEPARATE)), ...(tunedPlan ? [TUNED_STATIC] : [])];
  if (flags.dryRun) {
    const lines = sweep.tasks.map((t) => {
      const opt = t.config.training.optimizer;
      return `${t.key}  ${t.variant.approach.padEnd(8)}  ${t.label}  seed ${t.seed}  lr ${opt.learningRate}${t.variant.approach === 'joint' ? `  ${t.config.architecture.kind}` : ''}`;
    });
    process.stdout.write(`sweep ${sweepIdOf(sweep.tasks)}: ${runs} runs (${sweep.labels.length} rows × ${resolvedGrid.seeds.length} seeds)\n${lines.join('\n')}\n`);
    if (sweep.duplicates.length > 0) log(`note: rows ${sweep.duplicates.join(', ')} train the same runs as earlier rows; each run is trained once`);
    if (tunedPlan)
      process.stdout.write(
        `then ${TUNED_STATIC}: ${tunedPlan.candidates.length} weight vectors, each trained with seed ${tunedPlan.seed} for ${tunedPlan.epochs ?? base.training.epochs} epochs, and the best on every seed\n`,
      );
    return;
  }
  let execute: RunExecutor | undefined;
  if (flags.queue !== undefined && queue) {
    execute = queueExecutor({
      url: flags.queue,
      config: raw,
      grid,
      data: refs,
      ...(flags.attempts !== undefined ? { attempts: flags.attempts } : {}),
      warn: (m) => log(`warning: ${m}`),
      onQueued: (id, reused) => {
        if (!flags.quiet) log(`sweep ${id} on ${queue.display}: ${flags.auto ? "the rung's" : runs} runs queued${reused > 0 ? `, ${reused} already finished (reused)` : ''}; waiting for workers (multiloss worker --queue …)`);
      },
    });
  }
  if (flags.auto) {
    await runAuto(flags, resolved, images ?? { table: table as Table, validation, test }, fingerprint, tunedStatic, grid, execute, dataName);
    return;
  }
  if (!flags.quiet) {
    log(
      `multiloss compare: separate models and the joint model under ${jointRows.join(', ')}; ${resolvedGrid.seeds.length} seed${resolvedGrid.seeds.length > 1 ? 's' : ''} each (${runs} runs); ${images ? `${images.train.n} images` : `${(table as Table).length} rows`} from ${dataName}${test ? `; metrics on test data ${displayLocation(flags.testData as string)} (${test.length} rows)` : ''}`,
    );
    const es = resolved.training.earlyStopping;
    if (es && isDeltaMMonitor(es.monitor)) {
      log(
        `early stopping on Δm (patience ${es.patience ?? 10}): the separate models train first; each joint run then stops when its Δm against their mean validation metrics stalls`,
      );
    }
  }
  const progress = progressReporter(flags.quiet ?? false);
  let result;
  try {
    const options = {
      grid,
      dataFingerprint: fingerprint,
      workers: flags.workers,
      backend: flags.backend,
      onProgress: progress.onProgress,
      warn: (m: string) => log(`warning: ${m}`),
      ...(tunedStatic !== undefined ? { tunedStatic } : {}),
      ...(execute ? { execute } : {}),
    };
    result = images ? await compareImages(resolved, images, options) : await compare(resolved, { table: table as Table, validation, test }, options);
  } finally {
    progress.done();
  }
  const trials = formatTunedStaticTrials(result);
  process.stdout.write(`${formatCompareTable(result)}\n\n${compareNotes(result).join('\n')}\n${trials ? `\n${trials}\n` : ''}`);
  if (flags.json) {
    writeFileAtomic(
      flags.json,
      `${JSON.stringify({ format: 'multiloss-compare', libraryVersion: VERSION, data: dataName, ...(flags.testData !== undefined ? { testData: displayLocation(flags.testData) } : {}), config: resolved, ...result }, null, 2)}\n`,
    );
    if (!flags.quiet) log(`wrote ${flags.json}`);
  }
  if (flags.report) {
    const html = await compareReportHtml(result, {
      subtitle: `${dataName} · ${result.runs.length} runs on ${result.workers || 1} thread${result.workers > 1 ? 's' : ''} in ${duration(result.seconds)} · multiloss ${VERSION}`,
    });
    writeFileAtomic(flags.report, html);
    if (!flags.quiet) log(`wrote ${flags.report}`);
  }
  const where = queue ? `through ${queue.display}` : `on ${result.workers || 1} thread${result.workers > 1 ? 's' : ''}`;
  if (!flags.quiet) log(`compared in ${duration(result.seconds)} ${where}${result.failed ? `; ${result.failed.length} run${result.failed.length > 1 ? 's' : ''} failed` : ''} (sweep ${result.sweep})`);
}

/** `compare --auto`: autoBalance with the command line's options, its tables on stdout, JSON and HTML. */
async function runAuto(
  flags: CompareFlags,
  resolved: ResolvedConfig,
  input: CompareInput | CompareImages,
  fingerprint: string,
  tunedStatic: boolean | TunedStaticOptions | undefined,
  grid: Grid,
  execute: RunExecutor | undefined,
  dataName: string,
): Promise<void> {
  const methods = (grid.methods ?? DEFAULT_COMPARE_METHODS).map((m) => (typeof m === 'string' ? m : m.method));
  const modes = flags.modes !== undefined ? (list(flags.modes) as GradientMode[]) : undefined;
  // The candidates, checked now so that errors name the flag.
  autoCandidates(methods, modes ?? AUTO_MODES, false, '--methods');
  const options: AutoBalanceOptions = {
    methods,
    ...(modes ? { modes } : {}),
    ...(tunedStatic !== undefined ? { tunedStatic } : {}),
    ...(flags.autoEta !== undefined ? { eta: flags.autoEta } : {}),
    ...(flags.autoMinEpochs !== undefined ? { minEpochs: flags.autoMinEpochs } : {}),
    ...(flags.autoRungSeeds !== undefined ? { rungSeeds: flags.autoRungSeeds } : {}),
    ...(flags.seeds !== undefined ? { seeds: flags.seeds } : {}),
    dataFingerprint: fingerprint,
    workers: flags.workers,
    backend: flags.backend,
    warn: (m) => log(`warning: ${m}`),
    ...(execute ? { execute } : {}),
    ...(flags.quiet
      ? {}
      : {
          onProgress: (p: AutoProgress) => {
            if (p.finished) {
              const r = p.finished;
              log(`[${p.phase === 'rung' ? `rung ${(p.rung ?? 0) + 1}/${p.rungs}` : 'final'} ${p.runsDone}/${p.runsTotal}] ${r.label === SEPARATE ? 'separate models' : r.label}, seed ${r.seed}: ${r.epochs} epochs, ${r.seconds.toFixed(1)}s`);
            }
          },
        }),
  };
  const result = await autoBalance(resolved, input, options);
  process.stdout.write(`${formatAutoReport(result)}\n`);
  if (flags.json) {
    writeFileAtomic(flags.json, `${JSON.stringify({ format: 'multiloss-auto', libraryVersion: VERSION, data: dataName, config: resolved, ...result }, null, 2)}\n`);
    if (!flags.quiet) log(`wrote ${flags.json}`);
  }
  if (flags.report) {
    writeFileAtomic(flags.report, await autoReportHtml(result, { subtitle: `${dataName} · ${result.cost.runs} runs in ${duration(result.cost.seconds)} · multiloss ${VERSION}` }));
    if (!flags.quiet) log(`wrote ${flags.report}`);
  }
  if (!flags.quiet) log(`chose ${result.chosen.label} in ${duration(result.cost.seconds)}`);
}
