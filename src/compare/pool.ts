/**
 * A pool of worker threads that trains comparison runs in parallel. Each
 * worker initialises the backend once and receives the data once (plain
 * tables, structured-cloned); tasks are plain configurations. Node-only.
 *
 * Loading the worker: from the compiled package it is ./worker.js. From the
 * TypeScript sources (`node --import tsx`, the tests) Node 20 does not apply
 * the parent's `--import` loader hooks to a worker's entry module, so the
 * worker starts from a small inline script that registers tsx's ESM hooks
 * (`tsx/esm/api`) and then imports ./worker.ts.
 */
import { Worker } from 'node:worker_threads';
import { fromRunError, type RunData, type RunError, type RunResult, type RunTask } from './run.js';

export type ToWorker = { type: 'run'; task: RunTask } | { type: 'close' };
export type FromWorker =
  | { type: 'ready'; backend: string }
  | { type: 'failed'; error: RunError }
  | { type: 'epoch'; id: number }
  | { type: 'done'; result: RunResult }
  | { type: 'error'; id: number; error: RunError };

export type { PoolOptions } from './pool-options.js';
import type { PoolOptions } from './pool-options.js';

/** Starts one worker on the compiled or the TypeScript entry (see the module comment). */
export function startWorker(workerData: unknown): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here), { workerData });
  const entry = new URL('./worker.ts', here).href;
  let tsx: string | undefined;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch {
    tsx = undefined;
  }
  if (tsx === undefined) {
    // No tsx: the runtime itself must understand .ts (e.g. a Node with type stripping).
    return new Worker(new URL(entry), { workerData, execArgv: process.execArgv });
  }
  const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData, execArgv: [] });
}

/** Runs every task on a pool of `workers` threads; resolves with the results in task order, rejects on the first error. */
export function runPool(tasks: readonly RunTask[], data: RunData, options: PoolOptions): Promise<RunResult[]> {
  const count = Math.max(1, Math.min(options.workers, tasks.length));
  const results = new Map<number, RunResult>();
  const queue = [...tasks];
  const workers: Worker[] = [];
  const byId = new Map(tasks.map((t) => [t.id, t]));
  return new Promise<RunResult[]>((resolvePool, rejectPool) => {
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      for (const w of workers) void w.terminate();
      if (error) rejectPool(error);
      else resolvePool(tasks.map((t) => results.get(t.id) as RunResult));
    };
    // Workers waiting for a task that cannot start yet, and how many tasks are running.
    const idle: Worker[] = [];
    let running = 0;
    const next = (w: Worker) => {
      if (queue.length === 0) {
        w.postMessage({ type: 'close' } satisfies ToWorker);
        return;
      }
      const task = options.prepare ? options.prepare(queue[0]) : queue[0];
      if (!task) {
        idle.push(w);
        if (running === 0) finish(new Error(`compare: run ${queue[0].label} (seed ${queue[0].seed}) waits for results that no running task will produce`));
        return;
      }
      queue.shift();
      running++;
      w.postMessage({ type: 'run', task } satisfies ToWorker);
    };
    for (let i = 0; i < count; i++) {
      const w = startWorker({ backend: options.backend, data });
      workers.push(w);
      w.on('message', (m: FromWorker) => {
        if (settled) return;
        switch (m.type) {
          case 'ready':
            options.onReady?.(m.backend);
            next(w);
            break;
          case 'failed':
            finish(fromRunError(m.error, 'compare worker'));
            break;
          case 'epoch':
            options.onEpoch?.(m.id);
            break;
          case 'done':
            running--;
            results.set(m.result.id, m.result);
            options.onResult?.(m.result);
            if (results.size === tasks.length) finish();
            else {
              next(w);
              // The result may have released the task idle workers wait for.
              for (let k = idle.length; k > 0 && queue.length > 0 && !settled; k--) next(idle.shift() as Worker);
            }
            break;
          case 'error': {
            const t = byId.get(m.id);
            finish(fromRunError(m.error, t ? `${t.label} (seed ${t.seed})` : `run ${m.id}`));
            break;
          }
        }
      });
      w.on('error', (e) => finish(new Error(`compare worker failed: ${e.stack ?? e.message}`)));
      w.on('exit', (code) => {
        if (!settled && code !== 0) finish(new Error(`compare worker exited with code ${code}`));
      });
    }
  });
}
