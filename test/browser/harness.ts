/**
 * What the browser tests and `npm run bench -- browser` share: bundling a page script for the
 * browser with esbuild, a local http server on 127.0.0.1 (random free port) serving it with
 * tfjs's .wasm files, and headless Chromium (Debian's) driven through playwright-core, with
 * every console error and page error collected.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '../helpers.js';

export { ROOT };

export const CHROMIUM = '/usr/bin/chromium';
/** Software WebGL (SwiftShader) is allowed so that the webgl backend can run where the build offers it. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'];

const require = createRequire(import.meta.url);
/** The folder holding tfjs-backend-wasm's .wasm files. */
export const WASM_DIR = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.wasm'));

/** Whether @tensorflow/tfjs-backend-webgl is installed (multiloss does not depend on it; a page imports it to get WebGL). */
export function webglPackageInstalled(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-backend-webgl');
    return true;
  } catch {
    return false;
  }
}

/** Bundles `contents` (an ES module, resolved from `resolveDir`) for the browser into one ES module. */
export async function bundleForBrowser(contents: string, resolveDir: string, options: { minify?: boolean; external?: string[] } = {}): Promise<string> {
  const result = await esbuild.build({
    stdin: { contents, resolveDir, sourcefile: 'page-entry.ts', loader: 'ts' },
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: options.minify ?? false,
    external: options.external ?? [],
    // As Node's require (webglPackageInstalled) does: packages installed outside the tree are found too.
    nodePaths: process.env.NODE_PATH?.split(':').filter((p) => p !== '') ?? [],
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

export interface StaticFile {
  body: string | Uint8Array;
  type: string;
}

export interface TestServer {
  url: string;
  /** Serves `body` at `path` (e.g. '/page.js'). */
  add(path: string, file: StaticFile): void;
  /** Serves the files of `dir` under `prefix` (e.g. '/models/node/'). */
  addDir(prefix: string, dir: string): void;
  /** Files POSTed (multipart, as tfjs's http handler sends them) to `/save/NAME` are written to `dir`/NAME. */
  acceptSaves(dir: string): void;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.html': 'text/html', '.bin': 'application/octet-stream' };

function typeOf(path: string): string {
  return TYPES[/\.[a-z]+$/.exec(path)?.[0] ?? ''] ?? 'application/octet-stream';
}

/** An http server on 127.0.0.1 (a free port), serving an empty page at / and tfjs's .wasm files under /wasm/. */
export async function startServer(): Promise<TestServer> {
  const files = new Map<string, StaticFile>();
  const dirs = new Map<string, string>();
  let saveDir: string | undefined;
  files.set('/', { body: '<!doctype html><html><head><meta charset="utf-8"><title>multiloss</title></head><body></body></html>', type: 'text/html' });
  files.set('/favicon.ico', { body: '', type: 'image/x-icon' });
  dirs.set('/wasm/', WASM_DIR);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      if (req.method === 'POST' && path.startsWith('/save/') && saveDir !== undefined) {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        // undici (Node's fetch) parses multipart/form-data: the same parser a real server would use.
        const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
        const target = join(saveDir, path.slice('/save/'.length));
        mkdirSync(target, { recursive: true });
        const parts: File[] = [];
        form.forEach((value) => {
          if (typeof value !== 'string') parts.push(value);
        });
        for (const part of parts) writeFileSync(join(target, part.name), new Uint8Array(await part.arrayBuffer()));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      let file = files.get(path);
      if (file === undefined) {
        for (const [prefix, dir] of dirs) {
          if (path.startsWith(prefix) && !path.includes('..')) {
            try {
              file = { body: readFileSync(join(dir, path.slice(prefix.length))), type: typeOf(path) };
            } catch {
              // not there: 404 below
            }
          }
        }
      }
      if (file === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
    })().catch((e: unknown) => {
      res.writeHead(500).end(String(e));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    add: (path, file) => files.set(path, file),
    addDir: (prefix, dir) => dirs.set(prefix, dir),
    acceptSaves: (dir) => {
      saveDir = dir;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export interface BrowserSession {
  browser: Browser;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  problems: string[];
  close(): Promise<void>;
}

/** Headless Chromium with one page open at `url`, collecting console errors and page errors. */
export async function openPage(url: string, options: { downloads?: boolean } = {}): Promise<BrowserSession> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ acceptDownloads: options.downloads ?? false });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`http ${r.status()}: ${r.url()}`);
  });
  await page.goto(url, { waitUntil: 'load' });
  return { browser, page, problems, close: () => browser.close() };
}

/** Loads the bundled script at `scriptPath` into the page as a module and waits until it has run. */
export async function loadModule(page: Page, scriptPath: string): Promise<void> {
  await page.addScriptTag({ url: scriptPath, type: 'module' });
  await page.waitForFunction(() => (globalThis as { pageReady?: boolean }).pageReady === true);
}
