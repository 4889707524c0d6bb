import { fork, type ChildProcess } from 'node:child_process';
import { startQueueWorker } from '../../compare/queue/worker.js';
import { parseQueueUrl } from '../../compare/queue/connection.js';
import { MultilossError } from '../../errors.js';
import { log, type Backend } from './shared.js';

export interface WorkerFlags {
  queue: string;
  /** Worker processes on this machine (default 1): each trains one run at a time on its own core. */
  concurrency?: number;
  modelsDir?: string;
  backend: Backend;
  /** Milliseconds a run's lock lasts without renewal: a dead worker's run is taken over after this (default 30000). */
  lockDuration?: number;
  /** Milliseconds between checks for stalled runs (default 30000). */
  stalledInterval?: number;
  /** Seconds: while runs are shorter, the next run is held in reserve (default 5; 0: never). */
  prefetchBelow?: number;
  quiet?: boolean;
}

/** `--concurrency N`: N processes of this command with `--concurrency 1` (training is CPU-bound; one process per core). */
async function runChildren(flags: WorkerFlags, n: number): Promise<void> {
  const args = process.argv.slice(2).filter((a, i, all) => a !== '--concurrency' && all[i - 1] !== '--concurrency' && !a.startsWith('--concurrency='));
  const children: ChildProcess[] = [];
  const exits: Promise<number>[] = [];
  for (let i = 0; i < n; i++) {
    const child = fork(process.argv[1], [...args, '--concurrency', '1'], { execArgv: process.execArgv, stdio: 'inherit' });
    children.push(child);
    exits.push(new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))));
  }
  const forward = (signal: NodeJS.Signals) => () => {
    for (const c of children) if (c.exitCode === null) c.kill(signal);
  };
  process.on('SIGTERM', forward('SIGTERM'));
  process.on('SIGINT', forward('SIGINT'));
  const codes = await Promise.all(exits);
  if (!flags.quiet) log(`worker: ${n} processes stopped`);
  const worst = Math.max(...codes);
  if (worst !== 0) process.exitCode = worst;
}

export async function runWorker(flags: WorkerFlags): Promise<void> {
  parseQueueUrl(flags.queue);
  const n = flags.concurrency ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new MultilossError('usage', `--concurrency: expected a whole number ≥ 1, got ${n}`);
  if (n > 1) return runChildren(flags, n);
  const worker = await startQueueWorker({
    url: flags.queue,
    backend: flags.backend,
    ...(flags.modelsDir !== undefined ? { modelsDir: flags.modelsDir } : {}),
    ...(flags.lockDuration !== undefined ? { lockDuration: flags.lockDuration } : {}),
    ...(flags.stalledInterval !== undefined ? { stalledInterval: flags.stalledInterval } : {}),
    ...(flags.prefetchBelow !== undefined ? { prefetchBelow: flags.prefetchBelow } : {}),
    log: flags.quiet ? undefined : (line) => log(`worker ${process.pid}: ${line}`),
  });
  // First signal: take no new run and finish the current one; second: stop now (the run's job stalls and another worker takes it).
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        if (!flags.quiet) log(`worker ${process.pid}: ${signal} again: stopping now; the current run goes back to the queue once its lock expires`);
        void worker.close(true).then(resolve, resolve);
        return;
      }
      stopping = true;
      if (!flags.quiet) log(`worker ${process.pid}: ${signal}: finishing the current run, then stopping`);
      worker.close().then(resolve, resolve);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  if (!flags.quiet) log(`worker ${process.pid}: stopped`);
}
