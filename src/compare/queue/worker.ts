/**
 * A queue worker (`multiloss worker --queue …`): takes one run at a time
 * from the sweep queue, checks the job (its format version, its schema, its
 * run id against the configuration it describes, the data files'
 * fingerprints), trains it as the local pool would (executeRun on the same
 * split) and returns its figures through the queue. Node-only.
 *
 * A job that is not of this worker's sweep format, or not a valid job, fails
 * at once (no retry: another attempt would read the same bytes); a run that
 * throws while training is retried by BullMQ up to the job's attempts. A
 * worker that dies mid-run loses its lock: after `lockDuration` the job is
 * stalled and another worker trains it again from the start.
 *
 * Short runs keep the next job in reserve: while a run shorter than
 * `prefetchBelow` seconds trains, the worker already holds the next job, so
 * that the Redis round trip (storing a result, taking the next job) and the
 * wake-ups it needs happen during training rather than between runs. The
 * reserved job waits its turn (one run trains at a time); a worker that is
 * stopped hands it back to the queue untouched. Longer runs are taken one at
 * a time: there the round trip is a negligible share, and a reserved job
 * could sit behind a long run while another worker is idle.
 */
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type ResolvedConfig } from '../../config/resolve.js';
import { isImageSource, parseConfig, type ImageSource } from '../../config/schema.js';
import { initBackend, type BackendChoice } from '../../engine/backend.js';
import { isMultilossError } from '../../errors.js';
import { saveAnyModel } from '../../io/separate-dir.js';
import { displayUrl, downloadDataFile, isDataUrl } from '../../io/data-url.js';
import { readDataFile } from '../../io/table-file.js';
import { imageSourceFingerprint, readCompareImages } from '../../io/image-source.js';
import { compareBase, compareImageSplit, compareSplit } from '../compare.js';
import { variantConfig } from '../grid.js';
import { dataFingerprint, fileFingerprint, runId, canonicalJson } from '../run-id.js';
import { executeRun, warmUp, type RunData, type RunResult } from '../run.js';
import { connect, parseQueueUrl, QUEUE_NAME, QUEUE_PREFIX } from './connection.js';
import { RunJobSchema, SWEEP_FORMAT_VERSION, type DataRefs, type RunJob } from './job.js';
import { loadQueueLibraries } from './libraries.js';

export interface QueueWorkerOptions {
  url: string;
  backend?: BackendChoice;
  /** Where each trained model is saved, in a directory named by its run id (shared storage). */
  modelsDir?: string;
  /** Milliseconds a job's lock lasts without renewal (BullMQ's lockDuration; default 30000): a dead worker's run is taken over after this. */
  lockDuration?: number;
  /** Milliseconds between checks for stalled jobs (default 30000). */
  stalledInterval?: number;
  /** Where data files given as http(s) URLs are cached, by fingerprint (default: multiloss-data-cache in the temporary directory). */
  dataCache?: string;
  /** Seconds: while runs are shorter, the next job is held in reserve (see the module comment; default 5, 0 never). */
  prefetchBelow?: number;
  /** Lines for the log (runs started and finished, outages). */
  log?: (line: string) => void;
}

/** Runs shorter than this (seconds) keep the next job in reserve by default. */
export const DEFAULT_PREFETCH_BELOW_SECONDS = 5;

export interface QueueWorker {
  /** Stops taking runs; resolves when the current run has finished (`force`: at once, its job left to stall and be taken over). */
  close(force?: boolean): Promise<void>;
}

