/**
 * The script the browser tests load into Chromium, bundled from the browser entry
 * (src/browser.ts) by esbuild for the browser. It exposes the scenarios the tests run on
 * `globalThis.scenarios`; every scenario returns plain data (or a failure's message).
 */
import { io, memory } from '@tensorflow/tfjs-core';
import * as ml from '../../src/browser.js';

export interface TrainArgs {
  backend: ml.BrowserBackendName;
  wasmPaths: string;
  rows: Record<string, unknown>[];
  config: Record<string, unknown>;
}

export interface TrainResult {
  backend: ml.BrowserBackendInfo;
  validation: Record<string, Record<string, number>>;
  outputs: number[][];
  predictions: ml.Prediction[];
  /** Live tensors after training, less those before it and the model's own weights (a leak if > 0). */
  leakedTensors: number;
}

export interface OutputsResult {
  outputs: number[][];
  predictions: ml.Prediction[];
}

let trained: ml.MultilossModel | undefined;
/** Rows the models predict: kept so that every scenario predicts the same ones. */
let predictRows: Record<string, unknown>[] = [];

function outputsOf(model: ml.MultilossModel): OutputsResult {
  return { outputs: model.predictOutputs(predictRows).map((o) => Array.from(o)), predictions: model.predict(predictRows) };
}

/** A table as plain data (columns, rows of cells, lines), what crosses to Node and compares there. */
function plainTable(t: ml.Table): { columns: string[]; rows: ml.Cell[][]; lines?: number[]; source: string } {
  return { columns: t.columns, rows: ml.tableRows(t), ...(t.lines ? { lines: Array.from(t.lines) } : {}), source: t.source };
}

async function failure<T>(run: () => Promise<T>): Promise<T | { error: string; kind?: string }> {
  try {
    return await run();
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e), kind: ml.isMultilossError(e) ? e.kind : undefined };
  }
}

const scenarios = {
  /** Initialises `backend` only (no fallback) and trains the configuration on `rows`. */
  async train(args: TrainArgs): Promise<TrainResult> {
    const backend = await ml.initBrowserBackend({ backends: [args.backend], wasmPaths: args.wasmPaths });
    trained?.dispose();
    predictRows = args.rows;
    const before = memory().numTensors;
    trained = await ml.trainFromTable(args.config, { table: ml.rowsToTable(args.rows, 'rows') });
    const leakedTensors = memory().numTensors - before - trained.network.model.weights.length;
    const validation: TrainResult['validation'] = {};
    for (const [head, log] of Object.entries(trained.meta.metrics.validation?.heads ?? {})) validation[head] = log.metrics;
    return { backend, validation, leakedTensors, ...outputsOf(trained) };
  },

  /** The default order (webgl, wasm, cpu): which backend the page gets, and why the others were skipped. */
  async defaultBackend(wasmPaths: string): Promise<ml.BrowserBackendInfo> {
    return ml.initBrowserBackend({ wasmPaths });
  },

  /** Initialises `name` only (no fallback). */
  async backend(args: { name: ml.BrowserBackendName; wasmPaths: string }): Promise<ml.BrowserBackendInfo> {
    return ml.initBrowserBackend({ backends: [args.name], wasmPaths: args.wasmPaths });
  },

  async badBackend(): Promise<unknown> {
    return failure(() => ml.initBrowserBackend({ backends: ['webgpu' as ml.BrowserBackendName] }));
  },

  /** Saves the last trained model (downloads://…, an http URL, indexeddb://…). */
  async save(destination: string): Promise<unknown> {
    if (trained === undefined) throw new Error('train first');
    const model = trained;
    return failure(async () => (await ml.saveModelTo(model, destination)).modelArtifactsInfo);
  },

  /** Loads a model from `source` and predicts the rows of the last training (or `rows`). */
  async load(args: { source: string; rows?: Record<string, unknown>[] }): Promise<unknown> {
    if (args.rows !== undefined) predictRows = args.rows;
    return failure(async () => {
      const model = await ml.loadModelFrom(args.source);
      try {
        return outputsOf(model);
      } finally {
        model.dispose();
      }
    });
  },

  /**
   * Trains in a module Web Worker (test/browser/worker.ts) on a CSV File, then loads the
   * artifacts it posts back in the page (tf.io.fromMemory) and predicts the same rows.
   */
  async trainInWorker(args: { workerUrl: string; csv: string; config: Record<string, unknown>; wasmPaths: string }): Promise<unknown> {
    const worker = new Worker(args.workerUrl, { type: 'module' });
    try {
      const reply = await new Promise<{ error?: string; backend: string; rows: number; outputs: number[][]; artifacts: io.ModelArtifacts }>((resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(new Error(e.message));
        worker.postMessage({ file: new File([args.csv], 'penguins.csv'), config: args.config, wasmPaths: args.wasmPaths });
      });
      if (reply.error !== undefined) return reply;
      await ml.initBrowserBackend({ backends: ['wasm'], wasmPaths: args.wasmPaths });
      const table = await ml.readTableFrom(args.csv, { name: 'penguins.csv' });
      const model = await ml.loadModelFrom(io.fromMemory(reply.artifacts));
      try {
        return { backend: reply.backend, rows: reply.rows, workerOutputs: reply.outputs, pageOutputs: model.predictOutputs(table).map((o) => Array.from(o)) };
      } finally {
        model.dispose();
      }
    } finally {
      worker.terminate();
    }
  },

  /** Reads a table from a File named `name` holding `text`, or the one-line error. */
  async readFile(args: { text: string; name: string; format?: ml.TableFormat }): Promise<unknown> {
    return failure(async () => plainTable(await ml.readTableFrom(new File([args.text], args.name), { format: args.format })));
  },

  /** Fetches `url` from the test server and reads it as a File named `name` (Parquet, Arrow: binary bytes), or the one-line error. */
  async readFetched(args: { url: string; name: string }): Promise<unknown> {
    return failure(async () => {
      const blob = await (await fetch(args.url)).blob();
      return plainTable(await ml.readTableFrom(new File([blob], args.name)));
    });
  },

  /**
   * Fetches `url`, reads it from an ArrayBuffer (the format given) and trains the configuration on
   * it, then on `rows`: the weights of both models (under wasm), or the one-line error.
   */
  async trainFetched(args: { url: string; format: 'parquet' | 'arrow'; rows: Record<string, unknown>[]; config: Record<string, unknown>; wasmPaths: string }): Promise<unknown> {
    return failure(async () => {
      await ml.initBrowserBackend({ backends: ['wasm'], wasmPaths: args.wasmPaths });
      const weightsOf = async (table: ml.Table) => {
        const model = await ml.trainFromTable(args.config, { table });
        const weights = model.network.model.getWeights().map((w) => Array.from(w.dataSync()));
        model.dispose();
        return weights;
      };
      const fromFile = await weightsOf(await ml.readTableFrom(await (await fetch(args.url)).arrayBuffer(), { format: args.format }));
      return { fromFile, fromRows: await weightsOf(ml.rowsToTable(args.rows, 'rows')) };
    });
  },

  /** Reads a table from a Blob, or the one-line error. */
  async readBlob(args: { text: string; format?: ml.TableFormat; name?: string }): Promise<unknown> {
    return failure(async () => plainTable(await ml.readTableFrom(new Blob([args.text]), { format: args.format, name: args.name })));
  },
};

export type Scenarios = typeof scenarios;

Object.assign(globalThis, { scenarios, pageReady: true });
