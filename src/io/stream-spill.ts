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
 * After pass 1 the rows are also kept encoded (`encodedChunkSpill`): the first epoch records
 * its chunks' encoded rows, the later passes replay them (no parsing, normalising or encoding).
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
import { fitModelStream, type EncodedChunk, type EncodedChunkRecorder, type EncodedChunkStore, type StreamFitOptions, type StreamedTable, type TableChunks } from '../training/fit-stream.js';
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

/**
 * A spill folder, made on first use in `parent` (the first use of a parent in this process also
 * removes the stale spills there), removed by `remove()` or when the process exits.
 */
class SpillFolder {
  private dir: string | undefined;
  private readonly onExit = (): void => this.remove();

  constructor(private readonly parent: string) {}

  /** The folder's spill file, the folder made if need be; undefined when it cannot be made. */
  file(): string | undefined {
    if (!this.dir) {
      if (!swept.has(this.parent)) {
        swept.add(this.parent);
        removeStaleSpills(this.parent);
      }
      try {
        this.dir = makeSpillDir(this.parent);
      } catch {
        return undefined;
      }
      process.once('exit', this.onExit);
    }
    return join(this.dir, SPILL_FILE);
  }

  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    process.removeListener('exit', this.onExit);
  }
}

/** Appends length-prefixed `v8.serialize` records to a file (created on the first record). */
class RecordWriter {
  private handle: FileHandle | undefined;

  constructor(private readonly path: string) {}

  async append(value: unknown): Promise<void> {
    const body = serialize(value);
    const header = Buffer.alloc(LENGTH_BYTES);
    header.writeUInt32LE(body.length, 0);
    this.handle ??= await open(this.path, 'w');
    await this.handle.writev([header, body]);
  }

  /** Every record was written (awaited) before this. */
  close(): void {
    const handle = this.handle;
    this.handle = undefined;
    handle?.close().catch(() => undefined);
  }
}

/** Reads the records of a {@link RecordWriter}'s file back, one at a time. */
class RecordReader {
  private handle: FileHandle | undefined;
  private position = 0;
  private readonly header = Buffer.alloc(LENGTH_BYTES);

  constructor(readonly path: string) {}

  private async read(buffer: Buffer): Promise<number> {
    const handle = (this.handle ??= await open(this.path, 'r'));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.position);
    this.position += bytesRead;
    return bytesRead;
  }

  /** The next record, or null at the end of the file. */
  async next(): Promise<unknown> {
    const got = await this.read(this.header);
    if (got === 0) return null;
    const body = Buffer.allocUnsafe(this.header.readUInt32LE(0));
    if (got !== LENGTH_BYTES || (await this.read(body)) !== body.length) throw new Error('the spill file ends inside a record');
    return deserialize(body);
  }

  close(): void {
    const handle = this.handle;
    this.handle = undefined;
    void handle?.close();
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
  private readonly records: RecordReader;
  private done = false;

  constructor(
    path: string,
    private readonly source: string,
    readonly columnsKnown: boolean,
  ) {
    this.records = new RecordReader(path);
  }

  get columns(): readonly string[] {
    return this.union.names;
  }

  async next(): Promise<Table | null> {
    if (this.done) return null;
    try {
      const record = await this.records.next();
      if (record === null) {
        this.close();
        return null;
      }
      const table = reviveTable(record as Table);
      this.union.add(table.columns);
      return table;
    } catch (e) {
      this.close();
      throw new MultilossError('io', `${this.source}: reading the stream's spill file ${this.records.path}: ${ioMessage(e)}`);
    }
  }

  close(): void {
    this.done = true;
    this.records.close();
  }
}

/** Reads the source and appends each chunk to the spill; `onComplete` once the source's end was reached. */
class TeeReader implements TableChunks {
  private readonly records: RecordWriter;
  private failed = false;
  private finished = false;

