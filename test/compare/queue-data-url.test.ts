/**
 * A distributed sweep whose data is at an http(s) URL: a real node:http (and
 * node:https, with a self-signed certificate made by openssl) server, a real
 * redis-server and real worker processes. The coordinator queues the URL and
 * its fingerprint; each worker downloads the file once into its cache and
 * checks it; a URL that is unreachable, answers other than 2xx or serves other
 * bytes fails the job with one line; credentials in the URL are never printed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PENGUINS, PENGUINS_CONFIG, tempDir } from '../helpers.js';
import { background, startRedis } from './redis-server.js';

const USER = 'reader';
const PASSWORD = 'url-s3cret-Pw';
const TARGETS = ['--target', 'Species:classification', '--target', 'Body Mass (g):regression'];
const rows = JSON.parse(readFileSync(PENGUINS, 'utf8')) as unknown[];
/** Penguins without row `drop`: each test's own data, so that no two sweeps share run ids. */
const variant = (drop: number) => JSON.stringify(rows.filter((_, i) => i !== drop));

interface DataServer {
  url: (path: string, credentials?: boolean) => string;
  /** What each path serves now: bytes, or an HTTP status. */
  files: Map<string, string | number>;
  requests: string[];
  close(): Promise<void>;
}

async function serve(tls?: { key: string; cert: string }): Promise<DataServer> {
  const files = new Map<string, string | number>();
  const requests: string[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? '');
    const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      res.writeHead(401).end();
      return;
    }
    const body = files.get((req.url ?? '').split('?')[0]);
    if (typeof body === 'string') res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    else res.writeHead(body ?? 404).end();
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (path, credentials = true) => `${tls ? 'https' : 'http'}://${credentials ? `${USER}:${PASSWORD}@` : ''}127.0.0.1:${port}${path}?token=abc`,
    files,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const sweep = (redisUrl: string, data: string, extra: string[] = []) => [
  'compare',
  '--data',
  data,
  ...TARGETS,
  '--epochs',
  '1',
  '--methods',
  'equal',
  '--seeds',
  '1',
  '--attempts',
  '1',
  '--queue',
  redisUrl,
  ...extra,
];

