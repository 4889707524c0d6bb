import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MultilossError } from '../errors.js';

/** Files larger than this are refused rather than read into memory (data files: 2 GiB). */
export const MAX_DATA_BYTES = 2 ** 31 - 1;

/** A short reason for a file-system error ("no such file", …). */
export function ioMessage(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'no such file';
  if (err.code === 'EACCES') return 'permission denied';
  if (err.code === 'EISDIR') return 'is a directory';
  return err.message ?? String(e);
}

/**
 * The size of a regular file; anything else is refused at once with an error
 * naming it: a directory, a device (/dev/zero or /dev/urandom would be read
 * without end, a terminal would wait for typing), a pipe (FIFO: the read
 * blocks until a writer comes, and may never end) or a socket.
 */
export function statChecked(path: string, what: string): number {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new MultilossError('io', `${what} ${path}: is a directory, expected a file`);
    if (st.isCharacterDevice() || st.isBlockDevice()) throw new MultilossError('io', `${what} ${path}: is a device, expected a file`);
    if (st.isFIFO()) throw new MultilossError('io', `${what} ${path}: is a pipe (FIFO), expected a regular file; write the data to a file first`);
    if (!st.isFile()) throw new MultilossError('io', `${what} ${path}: is a socket or another special file, expected a regular file`);
    return st.size;
  } catch (e) {
    if (e instanceof MultilossError) throw e;
    throw new MultilossError('io', `${what} ${path}: ${ioMessage(e)}`);
  }
}

/**
 * Reads a whole file, with errors that name it. `what` says what the file is for ("data file", …).
 * Typed as Uint8Array (a Buffer is one) so the package's public types need no Node type definitions.
 */
export function readFileChecked(path: string, what: string, maxBytes = MAX_DATA_BYTES): Uint8Array {
  const size = statChecked(path, what);
  if (size > maxBytes) throw new MultilossError('io', `${what} ${path}: ${size} bytes is more than the ${maxBytes} allowed`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new MultilossError('io', `${what} ${path}: ${ioMessage(e)}`);
  }
}

export function readTextChecked(path: string, what: string, maxBytes = MAX_DATA_BYTES): string {
  const bytes = readFileChecked(path, what, maxBytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'); // a view, no copy
}

/** A unique name next to `path` for a temporary file or directory. */
export function temporarySibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes, flushes and fsyncs a file in full. */
export function writeFileSynced(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file under a temporary name in the same directory, then renames it
 * over `path`: a reader sees the old file or the whole new one, never a part.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = temporarySibling(path);
  try {
    writeFileSynced(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new MultilossError('io', `cannot write ${path}: ${ioMessage(e)}`);
  }
  fsyncDir(dirname(path));
}

/** Makes a rename durable (best effort: not every platform can fsync a directory). */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Directory fsync is unsupported on some platforms; the rename is still atomic.
  }
}

/**
 * A file written piece by piece under a temporary name in its directory and
 * renamed into place by `commit()` (after an fsync): a reader sees the old
 * file or the whole new one. `abort()` removes the temporary file.
 */
export class AtomicFileWriter {
  private readonly tmp: string;
  private fd: number | undefined;

  constructor(readonly path: string) {
    this.tmp = temporarySibling(path);
    try {
      this.fd = openSync(this.tmp, 'w');
    } catch (e) {
      throw new MultilossError('io', `cannot write ${path}: ${ioMessage(e)}`);
    }
  }

  write(data: string | Uint8Array): void {
    if (this.fd === undefined) throw new Error(`AtomicFileWriter: ${this.path} is already closed`);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (e) {
      this.abort();
      throw new MultilossError('io', `cannot write ${this.path}: ${ioMessage(e)}`);
    }
  }

  commit(): void {
    if (this.fd === undefined) throw new Error(`AtomicFileWriter: ${this.path} is already closed`);
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
      renameSync(this.tmp, this.path);
    } catch (e) {
      this.abort();
      throw new MultilossError('io', `cannot write ${this.path}: ${ioMessage(e)}`);
    }
    fsyncDir(dirname(this.path));
  }

  abort(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already unusable; the file is removed below
      }
      this.fd = undefined;
    }
    rmSync(this.tmp, { force: true });
  }
}
