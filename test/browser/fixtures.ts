/**
 * Shared by the browser tests: the bundled page script served with tfjs's .wasm files, a
 * Chromium page with it loaded, and the penguins configuration (short) they train.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { parse } from 'yaml';
import { PENGUINS, PENGUINS_CONFIG } from '../helpers.js';
import { bundleForBrowser, loadModule, openPage, ROOT, startServer, webglPackageInstalled, type BrowserSession, type TestServer } from './harness.js';
import type { Scenarios } from './page.js';

/** The penguins example's configuration (three heads: classification, binary, regression), `epochs` long, without file paths. */
export function penguinsConfig(epochs: number): Record<string, unknown> {
  const config = parse(readFileSync(PENGUINS_CONFIG, 'utf8')) as Record<string, unknown> & { training: Record<string, unknown> };
  delete config.data;
  delete config.out;
  config.training.epochs = epochs;
  return config;
}

export function penguinRows(): Record<string, unknown>[] {
  return JSON.parse(readFileSync(PENGUINS, 'utf8')) as Record<string, unknown>[];
}

/** The penguins rows as CSV text (header from the first row; empty cells for nulls). */
export function penguinsCsv(): string {
  const rows = penguinRows();
  const columns = Object.keys(rows[0]);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
  return [columns.map(cell).join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

export interface PageUnderTest extends BrowserSession {
  server: TestServer;
  /** Runs a scenario of test/browser/page.ts in the page. */
  run<K extends keyof Scenarios>(name: K, arg: Parameters<Scenarios[K]>[0]): Promise<Awaited<ReturnType<Scenarios[K]>>>;
  stop(): Promise<void>;
}

/**
 * Bundles test/browser/page.ts (the browser entry and the scenarios) for the browser — with
 * @tensorflow/tfjs-backend-webgl when it is installed, as a page wanting WebGL would — serves it,
 * and opens it in headless Chromium.
 */
export async function openTestPage(options: { downloads?: boolean } = {}): Promise<PageUnderTest> {
  const entry = `${webglPackageInstalled() ? "import '@tensorflow/tfjs-backend-webgl';\n" : ''}import './page.ts';\n`;
  const script = await bundleForBrowser(entry, join(ROOT, 'test', 'browser'));
  const worker = await bundleForBrowser("import './worker.ts';\n", join(ROOT, 'test', 'browser'));
  const server = await startServer();
  server.add('/page.js', { body: script, type: 'text/javascript' });
  server.add('/worker.js', { body: worker, type: 'text/javascript' });
  const session = await openPage(server.url, options);
  await loadModule(session.page, '/page.js');
  const page: Page = session.page;
  return {
    ...session,
    server,
    run: (name, arg) =>
      page.evaluate(([n, a]) => (globalThis as unknown as { scenarios: Record<string, (x: unknown) => unknown> }).scenarios[n](a), [name, arg] as const) as never,
    stop: async () => {
      await session.close();
      await server.close();
    },
  };
}

/** Whether |a − b| ≤ tol·max(1, |a|) for every pair (same lengths); the worst pair otherwise. */
export function closeTo(a: readonly number[][], b: readonly number[][], tol: number): string | undefined {
  if (a.length !== b.length) return `${a.length} outputs vs ${b.length}`;
  for (let h = 0; h < a.length; h++) {
    if (a[h].length !== b[h].length) return `output ${h}: ${a[h].length} values vs ${b[h].length}`;
    for (let i = 0; i < a[h].length; i++) {
      if (!(Math.abs(a[h][i] - b[h][i]) <= tol * Math.max(1, Math.abs(a[h][i])))) return `output ${h}[${i}]: ${a[h][i]} vs ${b[h][i]}`;
    }
  }
  return undefined;
}