describe('compare --queue with data at an http(s) URL', { timeout: 600_000 }, () => {
  it('workers download the file once (cached by fingerprint), train every run; credentials never printed', async () => {
    const redis = await startRedis();
    const http = await serve();
    const dir = tempDir();
    const cache = tempDir();
    try {
      http.files.set('/penguins.json', variant(0));
      const w = background(['worker', '--queue', redis.url], { TMPDIR: cache });
      const c = background([...sweep(redis.url, http.url('/penguins.json'), ['--seeds', '2']), '--json', join(dir, 'r.json'), '--report', join(dir, 'r.html')]);
      const done = await c.exited;
      w.child.kill('SIGTERM');
      const wLog = (await w.exited).stderr;
      assert.equal(done.code, 0, done.stderr);
      const result = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { runs: unknown[]; data: string };
      assert.equal(result.runs.length, 4);
      assert.match(result.data, /^http:\/\/\*\*\*@127\.0\.0\.1:\d+\/penguins\.json\?\*\*\*$/);
      assert.match(done.stderr, /343 rows from http:\/\/\*\*\*@127\.0\.0\.1:\d+\/penguins\.json\?\*\*\*/);
      // One download by the coordinator, one by the worker for its four runs.
      assert.equal(http.requests.length, 2, http.requests.join('\n'));
      assert.equal(readdirSync(join(cache, 'multiloss-data-cache')).filter((f) => f.endsWith('.json')).length, 1);
      const everything = `${done.stdout}${done.stderr}${wLog}${readFileSync(join(dir, 'r.json'), 'utf8')}${readFileSync(join(dir, 'r.html'), 'utf8')}`;
      assert.ok(!everything.includes(PASSWORD) && !everything.includes('token=abc'), 'no credential in any output');
    } finally {
      await http.close();
      await redis.stop();
    }
  });

  it('a worker fails the run in one line when the URL answers 404, serves other bytes, or is unreachable', async () => {
    const redis = await startRedis();
    const http = await serve();
    try {
      // Each case: the coordinator reads the file and queues it; then the server changes; then a worker starts.
      const cases: [string, () => void | Promise<void>, RegExp][] = [
        ['/gone.json', () => void http.files.set('/gone.json', 404), /the data file http:\/\/\*\*\*@127\.0\.0\.1:\d+\/gone\.json\?\*\*\* on .*: HTTP 404 Not Found/],
        [
          '/changed.json',
          () => void http.files.set('/changed.json', variant(5)),
          /the data file http:\/\/\*\*\*@127\.0\.0\.1:\d+\/changed\.json\?\*\*\* on .* is not the sweep's \(fingerprint [0-9a-f]{12}…, expected [0-9a-f]{12}…\)/,
        ],
        ['/down.json', () => http.close(), /cannot download the data file http:\/\/\*\*\*@127\.0\.0\.1:\d+\/down\.json\?\*\*\* on .*: .*ECONNREFUSED/],
      ];
      for (const [[path, change, reason], i] of cases.map((c, i) => [c, i] as const)) {
        http.files.set(path, variant(i + 1));
        const c = background(sweep(redis.url, http.url(path)));
        await c.waitFor(/runs queued/);
        await change();
        const w = background(['worker', '--queue', redis.url], { TMPDIR: tempDir() });
        const done = await c.exited;
        w.child.kill('SIGTERM');
        const wLog = (await w.exited).stderr;
        assert.equal(done.code, 0, done.stderr);
        assert.match(done.stdout, new RegExp(`Failed: separate models, seed \\d+ \\(run [0-9a-f]{20}, 1 attempt\\): (cannot download )?${reason.source}`), done.stdout);
        assert.match(done.stderr, /2 runs failed/);
        assert.ok(!`${done.stdout}${done.stderr}${wLog}`.includes(PASSWORD), 'no password in any output');
      }
    } finally {
      await http.close().catch(() => undefined);
      await redis.stop();
    }
  });

  it('https with a self-signed certificate: trusted through NODE_EXTRA_CA_CERTS (the URL in a configuration); refused in one line without it', async () => {
    const dir = tempDir();
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    assert.equal(made.status, 0, 'openssl made a certificate');
    const redis = await startRedis();
    const https = await serve({ key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') });
    try {
      https.files.set('/penguins.json', variant(10));
      const untrusted = background([...sweep(redis.url, https.url('/penguins.json')), '--quiet']);
      const refused = await untrusted.exited;
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /^multiloss: cannot download the data file https:\/\/\*\*\*@127\.0\.0\.1:\d+\/penguins\.json\?\*\*\* on .*: .*self[- ]signed certificate.*\n$/);
      const trust = { NODE_EXTRA_CA_CERTS: cert, TMPDIR: tempDir() };
      const w = background(['worker', '--queue', redis.url], trust);
      // The URL as a configuration's data: (kept as it is, not taken as a path relative to the file).
      const configFile = join(dir, 'sweep.yaml');
      writeFileSync(configFile, readFileSync(PENGUINS_CONFIG, 'utf8').replace(/^data: .*$/m, `data: ${https.url('/penguins.json')}`));
      const c = background(['compare', '--config', configFile, '--epochs', '1', '--methods', 'equal', '--seeds', '1', '--queue', redis.url], trust);
      const done = await c.exited;
      w.child.kill('SIGTERM');
      await w.exited;
      assert.equal(done.code, 0, done.stderr);
      assert.doesNotMatch(done.stdout, /Failed/);
      assert.match(done.stdout, /joint equal/);
      assert.match(done.stderr, /343 rows from https:\/\/\*\*\*@127\.0\.0\.1:\d+\/penguins\.json\?\*\*\*/);
    } finally {
      await https.close();
      await redis.stop();
    }
  });
});
