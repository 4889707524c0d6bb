/**
 * A real redis-server for the queue tests: on a free port, in a temporary
 * directory, with the append-only file on (so that a restart keeps the
 * queue, as in production), optionally with a password. Stopped by the test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers.js';

export interface TestRedis {
  port: number;
  url: string;
  /** With `tls`: the self-signed certificate (PEM file) clients must trust (NODE_EXTRA_CA_CERTS). */
  ca?: string;
  dir: string;
  /** Stops the server (SIGTERM: it writes its append-only file and exits). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis(options: { password?: string; tls?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = tempDir('multiloss-redis-');
  const ca = join(dir, 'cert.pem');
  if (options.tls) {
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        ca,
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      {
        stdio: 'ignore',
      },
    );
    if (r.status !== 0) throw new Error('openssl could not make a test certificate');
  }
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const listen = options.tls
        ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', ca, '--tls-key-file', join(dir, 'key.pem'), '--tls-auth-clients', 'no']
        : ['--port', String(port)];
      const args = [...listen, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--logfile', join(dir, 'redis.log')];
      if (options.password) args.push('--requirepass', options.password);
      const c = spawn('redis-server', args, { stdio: 'ignore' });
      child = c;
      c.on('error', reject);
      // Ready when it accepts connections.
      const poll = async (tries: number) => {
        const { connect } = await import('node:net');
        const sock = connect(port, '127.0.0.1');
        sock.on('connect', () => {
          sock.destroy();
          resolve();
        });
        sock.on('error', () => {
          sock.destroy();
          if (tries > 200) reject(new Error(`redis-server did not start on port ${port}`));
          else setTimeout(() => void poll(tries + 1), 50);
        });
      };
      void poll(0);
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      const c = child;
      if (!c || c.exitCode !== null) return resolve();
      c.on('exit', () => resolve());
      c.kill('SIGTERM');
    });
  await start();
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return { port, dir, url: `${options.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}/0`, ...(options.tls ? { ca } : {}), stop, start };
}

/** A CLI process running in the background: its output so far, a wait for a line, its exit. */
export interface Background {
  child: ChildProcess;
  out(): { stdout: string; stderr: string };
  /** Resolves once stderr matches (counted over everything written so far). */
  waitFor(pattern: RegExp): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function background(args: string[], env: Record<string, string> = {}): Background {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.pattern.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    check();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    out: () => ({ stdout, stderr }),
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ pattern, resolve });
        check();
        void exited.then(() => {
          if (waiters.some((w) => w.pattern === pattern)) reject(new Error(`exited before ${pattern}: ${stderr}`));
        });
      }),
    exited,
  };
}

/** Run ids a worker log says it finished. */
export const finishedRuns = (log: string): string[] => [...log.matchAll(/run ([0-9a-f]{20}) \([^)]*\) finished/g)].map((m) => m[1]);
