// `npm run bench -- browser [--rows N] [--epochs N]` (issue 14): the browser build.
//  - Bundle size of the browser entry (src/browser.ts), minified by esbuild and gzipped
//    (level 9), with tfjs bundled in and with @tensorflow/* left to the page (external).
//  - Workload W1 (bench/w1.ts: 784→256→256 ReLU, 10-class + regression heads, batch 128, Adam)
//    trained by the multiloss loop in headless Chromium per backend (cpu, wasm, webgl when
//    @tensorflow/tfjs-backend-webgl is installed and the browser offers WebGL), side by side
//    with the same workload in this Node process on wasm — with the native kernels when they
//    are active, and with the fixed wasm kernels only (what a page's wasm backend runs) — as
//    ratios measured in the same run. Node is measured before and after the browser runs; the
//    better figure counts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { nativeStatus, registerNativeKernels, unregisterNativeKernels } from '../src/engine/native/index.js';
import { Rng } from '../src/util/rng.js';
import { bundleForBrowser, loadModule, openPage, ROOT, startServer, WASM_DIR, webglPackageInstalled } from '../test/browser/harness.js';
import type { BrowserW1Args } from './browser-page.js';
import { multilossRate, w1Data } from './w1.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;

export async function runBrowserBench(): Promise<void> {
  const rows = flag('rows', 4096);
  const epochs = flag('epochs', 2);

  // Bundle sizes.
  const entry = `export * from ${JSON.stringify(join(ROOT, 'src', 'browser.ts'))};\n`;
  console.log('browser entry (src/browser.ts, every export kept), esbuild --minify, gzip -9:');
  for (const [label, external] of [
    ['with tfjs bundled in', []],
    ['tfjs external (@tensorflow/*)', ['@tensorflow/*']],
  ] as const) {
    const js = await bundleForBrowser(entry, ROOT, { minify: true, external: [...external] });
    const bytes = Buffer.byteLength(js);
    console.log(`  ${label.padEnd(31)} ${kb(bytes).padStart(10)} minified, ${kb(gzipSync(js, { level: 9 }).length).padStart(9)} gzipped`);
  }
  // The wasm backend fetches one of these at run time (SIMD when the browser has it).
  for (const f of ['tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm.wasm']) {
    const bytes = readFileSync(join(WASM_DIR, f));
    console.log(`  ${f.padEnd(31)} ${kb(bytes.length).padStart(10)} raw,      ${kb(gzipSync(bytes, { level: 9 }).length).padStart(9)} gzipped (fetched at run time)`);
  }

  // W1 in Node (wasm), before the browser runs.
  const train = w1Data(rows, new Rng(7));
  const nodeRates = { native: [] as number[], wasm: [] as number[] };
  const nativeOn = nativeStatus().active;
  const measureNode = async () => {
    if (nativeOn) {
      nodeRates.native.push(await multilossRate(train, epochs, 128, true));
      unregisterNativeKernels();
    }
    nodeRates.wasm.push(await multilossRate(train, epochs, 128, true));
    if (nativeOn) registerNativeKernels();
  };
  await measureNode();

  // W1 in Chromium, one fresh browser per backend.
  const webgl = webglPackageInstalled();
  const script = await bundleForBrowser(`${webgl ? "import '@tensorflow/tfjs-backend-webgl';\n" : ''}import './browser-page.ts';\n`, join(ROOT, 'bench'));
  const server = await startServer();
  server.add('/bench.js', { body: script, type: 'text/javascript' });
  const browserRates: { backend: string; rate?: number; note: string }[] = [];
  try {
    for (const backend of ['cpu', 'wasm', 'webgl'] as const) {
      if (backend === 'webgl' && !webgl) {
        browserRates.push({ backend, note: 'not measured: @tensorflow/tfjs-backend-webgl is not installed' });
        continue;
      }
      const session = await openPage(server.url);
      try {
        await loadModule(session.page, '/bench.js');
        const args: BrowserW1Args = { backend, wasmPaths: `${server.url}/wasm/`, rows, epochs };
        const r = await session.page.evaluate((a) => (globalThis as unknown as { bench: { w1(x: unknown): Promise<{ backend: { simd?: boolean }; samplesPerSecond: number }> } }).bench.w1(a), args);
        browserRates.push({ backend, rate: r.samplesPerSecond, note: backend === 'wasm' ? (r.backend.simd ? 'simd, fixed kernels' : 'no simd, fixed kernels') : '' });
        if (session.problems.length > 0) console.log(`  (${backend}: ${session.problems.join('; ')})`);
      } catch (e) {
        browserRates.push({ backend, note: `failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}` });
      } finally {
        await session.close();
      }
    }
  } finally {
    await server.close();
  }
  await measureNode();

  const nodeWasm = Math.max(...nodeRates.wasm);
  const nodeNative = nativeOn ? Math.max(...nodeRates.native) : undefined;
  console.log(`\nW1 (784→256→256 ReLU, 10-class + regression, batch 128, Adam 1e-3, train metrics on), ${rows} rows, median of ${epochs} epochs after a warm-up one:`);
  console.log(`  ${'where'.padEnd(38)} ${'samples/s'.padStart(10)}  ${'/ Node wasm'.padStart(11)}${nodeNative !== undefined ? `  ${'/ Node native'.padStart(13)}` : ''}`);
  const line = (where: string, rate: number | undefined, note = '') => {
    const cells = rate === undefined ? `${'—'.padStart(10)}  ${''.padStart(11)}` : `${String(Math.round(rate)).padStart(10)}  ${(rate / nodeWasm).toFixed(3).padStart(11)}${nodeNative !== undefined ? `  ${(rate / nodeNative).toFixed(3).padStart(13)}` : ''}`;
    console.log(`  ${where.padEnd(38)} ${cells}${note ? `  ${note}` : ''}`);
  };
  if (nodeNative !== undefined) line('Node, wasm + native kernels', nodeNative, `(${nativeStatus().isa}, ${nativeStatus().threads} threads)`);
  line('Node, wasm (fixed wasm kernels only)', nodeWasm);
  for (const r of browserRates) line(`Chromium, ${r.backend}`, r.rate, r.note);
}
