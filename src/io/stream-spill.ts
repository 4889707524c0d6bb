/**
 * A streamed data file that is parsed once (`train --stream`): the first
 * complete read tees every chunk, as parsed, into a spill file in the temporary
 * directory (length-prefixed `v8.serialize` records of the columnar chunks);
 * every later read (the split's count, the preprocessing pass, each epoch, each
 * validation, the final metrics) deserializes those chunks instead of parsing
 * the text again — about 9× cheaper per pass for a CSV, and the very same
 * tables, so the trained model does not change. Memory stays one chunk; the
 * disk holds about twice the CSV's size until training ends.
 *
 * Like tf.data's `cache(filename)`. A read that stops early leaves no spill
 * (the next read parses and tries again); a spill that cannot be written (a
 * full disk) is dropped and the file is parsed on every pass, as without it.
 *
 * A spill's folder is named after its process (`multiloss-stream-<pid>-XXXXXX`): a run killed
 * with SIGKILL skips the exit handler that deletes it, so the next streamed run with a spill in
 * the same place removes the folders of processes that no longer exist.
 */
import { DictionaryColumn } from '../data/column.js';
import { lstatSync, mkdtempSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { Table } from '../data/table.js';
import { reviveTable } from '../data/table-build.js';
import { MultilossError } from '../errors.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import { fitModelStream, type StreamFitOptions, type StreamedTable, type TableChunks } from '../training/fit-stream.js';
import { ioMessage } from './files.js';
import { openTableStream, type StreamTableOptions } from './stream-table.js';

export interface StreamedFileOptions extends StreamTableOptions {
  /** Keep the parsed chunks in a spill file after the first read (default true). */
  spill?: boolean;
  /** Where the spill's temporary folder goes (default: the OS temporary directory). */
  spillDir?: string;
}

/** A streamed table that can also say when it is no longer read (the spill is then deleted). */
export interface StreamedFile extends StreamedTable {
  close(): void;
}

const LENGTH_BYTES = 4;
const SPILL_FILE = 'chunks.bin';
/** A spill folder's name: the owner's PID, then mkdtemp's six characters. */
const SPILL_NAME = /^multiloss-stream-(\d+)-[A-Za-z0-9]{6}$/;

/** A new spill folder in `parent`, named after this process. */
function makeSpillDir(parent: string): string {
  return mkdtempSync(join(parent, `multiloss-stream-${process.pid}-`));
}

/** Whether process `pid` may exist: only ESRCH says it does not (EPERM is another user's live process). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the spill folders in `parent` left by processes that no longer exist (killed with
 * SIGKILL, or lost with the machine, before their exit handler ran); returns their paths. Only a
 * folder named as {@link makeSpillDir} names it and holding nothing but a spill file is removed:
 * a live process's folder, anything else, or what cannot be read stays.
 */
function removeStaleSpills(parent: string): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(SPILL_NAME.exec(name)?.[1] ?? NaN);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processExists(pid)) continue;
    const path = join(parent, name);
    try {
      if (!lstatSync(path).isDirectory() || !readdirSync(path).every((entry) => entry === SPILL_FILE)) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Removed meanwhile by another run, or unreadable: left as it is.
    }
  }
  return removed;
}

/** The parents already swept by this process (a sweep per place, not per streamed file). */
const swept = new Set<string>();

/**
 * Checks that spill folders can be made in `dir` (it exists, is a folder, and one can be created
 * there); `option` names the setting in the one-line error (e.g. "--spill-dir").
 */
export function checkSpillDir(dir: string, option: string): void {
  let folder: boolean;
  try {
    folder = statSync(dir).isDirectory();
  } catch (e) {
    throw new MultilossError('usage', `${option} ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : ioMessage(e)}`);
  }
  if (!folder) throw new MultilossError('usage', `${option} ${dir}: not a folder`);
  try {
    rmdirSync(makeSpillDir(dir));
  } catch (e) {
    throw new MultilossError('usage', `${option} ${dir}: the stream's spill cannot be written there (${ioMessage(e)})`);
  }
}

/** Column names in first-seen order over the chunks read so far (as the JSON-lines reader reports them). */
class ColumnUnion {
  readonly names: string[] = [];
  private readonly seen = new Set<string>();
  add(columns: readonly string[]): void {
    for (const c of columns) {
      if (this.seen.has(c)) continue;
      this.seen.add(c);
      this.names.push(c);
    }
  }
}

/** The chunks of a complete spill file, deserialized one at a time. */
class SpillReader implements TableChunks {
  private readonly union = new ColumnUnion();
  private handle: FileHandle | undefined;
  private position = 0;
  private done = false;
  private header = Buffer.alloc(LENGTH_BYTES);

  constructor(
    private readonly path: string,
    private readonly source: string,
    readonly columnsKnown: boolean,
  ) {}

  get columns(): readonly string[] {
    return this.union.names;
  }

