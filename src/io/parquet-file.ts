/**
 * Parquet files on disk read by random access: hyparquet reads the footer, then only the byte
 * ranges of the column chunks it decodes, so neither the whole-file read nor the streaming
 * reader holds the file's bytes in memory.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { ColumnSelection } from '../data/columns.js';
import { readParquet, type AsyncBuffer } from '../data/parquet.js';
import type { Table } from '../data/table.js';
import { MultilossError } from '../errors.js';
import { ioMessage, statChecked } from './files.js';

/**
 * Opens a file for reading at random positions; a one-line error naming it (`what`: "data file") if it
 * cannot be. Here rather than in files.ts, whose declarations are public: no Node types there.
 */
export async function openChecked(path: string, what: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw new MultilossError('io', `${what} ${path}: ${ioMessage(e)}`);
  }
}

/** An open file as a random-access buffer (each `slice` reads that range from disk). */
export async function fileBuffer(handle: FileHandle, path: string): Promise<AsyncBuffer> {
  const { size } = await handle.stat();
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(Math.max(0, end - start));
      try {
        let at = 0;
        while (at < bytes.length) {
          const { bytesRead } = await handle.read(bytes, at, bytes.length - at, start + at);
          if (bytesRead === 0) break;
          at += bytesRead;
        }
      } catch (e) {
        throw new MultilossError('io', `data file ${path}: ${ioMessage(e)}`);
      }
      return bytes.buffer;
    },
  };
}

/** Reads a whole Parquet file into a table, one column chunk at a time from disk (see {@link readParquet}). */
export async function readParquetFile(path: string, selection: ColumnSelection = {}): Promise<Table> {
  statChecked(path, 'data file');
  const handle = await openChecked(path, 'data file');
  try {
    return await readParquet(await fileBuffer(handle, path), path, selection);
  } finally {
    await handle.close().catch(() => undefined);
  }
}
