/**
 * The playground's training worker: holds the loaded table, trains with
 * multiloss's browser entry, predicts and hands out the model files, so that
 * the page stays responsive while a model trains. Every failure is answered
 * with the one-line message multiloss gives for it (the CLI prints the same).
 */
import {
  architectureKinds,
  BALANCING_METHODS,
  BROWSER_BACKENDS,
  columnValues,
  DEFAULT_MISSING,
  fitModel,
  HEAD_KINDS,
  headFactory,
  inferColumnTypes,
  initBrowserBackend,
  isGradientMethod,
  isMultilossError,
  MultilossError,
  parseConfig,
  readTableFrom,
  resolveConfig,
  VALID_MODES,
  VERSION,
  WEIGHTS_FILE,
  type BrowserBackendName,
  type Cell,
  type MultilossModel,
  type Table,
} from '../../../src/browser.js';
import { memory } from '@tensorflow/tfjs-core';
import type { Answer, Event, FormFeature, ModelFile, Request, StopRequest, TableSummary, TrainingSummary } from './protocol.js';

/** The file names of a model directory as Node's saveModel writes it (src/io/model-dir.ts, a Node-only module). */
const MODEL_FILE = 'model.json';
const META_FILE = 'multiloss.json';

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<Request | StopRequest>) => void): void;
  location: { href: string };
}
const scope = globalThis as unknown as WorkerScope;

let table: Table | undefined;
let model: MultilossModel | undefined;
/** The running training's stop request (one run at a time). */
let stopRequested = false;
let training = false;

