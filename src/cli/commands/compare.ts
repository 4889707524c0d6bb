import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { compare, checkMethods, compareSplit, DEFAULT_COMPARE_METHODS, DEFAULT_COMPARE_SEEDS, SEPARATE, type CompareProgress } from '../../compare/compare.js';
import { compareNotes, compareReportHtml, formatCompareTable } from '../../compare/report.js';
import { DELTA_M_MONITOR, isDeltaMMonitor } from '../../compare/delta-m.js';
import { parseConfig } from '../../config/schema.js';
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
        stream.write(
          `[${p.runsDone}/${p.runsTotal}] ${what}, seed ${r.seed}: ${r.seconds.toFixed(1)}s; ${Math.round((100 * p.epochsDone) / p.epochsTotal)}% done after ${duration(p.elapsedSeconds)}${left}\n`,
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

export async function runCompare(flags: CompareFlags): Promise<void> {
  const methods = flags.methods
    ? checkMethods(
        flags.methods
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        '--methods',
      )
    : [...DEFAULT_COMPARE_METHODS];
  checkOutputPath('--report', flags.report);
  checkOutputPath('--json', flags.json);
  const raw = buildConfig({ ...flags, json: undefined });
  // --patience and --no-early-stopping are merged by buildConfig, as for train.
  if (flags.monitor !== undefined) {
    if (flags.earlyStopping === false) throw new MultilossError('usage', '--monitor with --no-early-stopping: give one of them');
    const training = { ...((raw.training as Record<string, unknown> | undefined) ?? {}) };
    const given = training.earlyStopping;
    const stopping = { ...(typeof given === 'object' && given !== null ? given : {}) } as Record<string, unknown>;
    stopping.monitor = isDeltaMMonitor(flags.monitor) ? DELTA_M_MONITOR : flags.monitor;
    raw.training = { ...training, earlyStopping: stopping };
  }
  const config = parseConfig(raw, flags.config ?? 'command line');
  if (config.approach !== undefined && !flags.quiet) log(`note: compare trains both approaches; approach: ${config.approach} in the configuration is not used`);
  const resolved = resolveConfig(config);
  const selection = { columns: configuredColumns(resolved) };
  const table = await readDataFile(config.data as string, config.format, selection);
  const validation = config.validation?.data ? await readDataFile(config.validation.data, config.format, selection) : undefined;
  const test = flags.testData !== undefined ? await readDataFile(flags.testData, config.format, selection) : undefined;
  // Checks the split, the test data and the monitor before the first line of output: bad input stays one line.
  compareSplit(resolved, { table, validation, test });
  const seeds = flags.seeds ?? DEFAULT_COMPARE_SEEDS;
  const runs = seeds * (methods.length + 1);
  if (!flags.quiet) {
    log(
      `multiloss compare: separate models and the joint model under ${methods.join(', ')}; ${seeds} seed${seeds > 1 ? 's' : ''} each (${runs} runs); ${table.length} rows from ${config.data}${test ? `; metrics on test data ${flags.testData} (${test.length} rows)` : ''}`,
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
    result = await compare(
      resolved,
      { table, validation, test },
      { methods, seeds, workers: flags.workers, backend: flags.backend, onProgress: progress.onProgress, warn: (m) => log(`warning: ${m}`) },
    );
  } finally {
    progress.done();
  }
  process.stdout.write(`${formatCompareTable(result)}\n\n${compareNotes(result).join('\n')}\n`);
  if (flags.json) {
    writeFileAtomic(
      flags.json,
      `${JSON.stringify({ format: 'multiloss-compare', libraryVersion: VERSION, data: config.data, ...(flags.testData !== undefined ? { testData: flags.testData } : {}), config: resolved, ...result }, null, 2)}\n`,
    );
    if (!flags.quiet) log(`wrote ${flags.json}`);
  }
  if (flags.report) {
    const html = await compareReportHtml(result, {
      subtitle: `${config.data} · ${result.runs.length} runs on ${result.workers || 1} thread${result.workers > 1 ? 's' : ''} in ${duration(result.seconds)} · multiloss ${VERSION}`,
    });
    writeFileAtomic(flags.report, html);
    if (!flags.quiet) log(`wrote ${flags.report}`);
  }
  if (!flags.quiet) log(`compared in ${duration(result.seconds)} on ${result.workers || 1} thread${result.workers > 1 ? 's' : ''}`);
}