  private async read(buffer: Buffer): Promise<number> {
    const handle = (this.handle ??= await open(this.path, 'r'));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.position);
    this.position += bytesRead;
    return bytesRead;
  }

  async next(): Promise<Table | null> {
    if (this.done) return null;
    try {
      const got = await this.read(this.header);
      if (got === 0) {
        this.close();
        return null;
      }
      const body = Buffer.allocUnsafe(this.header.readUInt32LE(0));
      if (got !== LENGTH_BYTES || (await this.read(body)) !== body.length) throw new Error('the spill file ends inside a record');
      const table = reviveTable(deserialize(body) as Table);
      this.union.add(table.columns);
      return table;
    } catch (e) {
      this.close();
      throw new MultilossError('io', `${this.source}: reading the stream's spill file ${this.path}: ${ioMessage(e)}`);
    }
  }

  close(): void {
    this.done = true;
    const handle = this.handle;
    this.handle = undefined;
    void handle?.close();
  }
}

/** Reads the source and appends each chunk to the spill; `onComplete` once the source's end was reached. */
class TeeReader implements TableChunks {
  private handle: FileHandle | undefined;
  private failed = false;
  private finished = false;

  constructor(
    private readonly inner: TableChunks,
    private readonly path: string,
    private readonly onEnd: (complete: boolean, columnsKnown: boolean, writeFailed: boolean) => void,
  ) {}

  get columns(): readonly string[] {
    return this.inner.columns;
  }
  get columnsKnown(): boolean | undefined {
    return this.inner.columnsKnown;
  }

  private async write(table: Table): Promise<void> {
    if (this.failed) return;
    try {
      // Every later pass reads the numbers of the chunk's columns: parsed once here, they travel in the spill.
      for (const column of table.data) if (column instanceof DictionaryColumn) column.numbers();
      const body = serialize(table);
      const header = Buffer.alloc(LENGTH_BYTES);
      header.writeUInt32LE(body.length, 0);
      this.handle ??= await open(this.path, 'w');
      await this.handle.writev([header, body]);
    } catch {
      // A spill that cannot be written (a full disk) is dropped: later reads parse the file again.
      this.failed = true;
    }
  }

  async next(): Promise<Table | null> {
    let table: Table | null;
    try {
      table = await this.inner.next();
    } catch (e) {
      this.end(false);
      throw e;
    }
    if (table === null) this.end(true);
    else await this.write(table);
    return table;
  }

  /** Every record was written (awaited) before this: the spill is complete once the source ended. */
  private end(complete: boolean): void {
    if (this.finished) return;
    this.finished = true;
    const handle = this.handle;
    this.handle = undefined;
    handle?.close().catch(() => undefined);
    this.onEnd(complete && !this.failed, this.inner.columnsKnown ?? false, this.failed);
  }

  close(): void {
    this.inner.close();
    // Closed before the end: the spill is incomplete.
    this.end(false);
  }
}

/**
 * A data file for `fitModelStream`: each `open()` reads it from the start, parsing it the first
 * time and reading the spill afterwards (see the file comment). `close()` deletes the spill.
 */
export function streamedFile(path: string, options: StreamedFileOptions = {}): StreamedFile {
  const { spill = true, spillDir, ...read } = options;
  let dir: string | undefined;
  /** Set once a read reached the end and the spill holds every chunk. */
  let complete: { columnsKnown: boolean } | undefined;
  let writing = false;
  /** No more spilling: closed, or a spill could not be written. */
  let closed = false;
  const onExit = () => removeDir();
  const removeDir = () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
    process.removeListener('exit', onExit);
  };
  return {
    source: path,
    async open(): Promise<TableChunks> {
      if (complete && dir) return new SpillReader(join(dir, SPILL_FILE), path, complete.columnsKnown);
      const reader = await openTableStream(path, read);
      if (!spill || closed || writing) return reader;
      if (!dir) {
        const parent = spillDir ?? tmpdir();
        if (!swept.has(parent)) {
          swept.add(parent);
          removeStaleSpills(parent);
        }
        try {
          dir = makeSpillDir(parent);
        } catch {
          return reader; // no spill where its folder cannot be made
        }
        process.once('exit', onExit);
      }
      writing = true;
      return new TeeReader(reader, join(dir, SPILL_FILE), (done, columnsKnown, writeFailed) => {
        writing = false;
        if (done && !closed) complete = { columnsKnown };
        else removeDir();
        // A spill that could not be written is not tried again (the disk is full).
        if (writeFailed) closed = true;
      });
    },
    close(): void {
      closed = true;
      complete = undefined;
      removeDir();
    },
  };
}

/**
 * `fitModelStream` on data files (the training file, and the validation file if any), each parsed
 * once and spilled (unless `options.spill` is false); the spills are deleted when training ends.
 */
export async function fitStreamedFiles(config: ResolvedConfig, train: string, validation: string | undefined, read: StreamedFileOptions, options: StreamFitOptions = {}): Promise<MultilossModel> {
  const files = [streamedFile(train, read), ...(validation ? [streamedFile(validation, read)] : [])];
  try {
    return await fitModelStream(config, { train: files[0], validation: files[1] }, options);
  } finally {
    for (const f of files) f.close();
  }
}
