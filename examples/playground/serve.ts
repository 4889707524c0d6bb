/**
 * Builds the playground (a static site: the page, its worker bundled from
 * multiloss's browser entry with esbuild, the tfjs wasm binaries and the
 * penguins data) and serves it on 127.0.0.1.
 *
 *   npm run playground                          # build into examples/playground/dist, serve on port 8080
 *   npm run playground -- --port 9000 --out DIR  # another port (0: any free one), another folder
 *   npm run playground -- --build-only --out DIR # just write the static site
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
export const DEFAULT_OUT = join(HERE, 'dist');
const WASM_DIR = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.wasm'));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
};

/** Marks a folder as a playground build, which a later build may replace. */
const MARKER = '.multiloss-playground';

/**
 * Writes the static site to `out` and returns the bundle sizes in bytes. `out` must be new, empty
 * or an earlier build (which is replaced): anything else is refused rather than deleted.
 */
export async function buildPlayground(out = DEFAULT_OUT): Promise<Record<string, number>> {
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, MARKER))) {
    throw new Error(`${out}: the folder is not empty and holds no earlier playground build; give a new or empty folder (--out DIR)`);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'wasm'), { recursive: true });
  mkdirSync(join(out, 'data'), { recursive: true });
  writeFileSync(join(out, MARKER), 'built by examples/playground/serve.ts; replaced by the next build\n');
  await build({
    entryPoints: { main: join(HERE, 'src', 'main.ts'), worker: join(HERE, 'src', 'worker.ts') },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(HERE, f), join(out, f));
  copyFileSync(join(ROOT, 'data', 'penguins.json'), join(out, 'data', 'penguins.json'));
  for (const f of readdirSync(WASM_DIR).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(WASM_DIR, f), join(out, 'wasm', f));
  return Object.fromEntries(['main.js', 'worker.js'].map((f) => [f, statSync(join(out, f)).size]));
}

export interface RunningPlayground {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serves the static site in `dir` on 127.0.0.1 (`port` 0: any free port). GET and HEAD only; nothing outside `dir`. */
export function servePlayground(dir = DEFAULT_OUT, port = 8080): Promise<RunningPlayground> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    const inside = !relative(root, file).startsWith('..') && (file === root || file.startsWith(root + sep));
    let body: Buffer | undefined;
    if ((req.method === 'GET' || req.method === 'HEAD') && inside) {
      try {
        body = readFileSync(file);
      } catch {
        body = undefined;
      }
    }
    if (!body) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${req.method === 'GET' || req.method === 'HEAD' ? 'not found' : 'method not allowed'}: ${path}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'EADDRINUSE' ? `port ${port} is in use: npm run playground -- --port N (another port)` : `cannot serve the playground: ${e.message}`)),
    );
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      resolvePromise({
        url: `http://127.0.0.1:${actual}/`,
        server,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

async function main(args: string[]): Promise<void> {
  const options: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const name = args[i];
    if (name === '--build-only') options[name] = true;
    else if (name === '--port' || name === '--out') {
      const value = args[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`${name}: expected a value`);
      options[name] = value;
    } else throw new Error(`unknown option ${name} (options: --port N, --out DIR, --build-only)`);
  }
  const portText = String(options['--port'] ?? '8080');
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`--port ${portText}: expected a whole number from 0 to 65535`);
  const out = options['--out'] ? resolve(String(options['--out'])) : DEFAULT_OUT;
  const sizes = await buildPlayground(out);
  const kb = (n: number) => `${(n / 1024).toFixed(0)} kB`;
  const shown = relative(process.cwd(), out);
  console.error(`built the playground in ${shown.startsWith('..') ? out : shown} (main.js ${kb(sizes['main.js'])}, worker.js ${kb(sizes['worker.js'])})`);
  if (options['--build-only']) return;
  const running = await servePlayground(out, port);
  console.log(`multiloss playground: ${running.url}`);
  console.error('(Ctrl-C to stop)');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(`playground: ${e.message.split('\n')[0]}`);
    process.exit(2);
  });
}