function send(message: Answer | Event, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

/** The one-line message of a failure: multiloss's own, or the error's message for anything unexpected. */
function messageOf(e: unknown): string {
  if (isMultilossError(e)) return e.message;
  const err = e as Error | undefined;
  return `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`.replace(/\s*\n\s*/g, ' ');
}

const isMissing = (c: Cell): boolean => c === null || c === undefined || (typeof c === 'string' && c.trim() === '');

function summarize(t: Table): TableSummary {
  const types = inferColumnTypes(t);
  return {
    source: t.source,
    rows: t.length,
    columns: t.columns.map((name) => {
      const values = columnValues(t, name);
      const distinct = new Set<string>();
      let missing = 0;
      for (const v of values) {
        if (isMissing(v)) missing++;
        else if (distinct.size < 50) distinct.add(String(v));
      }
      return { name, type: types[name], distinct: distinct.size, missing };
    }),
  };
}

/** A starting value for each feature of the prediction form: the median, or the most frequent value. */
function formFeatures(m: MultilossModel, data: Table): FormFeature[] {
  return m.preprocessor.toJSON().features.map((f) => {
    const present = data.columns.includes(f.name) ? columnValues(data, f.name).filter((v) => !isMissing(v)) : [];
    let example = '';
    if (f.type === 'numeric') {
      const nums = present.map(Number).filter(Number.isFinite).sort((a, b) => a - b);
      if (nums.length) example = String(nums[Math.floor(nums.length / 2)]);
    } else {
      const counts = new Map<string, number>();
      for (const v of present) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
      example = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    }
    return { name: f.name, type: f.type, ...(f.type === 'categorical' ? { categories: f.categories } : {}), example };
  });
}

async function train(id: number, raw: Record<string, unknown>): Promise<void> {
  if (!table) throw new MultilossError('usage', 'no training data: load a data file first');
  if (training) throw new MultilossError('usage', 'a model is training already: stop it first');
  const config = resolveConfig(parseConfig({ ...raw, data: table.source }, 'playground settings'));
  training = true;
  stopRequested = false;
  let lastBatchReport = 0;
  try {
    const trained = await fitModel(
      config,
      { table },
      {
        warn: (message) => send({ type: 'warning', message }),
        callbacks: {
          onTrainBegin: ({ epochs, batchesPerEpoch }) =>
            send({
              type: 'begin',
              heads: config.heads.map((h) => ({ name: h.name, kind: h.kind, loss: { name: h.loss ?? headFactory(h.kind, `head "${h.name}"`).losses[0] } })),
              method: config.balance.method,
              schedule: config.training.schedule?.kind ?? 'constant',
              epochs,
              batches: batchesPerEpoch,
            }),
          onBatchEnd: (log, control) => {
            if (stopRequested) control.stop();
            const now = performance.now();
            if (now - lastBatchReport > 100 || log.batch === log.batches) {
              lastBatchReport = now;
              send({ type: 'batch', epoch: log.epoch, batch: log.batch, batches: log.batches });
            }
          },
          onEpochEnd: (log, control) => {
            if (stopRequested) control.stop();
            send({ type: 'epoch', log });
          },
        },
      },
    );
    model?.dispose();
    model = trained;
    const summary: TrainingSummary = {
      stopped: trained.meta.history.length < config.training.epochs,
      epochs: trained.meta.history.length,
      parameters: trained.network.countParams(),
      metrics: trained.meta.metrics,
      features: formFeatures(trained, table),
      tensors: memory().numTensors,
    };
    send({ id, type: 'trained', summary });
  } finally {
    training = false;
  }
}

async function modelFiles(): Promise<ModelFile[]> {
  if (!model) throw new MultilossError('usage', 'no trained model: train one first');
  const { modelJson, weightData, meta } = await model.toArtifacts();
  const text = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
  return [
    { name: MODEL_FILE, data: text(JSON.stringify(modelJson)) },
    { name: WEIGHTS_FILE, data: weightData },
    { name: META_FILE, data: text(JSON.stringify(meta, null, 2)) },
  ];
}

async function handle(request: Request): Promise<void> {
  const { id } = request;
  try {
    switch (request.type) {
      case 'load': {
        const loaded = await readTableFrom(request.file.data, { name: request.file.name });
        table = loaded;
        send({ id, type: 'table', table: summarize(loaded) });
        return;
      }
      case 'train':
        return await train(id, request.config);
      case 'predict': {
        if (!model) throw new MultilossError('usage', 'no trained model: train one first');
        send({ id, type: 'predictions', predictions: model.predict(request.rows) });
        return;
      }
      case 'export': {
        const files = await modelFiles();
        send({ id, type: 'files', files }, files.map((f) => f.data));
        return;
      }
    }
  } catch (e) {
    send({ id, type: 'error', message: messageOf(e) });
  }
}

// Requests are handled one after another, except `stop`, which must reach a running training.
let queue: Promise<void> = Promise.resolve();
scope.addEventListener('message', (e) => {
  const message = e.data;
  if (message.type === 'stop') {
    stopRequested = true;
    return;
  }
  queue = queue.then(() => handle(message));
});

async function start(): Promise<void> {
  try {
    // ?backend=cpu (on the page's URL, passed on to the worker's) picks one; by default wasm, else cpu.
    // WebGL is not bundled: for networks this small, wasm is faster.
    const asked = new URL(scope.location.href).searchParams.get('backend');
    const backends: BrowserBackendName[] = asked && (BROWSER_BACKENDS as readonly string[]).includes(asked) ? [asked as BrowserBackendName] : ['wasm', 'cpu'];
    const info = await initBrowserBackend({ backends, wasmPaths: new URL('wasm/', scope.location.href).href });
    const backend = `${info.name}${info.simd ? ' (SIMD)' : ''}${info.skipped.length ? `; skipped ${info.skipped.map((b) => `${b.name}: ${b.reason}`).join('; ')}` : ''}`;
    send({
      type: 'ready',
      capabilities: {
        version: VERSION,
        backend,
        architectures: architectureKinds(),
        headKinds: [...HEAD_KINDS],
        missing: DEFAULT_MISSING.map((m) => (m === '' ? '(empty)' : m)),
        methods: BALANCING_METHODS.map((name) => ({ name, modes: isGradientMethod(name) ? [...VALID_MODES[name]] : [] })),
      },
    });
  } catch (e) {
    send({ type: 'failed', message: messageOf(e) });
  }
}
queue = start();
