/**
 * A module Web Worker (bundled like test/browser/page.ts): reads the posted File, trains off the
 * main thread with the browser entry, and posts back the model as tfjs artifacts (the weights
 * transferred, not copied) with its raw outputs — what a playground's worker does.
 */
import * as ml from '../../src/browser.js';

export interface WorkerRequest {
  file: File;
  config: Record<string, unknown>;
  wasmPaths: string;
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const { file, config, wasmPaths } = event.data;
  try {
    const backend = await ml.initBrowserBackend({ backends: ['wasm'], wasmPaths });
    const table = await ml.readTableFrom(file);
    const model = await ml.trainFromTable(config, { table });
    const outputs = model.predictOutputs(table).map((o) => Array.from(o));
    const artifacts = await ml.toTfjsArtifacts(model);
    model.dispose();
    const transfer = artifacts.weightData instanceof ArrayBuffer ? [artifacts.weightData] : [];
    self.postMessage({ backend: backend.name, rows: table.length, outputs, artifacts }, { transfer });
  } catch (e) {
    self.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
};
