// The page script of `npm run bench -- browser`: workload W1 (bench/w1.ts) trained by the
// browser entry's code in Chromium, on the backend asked for.
import { initBrowserBackend, Rng, type BrowserBackendInfo, type BrowserBackendName } from '../src/browser.js';
import { multilossRate, w1Data } from './w1.js';

export interface BrowserW1Args {
  backend: BrowserBackendName;
  wasmPaths: string;
  rows: number;
  epochs: number;
}

const bench = {
  /** Samples/s of the multiloss loop on W1 (median epoch after a warm-up one) under `backend`. */
  async w1(args: BrowserW1Args): Promise<{ backend: BrowserBackendInfo; samplesPerSecond: number }> {
    const backend = await initBrowserBackend({ backends: [args.backend], wasmPaths: args.wasmPaths });
    const samplesPerSecond = await multilossRate(w1Data(args.rows, new Rng(7)), args.epochs, 128, true);
    return { backend, samplesPerSecond };
  },
};

Object.assign(globalThis, { bench, pageReady: true });
