/**
 * Data files at http(s) URLs (a distributed sweep's data: `compare --queue
 * --data https://…`, read by every worker). A file is downloaded once per
 * machine into a cache named by its SHA-256 fingerprint, written under a
 * temporary name and renamed when complete, so a reader never sees a part of
 * one; a download whose bytes have another fingerprint than expected is
 * discarded. Credentials in a URL (`https://user:password@host/…`) go in an
 * Authorization header and never appear in a message, nor does a query
 * string (a signed URL's signature is a credential). Node-only.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { MultilossError } from '../errors.js';
import { fsyncDir, temporarySibling } from './files.js';

/** Whether a data location is an http(s) URL rather than a path. */
export function isDataUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** The URL for messages: `***@` for credentials, `?***` for a query string. */
export function displayUrl(location: string): string {
  let u: URL;
  try {
    u = new URL(location);
  } catch {
    return location.replace(/\/\/[^/@]*@/, '//***@').replace(/\?.*$/, '?***');
  }
  return `${u.protocol}//${u.username || u.password ? '***@' : ''}${u.host}${u.pathname}${u.search ? '?***' : ''}`;
}

/** A data location for messages: a URL redacted, a path as it is. */
export const displayLocation = (location: string): string => (isDataUrl(location) ? displayUrl(location) : location);

/** The default cache of downloaded data files (per machine and user). */
export const defaultDataCache = (): string => join(tmpdir(), 'multiloss-data-cache');

export interface DownloadOptions {
  /** The SHA-256 (hex) the bytes must have; a cached copy is used when there is one. */
  fingerprint?: string;
  /** Directory of the cache (default: multiloss-data-cache in the system's temporary directory). */
  cacheDir?: string;
  /** What the file is, for messages ("data file", "validation file", …). */
  what?: string;
}

/** A data URL's local copy: its path in the cache and its fingerprint. */
export interface LocalCopy {
  path: string;
  fingerprint: string;
}

const cause = (e: unknown): string => {
  const err = e as Error & { cause?: Error & { code?: string } };
  const inner = err?.cause;
  if (inner) return inner.code && !inner.message.includes(inner.code) ? `${inner.code}: ${inner.message}` : inner.message;
  return err?.message ?? String(e);
};

/**
 * Downloads `url` into the cache (or finds it there, when its fingerprint is
 * given) and returns the local copy. The error, one line naming the URL
 * without credentials and this machine: the URL unreachable, an HTTP status
 * other than 2xx, or bytes whose fingerprint is not the expected one.
 */
export async function downloadDataFile(url: string, options: DownloadOptions = {}): Promise<LocalCopy> {
  const what = options.what ?? 'data file';
  const shown = displayUrl(url);
  const where = `the ${what} ${shown} on ${hostname()}`;
  const dir = options.cacheDir ?? defaultDataCache();
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MultilossError('usage', `${what} ${shown}: not a URL`);
  }
  // The extension names the format (data.csv, data.parquet, …), as for a path.
  const ext = extname(u.pathname).toLowerCase();
  const cached = (fp: string) => join(dir, `${fp}${ext}`);
  if (options.fingerprint && existsSync(cached(options.fingerprint))) return { path: cached(options.fingerprint), fingerprint: options.fingerprint };
  const headers: Record<string, string> = {};
  if (u.username || u.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  let response: Response;
  try {
    response = await fetch(u, { headers, redirect: 'follow' });
  } catch (e) {
    throw new MultilossError('io', `cannot download ${where}: ${cause(e).replaceAll(url, shown)}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new MultilossError('io', `cannot download ${where}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new MultilossError('io', `cannot create the data cache ${dir}: ${(e as Error).message}`);
  }
  // Streamed to a temporary file while hashed: a large table is never held in memory.
  const tmp = temporarySibling(join(dir, `download${ext}`));
  const hash = createHash('sha256');
  const fd = openSync(tmp, 'w');
  try {
    try {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value: chunk } = await reader.read();
        if (done) break;
        hash.update(chunk);
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new MultilossError('io', `cannot download ${where}: ${cause(e)}`);
  }
  const fingerprint = hash.digest('hex');
  if (options.fingerprint && fingerprint !== options.fingerprint) {
    rmSync(tmp, { force: true });
    throw new MultilossError(
      'data',
      `${where} is not the sweep's (fingerprint ${fingerprint.slice(0, 12)}…, expected ${options.fingerprint.slice(0, 12)}…)`,
    );
  }
  renameSync(tmp, cached(fingerprint));
  fsyncDir(dir);
  return { path: cached(fingerprint), fingerprint };
}