/** The comparison's split, read and checked once per data and configuration (consecutive runs of a sweep share it). */
function splitLoader(cacheDir: string | undefined): (job: RunJob) => Promise<RunData> {
  let cached: { id: string; data: RunData } | undefined;
  // A file is hashed again only when its size or modification time changed (a large table is not re-read for every run).
  const hashed = new Map<string, string>();
  const fingerprintOf = async (path: string) => {
    const st = statSync(path);
    const id = `${path}\u0000${st.size}\u0000${st.mtimeMs}`;
    const known = hashed.get(id);
    if (known) return known;
    const fp = await fileFingerprint(path);
    hashed.set(id, fp);
    return fp;
  };
  const read = async (ref: DataRefs['train'], what: string, format: DataRefs['format']) => {
    // A URL: downloaded once into the cache by fingerprint (checked there), then read from the copy.
    if (isDataUrl(ref.location)) {
      const copy = await downloadDataFile(ref.location, { fingerprint: ref.fingerprint, what, ...(cacheDir ? { cacheDir } : {}) });
      const table = await readDataFile(copy.path, format);
      table.source = displayUrl(ref.location);
      return table;
    }
    let actual: string;
    try {
      actual = await fingerprintOf(ref.location);
    } catch (e) {
      throw new Error(`cannot read the ${what} ${ref.location} on ${hostname()}: ${(e as Error).message}`, { cause: e });
    }
    if (actual !== ref.fingerprint)
      throw new Error(
        `the ${what} ${ref.location} on ${hostname()} is not the sweep's (fingerprint ${actual.slice(0, 12)}…, expected ${ref.fingerprint.slice(0, 12)}…)`,
      );
    return readDataFile(ref.location, format);
  };
  /** Image data: the configuration's image sources (absolute paths), each checked against its fingerprint. */
  const checkImages = async (job: RunJob, sources: readonly (ImageSource | undefined)[]) => {
    const refs = [job.data.train, job.data.validation];
    for (const [i, source] of sources.entries()) {
      const ref = refs[i];
      if (!source || !ref) continue;
      let actual: string;
      try {
        actual = await imageSourceFingerprint(source);
      } catch (e) {
        throw new Error(`cannot read the image data ${ref.location} on ${hostname()}: ${(e as Error).message}`, { cause: e });
      }
      if (actual !== ref.fingerprint)
        throw new Error(`the image data ${ref.location} on ${hostname()} are not the sweep's (fingerprint ${actual.slice(0, 12)}…, expected ${ref.fingerprint.slice(0, 12)}…)`);
    }
  };
  return async (job) => {
    const { train, validation, test, format } = job.data;
    const config = parseConfig(job.config, `job ${job.key} config`);
    if (isImageSource(config.data)) {
      // The images are checked for every run (one pass over their bytes) and read again only for other data or another configuration.
      const held = config.validation?.data;
      await checkImages(job, [config.data, isImageSource(held) ? held : undefined]);
      const id = canonicalJson({ data: job.data, config: job.config });
      if (cached?.id === id) return cached.data;
      const data = compareImageSplit(resolveConfig(config), readCompareImages(config));
      cached = { id, data };
      return data;
    }
    // The files are checked for every run; the split is taken again only for other data or another configuration.
    if (cached?.id === canonicalJson({ data: job.data, config: job.config })) {
      for (const ref of [train, validation, test]) {
        // (A URL's copy is named by its fingerprint: it cannot change.)
        if (ref && !isDataUrl(ref.location) && (await fingerprintOf(ref.location).catch(() => '')) !== ref.fingerprint) cached = undefined;
      }
      if (cached) return cached.data;
    }
    const id = canonicalJson({ data: job.data, config: job.config });
    const table = await read(train, 'data file', format);
    const input = {
      table,
      ...(validation ? { validation: await read(validation, 'validation file', format) } : {}),
      ...(test ? { test: await read(test, 'test file', format) } : {}),
    };
    const data = compareSplit(resolveConfig(config), input);
    cached = { id, data };
    return data;
  };
}

