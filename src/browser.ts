/**
 * multiloss for web pages and Web Workers (`import … from 'multiloss/browser'`, or plain
 * 'multiloss' through the exports map's "browser" condition).
 *
 * The shared core (./core.ts: data, models and heads, losses, metrics, balancing, training, the
 * library API) plus what a page needs instead of Node's files and backends: initBrowserBackend
 * (webgl → wasm → cpu), readTableFrom (a File, Blob or string), and saving / loading models
 * through tfjs IO handlers (downloads://, indexeddb://, http(s) URLs, any tf.io.IOHandler).
 * Nothing here imports Node; test/browser/bundle.test.ts bundles it for the browser to keep it so.
 * docs/browser.md shows a complete page.
 */
export * from './core.js';

export {
  initBrowserBackend,
  BROWSER_BACKENDS,
  type BrowserBackendInfo,
  type BrowserBackendName,
  type BrowserBackendOptions,
  type WasmFileName,
} from './browser/backend.js';
export { readTableFrom, MAX_BLOB_BYTES, type ReadTableOptions } from './browser/table.js';
export { registerWasmKernelFixes } from './engine/wasm-kernels/index.js';
