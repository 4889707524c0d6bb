/**
 * The coordinator of a distributed sweep (`compare --queue`): every run
 * becomes a BullMQ job whose id is the run's id, so a run is queued once and
 * a finished run is never redone (running the same sweep again, or
 * `--resume`, finds its jobs done and takes their results). The coordinator
 * then watches its jobs until each has finished or failed for good. It keeps
 * no state of its own: killed and restarted, it picks up where the queue is.
 * Node-only.
 */
import { MultilossError } from '../../errors.js';
import { sweepIdOf, type FailedRun, type RunExecutor } from '../compare.js';
import type { Grid } from '../grid.js';
import type { RunResult, RunTask } from '../run.js';
import { connect, parseQueueUrl, QUEUE_NAME, QUEUE_PREFIX } from './connection.js';
import { jobIdOf, SWEEP_FORMAT, SWEEP_FORMAT_VERSION, sweepRecordKey, toRunResult, type DataRefs, type RunJob } from './job.js';
import { loadQueueLibraries } from './libraries.js';
import { SweepRecordSchema, type SweepRecord } from './sweep-record.js';

export interface QueueExecutorOptions {
  /** redis:// or rediss:// address (see connection.ts). */
  url: string;
  /** The comparison's configuration as written (what workers rebuild each run from). */
  config: Record<string, unknown>;
  /** The grid as given (kept with the sweep for `--resume`). */
  grid: Grid;
  data: DataRefs;
  /** Attempts per run before it counts as failed (default 3). */
  attempts?: number;
  /** Milliseconds between retries of a run that threw (default 1000). */
  backoffMs?: number;
  /** Milliseconds between looks at the sweep's jobs (default 250). */
  pollMs?: number;
  /** Told the sweep's id once its jobs are queued. */
  onQueued?: (sweep: string, reused: number) => void;
  warn?: (message: string) => void;
}

/** Whether a taken job's current attempt has started training (see the worker's markTraining). */
const isTraining = (j: { progress: unknown; attemptsStarted: number }) => (j.progress as { training?: unknown } | null)?.training === j.attemptsStarted;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads a sweep's record (for `compare --resume SWEEP`). */
export async function readSweepRecord(url: string, sweep: string): Promise<SweepRecord> {
  const { Redis } = await loadQueueLibraries();
  const location = parseQueueUrl(url);
  const client = connect(Redis, location);
  try {
    const text = await client.get(sweepRecordKey(sweep));
    if (text === null) throw new MultilossError('usage', `--resume ${sweep}: no such sweep on ${location.display}`);
    const record = SweepRecordSchema.safeParse(JSON.parse(text));
    if (!record.success) throw new MultilossError('data', `--resume ${sweep}: the sweep's record on ${location.display} is not one this version reads`);
    if (record.data.version !== SWEEP_FORMAT_VERSION)
      throw new MultilossError('data', `--resume ${sweep}: sweep format version ${record.data.version}; this multiloss reads version ${SWEEP_FORMAT_VERSION}`);
    return record.data;
  } finally {
    client.disconnect();
  }
}

