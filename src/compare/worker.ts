/**
 * Worker thread of `compare`: initialises the backend once, then trains the
 * runs it is sent, one at a time, and posts plain results back. Started by
 * ./pool.ts with `workerData: { backend, data }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { reviveTable } from '../data/table-build.js';
import { executeRun, toRunError, warmUp, type RunData, type RunTask } from './run.js';
import type { FromWorker, ToWorker } from './pool.js';

const port = parentPort;
if (!port) throw new Error('compare/worker.ts runs in a worker thread only');
const { backend, data: cloned } = workerData as { backend?: BackendChoice; data: RunData };
// Tables arrive structured-cloned: their columns lost their classes.
const data: RunData = { train: reviveTable(cloned.train), validation: reviveTable(cloned.validation), ...(cloned.test ? { test: reviveTable(cloned.test) } : {}), ...(cloned.images ? { images: cloned.images } : {}) };
const post = (m: FromWorker) => port.postMessage(m);
let warmed = false;

try {
  const info = await initBackend(backend);
  post({ type: 'ready', backend: info.name });
} catch (e) {
  post({ type: 'failed', error: toRunError(e) });
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'close') {
    port.close();
    return;
  }
  const task: RunTask = m.task;
  const warm = warmed ? Promise.resolve() : warmUp(task, data);
  warmed = true;
  warm
    .then(() => executeRun(task, data, () => post({ type: 'epoch', id: task.id })))
    .then(
      (result) => post({ type: 'done', result }),
      (e: unknown) => post({ type: 'error', id: task.id, error: toRunError(e) }),
    );
});
