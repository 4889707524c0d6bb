import { collectGarbage } from '../collect-garbage.js';
import { existsSync, rmSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { isImageSource, parseConfig, type ImageSource } from '../../config/schema.js';
import { imagesAt, isImageStream } from '../../data/images/dataset.js';
import { describeImageSource, readTrainingImages } from '../../io/image-source.js';
import { fitImageModel, fitSeparateImages } from '../../training/fit-images.js';
import { resolveConfig } from '../../config/resolve.js';
import { initBackend } from '../../engine/backend.js';
import { isDataUrl } from '../../io/data-url.js';
import { MultilossError } from '../../errors.js';
import { readConfigFile } from '../../io/config-file.js';
import { saveAnyModel } from '../../io/separate-dir.js';
import { checkpointWriter, disposeAnyCheckpoint, readAnyCheckpoint, resumeNote, separateCheckpointWriter, type AnyCheckpoint } from '../../io/checkpoints.js';
import { deltaMNeedsBaseline, isDeltaMMonitor } from '../../compare/delta-m.js';
import { configuredColumns, readDataFile } from '../../io/table-file.js';
import type { Table } from '../../data/table.js';
import { checkReportPath, writeTrainingReport } from '../../io/report-file.js';
import { asReportable } from '../../report/training-report.js';
import type { MultiOutputModel } from '../../model/multi-output.js';
import { fitModel, splitInput } from '../../training/fit.js';
import { checkSpillDir, fitStreamedFiles } from '../../io/stream-spill.js';
import { fitSeparate } from '../../training/fit-separate.js';
import { metricsTable, stopLines } from '../format.js';
import { progressCallbacks } from '../progress.js';

import { log, type Backend } from './shared.js';

export interface TrainFlags {
  config?: string;
  data?: string;
  /** Images: a folder of PNG/JPEG files (with --labels), or an IDX images file. */
  images?: string;
  /** With --images: the labels file (CSV) naming each image's file, or the IDX labels file. */
  labels?: string;
  /** With --images (a folder): the labels file's column naming each image's file (default "file"). */
  fileColumn?: string;
  /** With --images (a folder): 1 (grayscale) or 3 (RGB). */
  channels?: number;
  /** With --images: HEIGHTxWIDTH every image is resized to. */
  size?: string;
  /** With --images: unit, symmetric or standardize (checked by the configuration's schema). */
  scale?: string;
  target?: string[];
  features?: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  validationSplit?: number;
  validationData?: string;
  seed?: number;
  /** Early-stopping patience (turns early stopping on, also without validation data: then on train.loss). */
  patience?: number;
  /** false: `--no-early-stopping` (commander sets true when the flag is absent). */
  earlyStopping?: boolean;
  balance?: string;
  approach?: 'joint' | 'separate';
  architecture?: string;
  out?: string;
  checkpointEvery?: number;
  checkpointDir?: string;
  resume?: string;
  backend: Backend;
  json?: boolean;
  quiet?: boolean;
  report?: string;
  /** Read the data in chunks, never whole (two passes; see training/fit-stream.ts). */
  stream?: boolean;
  /** With --stream: rows in the shuffle buffer. */
  shuffleBuffer?: number;
  /** With --stream: the folder the spill goes in (default: the OS temporary folder). */
  spillDir?: string;
}

/** Flags override the config file; the merged object is validated by the schema. */
export function buildConfig(flags: TrainFlags): Record<string, unknown> {
  const config: Record<string, unknown> = flags.config ? readConfigFile(flags.config) : {};
  if (flags.data) config.data = isDataUrl(flags.data) ? flags.data : resolve(flags.data);
  const images = imageFlags(flags);
  if (images) config.data = images;
  if (flags.stream) config.stream = typeof config.stream === 'object' && config.stream !== null ? config.stream : true;
  if (flags.shuffleBuffer !== undefined) {
    if (!config.stream) throw new MultilossError('usage', '--shuffle-buffer: only with --stream (or stream: true in the configuration)');
    config.stream = { ...(typeof config.stream === 'object' ? config.stream : {}), shuffleBuffer: flags.shuffleBuffer };
  }
  if (flags.spillDir !== undefined) {
    if (!config.stream && !flags.resume) throw new MultilossError('usage', '--spill-dir: only with --stream (or stream: true in the configuration)');
    checkSpillDir(flags.spillDir, '--spill-dir');
  }
  if (flags.target?.length) {
    config.targets = flags.target.map((t) => {
      const at = t.lastIndexOf(':');
      if (at <= 0 || at === t.length - 1) throw new MultilossError('usage', `--target ${JSON.stringify(t)}: expected NAME:KIND, e.g. species:classification`);
      return { name: t.slice(0, at), kind: t.slice(at + 1) };
    });
  }
  if (flags.features)
    config.features = flags.features
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const training = { ...((config.training as Record<string, unknown> | undefined) ?? {}) };
  if (flags.epochs !== undefined) training.epochs = flags.epochs;
  if (flags.batchSize !== undefined) training.batchSize = flags.batchSize;
  if (flags.lr !== undefined) training.learningRate = flags.lr;
  if (flags.seed !== undefined) training.seed = flags.seed;
  if (flags.checkpointEvery !== undefined) training.checkpointEvery = flags.checkpointEvery;
  if (flags.earlyStopping === false) {
    if (flags.patience !== undefined) throw new MultilossError('usage', '--patience with --no-early-stopping: give one of them');
    training.earlyStopping = false;
  } else if (flags.patience !== undefined) {
    const given = training.earlyStopping;
    training.earlyStopping = { ...(typeof given === 'object' && given !== null ? given : {}), patience: flags.patience };
  }
  if (Object.keys(training).length) config.training = training;
  if (flags.validationSplit !== undefined || flags.validationData) {
    const v = { ...((config.validation as Record<string, unknown> | undefined) ?? {}) };
    if (flags.validationSplit !== undefined) v.split = flags.validationSplit;
    if (flags.validationData) v.data = resolve(flags.validationData);
    config.validation = v;
  }
  if (flags.balance) {
    // METHOD or METHOD:MODE; other options of the method come from the config file.
    const [method, mode, ...rest] = flags.balance.split(':');
    if (!method || rest.length)
      throw new MultilossError('usage', `--balance ${JSON.stringify(flags.balance)}: expected METHOD or METHOD:MODE, e.g. pcgrad:rep`);
    const previous = (config.balance as Record<string, unknown> | undefined) ?? {};
    const keep = previous.method === method ? previous : {};
    config.balance = { ...keep, method, ...(mode ? { mode } : {}) };
  }
  if (flags.approach) config.approach = flags.approach;
  if (flags.architecture) {
    const previous = (config.architecture as Record<string, unknown> | undefined) ?? {};
    config.architecture = previous.kind === flags.architecture ? previous : { kind: flags.architecture };
  }
  if (flags.out) config.out = resolve(flags.out);
  if (config.targets === undefined) throw new MultilossError('usage', 'no targets: give --config FILE or at least one --target NAME:KIND');
  if (config.data === undefined) throw new MultilossError('usage', 'no training data: give --data FILE, --images DIR --labels FILE, or "data" in the config');
  return config;
}

/**
 * The image source the flags name: `--images DIR --labels FILE` (a folder with
 * its labels file), or `--images FILE [--labels FILE]` (IDX files).
 */
function imageFlags(flags: TrainFlags): Record<string, unknown> | undefined {
  if (flags.images === undefined) {
    for (const [given, flag] of [[flags.labels, '--labels'], [flags.fileColumn, '--file-column'], [flags.channels, '--channels'], [flags.size, '--size'], [flags.scale, '--scale']] as const) {
      if (given !== undefined) throw new MultilossError('usage', `${flag}: only with --images`);
    }
    return undefined;
  }
  if (flags.data) throw new MultilossError('usage', '--data and --images: give one training data source');
  const images = resolve(flags.images);
  const labels = flags.labels === undefined ? undefined : resolve(flags.labels);
  const pixels = { ...(flags.size !== undefined ? { size: sizeFlag(flags.size) } : {}), ...(flags.scale !== undefined ? { scale: flags.scale } : {}) };
  if (isFilePath(images)) {
    for (const [given, flag] of [[flags.fileColumn, '--file-column'], [flags.channels, '--channels']] as const) {
      if (given !== undefined) throw new MultilossError('usage', `${flag}: only with an image folder; --images ${flags.images} is a file (read as IDX)`);
    }
    return { idx: { images, ...(labels ? { labels } : {}), ...pixels } };
  }
  if (!labels) throw new MultilossError('usage', `--images ${flags.images}: give the labels file naming each image (--labels FILE)`);
  return { images, labels, ...(flags.fileColumn !== undefined ? { fileColumn: flags.fileColumn } : {}), ...(flags.channels !== undefined ? { channels: flags.channels } : {}), ...pixels };
}

/** `--size HxW` as [height, width]. */
function sizeFlag(size: string): [number, number] {
  const m = /^(\d+)[x×](\d+)$/i.exec(size.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new MultilossError('usage', `--size ${size}: expected HEIGHTxWIDTH, two whole numbers ≥ 1 (e.g. 28x28)`);
  return [Number(m[1]), Number(m[2])];
}

function isFilePath(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Paths at which two configurations differ, as "key: a vs b" (for --resume). */
function configDifferences(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => configDifferences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
  return [`${path || '(top level)'}: ${show(a)} here, ${show(b)} in the checkpoint`];
}

const RUN_FLAGS: (keyof TrainFlags)[] = [
  'config',
  'data',
  'images',
  'labels',
  'fileColumn',
  'channels',
  'size',
  'scale',
  'target',
  'features',
  'epochs',
  'batchSize',
  'lr',
  'validationSplit',
  'validationData',
  'seed',
  'patience',
  'balance',
  'approach',
  'architecture',
  'checkpointEvery',
];

export async function runTrain(flags: TrainFlags): Promise<void> {
  const reportPath = flags.report === undefined ? undefined : checkReportPath(flags.report); // fail before training
  let raw: Record<string, unknown>;
  let checkpoint: AnyCheckpoint | undefined;
  let checkpointRoot: string | undefined;
  const backend = await initBackend(flags.backend);
  if (flags.resume) {
    checkpoint = await readAnyCheckpoint(flags.resume);
    checkpointRoot = checkpoint.kind === 'separate' ? checkpoint.dir : resolve(checkpoint.dir, '..');
    raw = { ...checkpoint.config };
    if (RUN_FLAGS.some((f) => flags[f] !== undefined) || flags.earlyStopping === false) {
      const given = resolveConfig(parseConfig(buildConfig(flags), flags.config ?? 'command line'));
      const saved = resolveConfig(parseConfig(raw, 'checkpoint'));
      const diff = configDifferences(given, saved);
      if (diff.length) {
        disposeAnyCheckpoint(checkpoint, true);
        throw new MultilossError(
          'config',
          `--resume ${flags.resume}: the checkpoint belongs to a different configuration: ${diff.slice(0, 5).join('; ')}${diff.length > 5 ? `; and ${diff.length - 5} more` : ''}`,
        );
      }
    }
    if (flags.out) raw.out = resolve(flags.out);
  } else {
    raw = buildConfig(flags);
  }
  try {
    const config = parseConfig(raw, flags.config ?? (flags.resume ? 'checkpoint' : 'command line'));
    const resolved = resolveConfig(config);
    const monitor = resolved.training.earlyStopping?.monitor;
    if (monitor !== undefined && isDeltaMMonitor(monitor)) throw deltaMNeedsBaseline(monitor);
    if (checkpoint && (checkpoint.kind === 'separate') !== (resolved.approach === 'separate')) {
      throw new MultilossError('config', `--resume ${flags.resume}: the checkpoint is of a ${checkpoint.kind === 'separate' ? 'separate-models' : 'joint'} run, the configuration trains approach: ${resolved.approach}`);
    }
    const out = config.out ?? resolve('multiloss-model');
    raw.out = out;
    // Image folders stream through readTrainingImages (pixels decoded per batch, any approach); tables through streamingRun's checks.
    const images = isImageSource(config.data) ? readTrainingImages(config) : undefined;
    const stream = !images && streamingRun(flags, config.stream !== undefined && config.stream !== false, checkpoint, resolved.approach);
    const columns = configuredColumns(resolved);
    const readInput = async (): Promise<{ table: Table; validation?: Table }> => ({
      table: await readDataFile(config.data as string, config.format, { columns }),
      validation: config.validation?.data ? await readDataFile(config.validation.data as string, config.format, { columns }) : undefined,
    });
    // The held-out rows the report plots (with --stream they are not held: the report has no held-out plots).
    let held: Table | undefined;
    const ckDir = resolve(flags.checkpointDir ?? checkpointRoot ?? `${out}.checkpoints`);
    // Checkpoints exist to resume. A run that asked for none (checkpointEvery, --checkpoint-dir,
    // --resume) still writes them (early stopping's best epochs; an interrupt must be resumable)
    // and removes them once the model is saved.
    const removeCheckpoints = flags.checkpointDir === undefined && !checkpoint && resolved.training.checkpointEvery === undefined && !existsSync(ckDir);
    const announce = (rows?: number) => {
      if (flags.quiet) return;
      const what = images
        ? `${images.train.set.n} images of ${images.train.set.shape.join('×')} ${isImageStream(images.train.set) ? 'streamed' : 'read'} from ${describeImageSource(config.data as ImageSource)}`
        : rows !== undefined
          ? `${rows} rows from ${config.data as string}`
          : `streaming ${config.data as string}`;
      log(`multiloss ${backend.name} backend; ${what}${checkpoint ? `; ${resumeNote(checkpoint)}` : ''}`);
    };
    if (stream || images) announce();
    // SIGINT / SIGTERM: finish the current step, write a checkpoint, exit 130 / 143.
    const interrupt = { interrupted: false };
    let signal: NodeJS.Signals | undefined;
    const onSignal = (s: NodeJS.Signals) => {
      signal = s;
      interrupt.interrupted = true;
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const progress = progressCallbacks(process.stderr, flags.quiet ?? false);
    // In memory: the tables reach the fit through a promise chain, so that no frame of this
    // command holds them while training runs (an awaiting frame keeps its locals); a joint fit lets
    // each column go once encoded (releaseInput). The report's held-out rows keep their own columns.
    const fromTables = (fit: (input: { table: Table; validation?: Table }) => Promise<MultiOutputModel>): Promise<MultiOutputModel> =>
      readInput().then((input) => {
        announce(input.table.length);
        if (reportPath) held = splitInput(resolved, input).validation;
        return fit(input);
      });
    let model: MultiOutputModel;
    // The validation split's images (indices into the training images), for the report.
    let heldImages: number[] | undefined;
    try {
      const common = { callbacks: progress.callbacks, warn: (m: string) => log(`warning: ${m}`), interrupt };
      const separate = {
        ...common,
        onModelBegin: (k: number, n: number, head: string) => void (flags.quiet || log(`model ${k + 1}/${n}: head "${head}"`)),
        checkpoint: separateCheckpointWriter(
          ckDir,
          raw,
          resolved.heads.map((h) => h.name),
        ),
        resume: checkpoint?.kind === 'separate' ? checkpoint.resume : undefined,
      };
      const joint = { ...common, checkpoint: checkpointWriter(ckDir, raw), resume: checkpoint?.kind === 'joint' ? checkpoint.resume : undefined };
      const imageOptions = { validation: images?.validation?.set, onSplit: (rows: readonly number[]) => void (heldImages = [...rows]) };
      model = images
        ? resolved.approach === 'separate'
          ? await fitSeparateImages(resolved, images.train.set, { ...separate, ...imageOptions })
          : await fitImageModel(resolved, images.train.set, { ...joint, ...imageOptions })
        : resolved.approach === 'separate'
          ? await fromTables((input) => fitSeparate(resolved, input, separate))
          : stream
            ? await fitStreamedFiles(resolved, config.data as string, config.validation?.data as string | undefined, { format: config.format, columns, spill: resolved.stream?.spill, spillDir: flags.spillDir }, joint)
            : await fromTables((input) => fitModel(resolved, input, { ...joint, releaseInput: true, afterRelease: collectGarbage }));
    } catch (e) {
      if (e instanceof MultilossError && e.kind === 'interrupted') {
        throw new MultilossError(
          'interrupted',
          // Interrupted while a stream's first pass was reading the data: no checkpoint exists yet.
          `${signal ?? 'signal'}: ${e.message}${/nothing was saved/.test(e.message) ? '' : `; resume with: multiloss train --resume ${ckDir}`}`,
          signal === 'SIGTERM' ? 143 : 130,
        );
      }
      throw e;
    } finally {
      progress.done();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    await saveAnyModel(model, out);
    if (removeCheckpoints) rmSync(ckDir, { recursive: true, force: true });
    if (reportPath) {
      const title = `Training report: ${basename(out)}`;
      if (images) {
        // The held-out images: the validation images given, or the split's (with their file names).
        const named = images.validation ?? (heldImages?.length ? { set: imagesAt(images.train.set, heldImages), names: heldImages.map((i) => images.train.names[i]) } : undefined);
        await writeTrainingReport(asReportable(model), reportPath, { validationImages: named?.set, imageNames: named?.names, title });
      } else {
        await writeTrainingReport(asReportable(model), reportPath, { validation: held, title });
      }
    }
    const info = model.info();
    const metrics = info.metrics;
    // Why training ended goes to the log (stderr) even with --json; --quiet silences it.
    if (!flags.quiet) for (const line of stopLines(info)) log(line.replace(/^stopped\s+/, 'training stopped: '));
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ model: out, metrics, ...(info.stop ? { stop: info.stop } : {}) }, null, 2)}\n`);
    } else if (!flags.quiet) {
      const split = metrics.validation ?? metrics.train;
      if (split) log(`\n${metrics.validation ? 'validation' : 'training'} metrics:\n${metricsTable(split, model.heads)}`);
      log(`\nsaved model to ${out}`);
      if (reportPath) log(`wrote training report to ${reportPath}`);
    }
    model.dispose();
  } finally {
    if (checkpoint) disposeAnyCheckpoint(checkpoint);
  }
}

/**
 * Whether this run streams its data: `--stream`, `stream: true` in the
 * configuration, or resuming a checkpoint of a streaming run (its state says
 * so); `--stream` on a checkpoint of a whole-data run is an error.
 */
function streamingRun(flags: TrainFlags, configured: boolean, checkpoint: AnyCheckpoint | undefined, approach: string | undefined): boolean {
  const saved = checkpoint?.kind === 'joint' ? checkpoint.resume.state.stream !== undefined : undefined;
  if (flags.stream && saved === false) {
    throw new MultilossError('config', `--resume ${flags.resume}: the checkpoint is of a run that read its data whole; resume it without --stream`);
  }
  const stream = (flags.stream ?? false) || configured || saved === true;
  if (stream && approach === 'separate')
    throw new MultilossError('config', '--stream trains the joint model; approach: separate is not supported with --stream');
  return stream;
}