export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const { bullmq, Redis } = await loadQueueLibraries();
  const location = parseQueueUrl(options.url);
  const log = options.log ?? (() => undefined);
  await initBackend(options.backend);
  const load = splitLoader(options.dataCache);
  let warmed = false;
  const machine = { host: hostname(), pid: process.pid };

  // The comparison's configuration, checked and resolved once per sweep (consecutive jobs share it).
  let base: { text: string; config: ResolvedConfig } | undefined;
  const baseOf = (config: RunJob['config']): ResolvedConfig => {
    const text = canonicalJson(config);
    if (base?.text !== text) base = { text, config: compareBase(resolveConfig(parseConfig(config, 'job config'))) };
    return base.config;
  };
  const prefetchBelow = options.prefetchBelow ?? DEFAULT_PREFETCH_BELOW_SECONDS;
  let closing = false;
  // One run trains at a time; a job taken in reserve waits here for its turn.
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = (job: import('bullmq').Job, token: string | undefined): Promise<RunResult> => {
    const mine = turn.then(async () => {
      if (closing && token !== undefined) {
        // Stopping: a job taken in reserve goes back to the queue as it was (no attempt counted).
        await job.moveToWait(token);
        log(`run ${(job.data as { key?: string })?.key ?? job.id} handed back to the queue (stopping)`);
        throw new bullmq.WaitingError();
      }
      const result = await processJob(job);
      worker.concurrency = result.seconds < prefetchBelow ? 2 : 1;
      return result;
    });
    turn = mine.catch(() => undefined);
    return mine;
  };

  const processJob = async (job: import('bullmq').Job): Promise<RunResult> => {
    const raw = job.data as { version?: unknown };
    if (raw?.version !== SWEEP_FORMAT_VERSION)
      throw new bullmq.UnrecoverableError(`sweep format version ${String(raw?.version)}; this worker runs version ${SWEEP_FORMAT_VERSION}`);
    const parsed = RunJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new bullmq.UnrecoverableError(`not a valid job: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`);
    }
    const payload = parsed.data;
    let config;
    try {
      config = variantConfig(baseOf(payload.config), payload.variant, payload.seed);
    } catch (e) {
      if (isMultilossError(e)) throw new bullmq.UnrecoverableError(e.message);
      throw e;
    }
    const fingerprint = dataFingerprint({
      train: payload.data.train.fingerprint,
      validation: payload.data.validation?.fingerprint,
      test: payload.data.test?.fingerprint,
    });
    const key = runId(config, fingerprint);
    if (key !== payload.key)
      throw new bullmq.UnrecoverableError(`run ${payload.key} resolves to run ${key} here: coordinator and worker differ (multiloss versions?)`);
    const data = await load(payload);
    const task = {
      id: 0,
      key,
      label: payload.label,
      seed: payload.seed,
      variant: payload.variant,
      config,
      ...(payload.reference ? { reference: payload.reference } : {}),
    };
    if (!warmed) {
      await warmUp(task, data);
      warmed = true;
    }
    log(`run ${key} (${payload.label}, seed ${payload.seed}) started`);
    // Tells the coordinator this attempt trains now (not held in reserve); not awaited: off the path between runs.
    job.updateProgress({ training: job.attemptsStarted }).catch(() => undefined);
    const modelsDir = options.modelsDir;
    const result = await executeRun(task, data, undefined, modelsDir ? (m) => saveAnyModel(m, join(modelsDir, key)) : undefined);
    log(`run ${key} (${payload.label}, seed ${payload.seed}) finished in ${result.seconds.toFixed(2)}s`);
    return { ...result, machine };
  };

  const connection = connect(Redis, location, log);
  const worker = new bullmq.Worker(QUEUE_NAME, inTurn, {
    connection,
    prefix: QUEUE_PREFIX,
    concurrency: 1,
    ...(options.lockDuration ? { lockDuration: options.lockDuration } : {}),
    ...(options.stalledInterval ? { stalledInterval: options.stalledInterval } : {}),
  });
  worker.on('error', () => undefined); // Outages are reported once by the connection.
  worker.on('failed', (job, e) => {
    if (job) log(`run ${(job.data as { key?: string })?.key ?? job.id} failed (attempt ${job.attemptsMade}): ${e.message}`);
  });
  await worker.waitUntilReady();
  log(`worker ${machine.host}:${machine.pid} on ${location.display}`);
  return {
    async close(force = false) {
      closing = true;
      await worker.close(force);
      connection.disconnect();
    },
  };
}