  constructor(
    private readonly inner: TableChunks,
    path: string,
    private readonly onEnd: (complete: boolean, columnsKnown: boolean, writeFailed: boolean) => void,
  ) {
    this.records = new RecordWriter(path);
  }

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
      await this.records.append(table);
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
    this.records.close();
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
  const folder = new SpillFolder(spillDir ?? tmpdir());
  /** Set once a read reached the end and the spill holds every chunk. */
  let complete: { columnsKnown: boolean } | undefined;
  let writing = false;
  /** No more spilling: closed, or a spill could not be written. */
  let closed = false;
  return {
    source: path,
    async open(): Promise<TableChunks> {
      const spilled = complete ? folder.file() : undefined;
      if (complete && spilled) return new SpillReader(spilled, path, complete.columnsKnown);
      const reader = await openTableStream(path, read);
      if (!spill || closed || writing) return reader;
      const file = folder.file();
      if (!file) return reader; // no spill where its folder cannot be made
      writing = true;
      return new TeeReader(reader, file, (done, columnsKnown, writeFailed) => {
        writing = false;
        if (done && !closed) complete = { columnsKnown };
        else folder.remove();
        // A spill that could not be written is not tried again (the disk is full).
        if (writeFailed) closed = true;
      });
    },
    close(): void {
      closed = true;
      complete = undefined;
      folder.remove();
    },
  };
}

/**
 * The encoded rows of a streamed run (`StreamFitOptions.encodedChunks`) in a spill file of their
 * own: the first complete pass after pass 1 records them, every later pass (epochs, validation,
 * final metrics) reads them back — typed arrays, no parsing, normalising or encoding. A pass that
 * stops early or a record that cannot be written (a full disk) leaves no spill (the passes then
 * read the file). `close()` deletes it.
 */
export function encodedChunkSpill(spillDir?: string): EncodedChunkStore & { close(): void } {
  const folder = new SpillFolder(spillDir ?? tmpdir());
  let complete = false;
  let recording = false;
  let closed = false;
  return {
    record(): EncodedChunkRecorder | undefined {
      if (complete || recording || closed) return undefined;
      const file = folder.file();
      if (!file) return undefined;
      recording = true;
      const writer = new RecordWriter(file);
      let failed = false;
      return {
        async add(chunk: EncodedChunk): Promise<void> {
          if (failed) return;
          try {
            await writer.append(chunk);
          } catch {
            failed = true;
          }
        },
        end(done: boolean): void {
          writer.close();
          recording = false;
          if (done && !failed && !closed) complete = true;
          else folder.remove();
          if (failed) closed = true;
        },
      };
    },
    replay(): AsyncGenerator<EncodedChunk> | undefined {
      const file = complete ? folder.file() : undefined;
      if (!file) return undefined;
      const reader = new RecordReader(file);
      return (async function* () {
        try {
          for (let record = await reader.next(); record !== null; record = await reader.next()) yield record as EncodedChunk;
        } catch (e) {
          throw new MultilossError('io', `reading the stream's spill file ${reader.path}: ${ioMessage(e)}`);
        } finally {
          reader.close();
        }
      })();
    },
    close(): void {
      closed = true;
      complete = false;
      folder.remove();
    },
  };
}

/**
 * `fitModelStream` on data files (the training file, and the validation file if any), each parsed
 * once and spilled (unless `options.spill` is false); the spills are deleted when training ends.
 */
export async function fitStreamedFiles(config: ResolvedConfig, train: string, validation: string | undefined, read: StreamedFileOptions, options: StreamFitOptions = {}): Promise<MultilossModel> {
  const files = [streamedFile(train, read), ...(validation ? [streamedFile(validation, read)] : [])];
  const encoded = read.spill === false ? undefined : encodedChunkSpill(read.spillDir);
  try {
    return await fitModelStream(config, { train: files[0], validation: files[1] }, { ...options, encodedChunks: encoded });
  } finally {
    for (const f of files) f.close();
    encoded?.close();
  }
}
