// The worker-thread pool's options, apart from pool.ts so that the public declarations that
// name them (compare.ts's RunExecutor) do not import node:worker_threads.
import type { BackendChoice } from '../engine/backend.js';
import type { RunResult, RunTask } from './run.js';

export interface PoolOptions {
  workers: number;
  backend?: BackendChoice;
  /** After every epoch of a run. */
  onEpoch?: (id: number) => void;
  /** When a run has finished. */
  onResult?: (result: RunResult) => void;
  /** When a worker has initialised its backend. */
  onReady?: (backend: string) => void;
  /**
   * The task as it is to be sent, or undefined when it cannot start yet (it
   * waits for results of earlier tasks; idle workers are given it after the
   * next result). Tasks start in order.
   */
  prepare?: (task: RunTask) => RunTask | undefined;
}