/** A run executor on a BullMQ queue (see the module comment). */
export function queueExecutor(options: QueueExecutorOptions): RunExecutor {
  return async (tasks, _data, hooks) => {
    const { bullmq, Redis } = await loadQueueLibraries();
    const location = parseQueueUrl(options.url);
    const connection = connect(Redis, location, options.warn);
    const queue = new bullmq.Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    queue.on('error', () => undefined); // Outages are reported once by the connection.
    const sweep = sweepIdOf(tasks);
    const attempts = options.attempts ?? 3;
    try {
      const record: SweepRecord = {
        format: SWEEP_FORMAT,
        version: SWEEP_FORMAT_VERSION,
        sweep,
        config: options.config,
        grid: options.grid,
        data: options.data,
      };
      await connection.set(sweepRecordKey(sweep), JSON.stringify(record));
      const job = (t: RunTask): RunJob => ({
        format: SWEEP_FORMAT,
        version: SWEEP_FORMAT_VERSION,
        sweep,
        key: t.key,
        label: t.label,
        seed: t.seed,
        config: options.config,
        variant: t.variant,
        data: options.data,
        ...(t.reference ? { reference: t.reference } : {}),
      });
      const results = new Map<number, RunResult>();
      const failed = new Map<number, FailedRun>();
      const queued: RunTask[] = [];
      let reused = 0;
      // Every task that may start now, in one round trip (addBulk); a job already there (same id) is left as it is.
      const enqueue = async (again: RunTask[] = []) => {
        const ready: RunTask[] = [...again];
        for (let i = queued.length; i < tasks.length; i++) {
          const t = hooks.prepare ? hooks.prepare(tasks[i]) : tasks[i];
          if (!t) break;
          ready.push(t);
        }
        if (ready.length === 0) return;
        const opts = { attempts, backoff: { type: 'fixed', delay: options.backoffMs ?? 1000 }, removeOnComplete: false, removeOnFail: false };
        const added = await queue.addBulk(ready.map((t) => ({ name: t.label, data: job(t), opts: { ...opts, jobId: jobIdOf(t.key) } })));
        const states = await Promise.all(added.map((a) => a.getState()));
        for (const [i, state] of states.entries()) {
          if (state === 'completed') reused++;
          // A run that failed for good in an earlier attempt at this sweep gets its attempts again.
          if (state === 'failed') await added[i].retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        }
        queued.push(...ready.slice(again.length));
      };
      await enqueue();
      options.onQueued?.(sweep, reused);
      while (results.size + failed.size < tasks.length) {
        let running = 0;
        const pending = queued.filter((t) => !results.has(t.id) && !failed.has(t.id));
        const missing: RunTask[] = [];
        const states = await Promise.all(
          pending.map(async (t) => {
            // The state first, then the job: a job read just before it finished has no result (or failure reason) yet.
            const state = await queue.getJobState(jobIdOf(t.key));
            const j = state === 'completed' || state === 'failed' || state === 'active' ? await bullmq.Job.fromId(queue, jobIdOf(t.key)) : undefined;
            return { t, j, state: state === 'unknown' ? 'missing' : state };
          }),
        );
        for (const { t, j, state } of states) {
          if (state === 'completed' && j) {
            let r: RunResult;
            try {
              r = toRunResult(j.returnvalue, t.id);
            } catch {
              failed.set(t.id, {
                key: t.key,
                label: t.label,
                seed: t.seed,
                error: 'the worker sent back figures that are not a run result',
                attempts: j.attemptsMade,
              });
              continue;
            }
            results.set(t.id, r);
            hooks.onResult?.(r);
          } else if (state === 'failed' && j) {
            failed.set(t.id, { key: t.key, label: t.label, seed: t.seed, error: j.failedReason, attempts: j.attemptsMade });
          } else if (state === 'active' && j && isTraining(j)) {
            // Taken and training (a job a worker holds in reserve is taken, not yet running).
            running++;
          } else if (state === 'missing') {
            // Removed from the queue by hand: queued again.
            missing.push(t);
          }
        }
        hooks.onStatus?.({ running, failed: failed.size });
        if (queued.length < tasks.length || missing.length > 0) await enqueue(missing);
        const open = queued.filter((t) => !results.has(t.id) && !failed.has(t.id)).length;
        if (open === 0 && queued.length < tasks.length) {
          const t = tasks[queued.length];
          throw new MultilossError(
            'data',
            `compare: run ${t.label} (seed ${t.seed}) waits for runs that failed (${[...failed.values()].map((f) => `${f.label} seed ${f.seed}`).join(', ')})`,
          );
        }
        if (results.size + failed.size < tasks.length) await sleep(options.pollMs ?? 250);
      }
      const byTask = (m: Map<number, RunResult> | Map<number, FailedRun>) => tasks.filter((t) => m.has(t.id)).map((t) => m.get(t.id));
      return { results: byTask(results) as RunResult[], failed: byTask(failed) as FailedRun[] };
    } finally {
      await queue.close();
      connection.disconnect();
    }
  };
}
