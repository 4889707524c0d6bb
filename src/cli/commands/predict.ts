import { extname } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { MultilossError } from '../../errors.js';
import { AtomicFileWriter } from '../../io/files.js';
import { ParquetFileWriter, type OutputCell, type OutputType } from '../../io/parquet-output.js';
import { loadAnyModel } from '../../io/separate-dir.js';
import { openTableStream, type TableBatchReader } from '../../io/stream-table.js';
import { modelColumns } from '../../io/table-file.js';
import type { Table } from '../../data/table.js';
import { columnOf } from '../../data/column.js';
import { withMissingColumns } from '../../data/table-build.js';
import type { Head } from '../../model/heads/index.js';
import type { Prediction } from '../../model/multiloss-model.js';
import { csvField, predictionCells, predictionColumnTypes, predictionColumns } from '../format.js';

import { predictImages } from '../../model/images.js';
import { loadImageModel, type ImageFlags } from './images.js';
import { modelAndData, type ModelDataFlags } from './shared.js';

export interface PredictFlags extends ModelDataFlags, ImageFlags {
  out?: string;
  format?: 'csv' | 'jsonl' | 'parquet';
  keep?: string;
}

/** Where predictions go: an atomically renamed file, or stdout (with back-pressure; a closed pipe ends the run quietly). */
interface Sink {
  write(text: string): Promise<void>;
  /** Parquet output: a batch of rows (header = `columns`). */
  writeRows?(rows: OutputCell[][]): void;
  /** The reader went away (EPIPE): stop, it is not an error. */
  readonly closed: boolean;
  commit(): void;
  abort(): void;
}

function fileSink(path: string): Sink {
  const file = new AtomicFileWriter(path);
  return {
    closed: false,
    write: async (text) => file.write(text),
    commit: () => file.commit(),
    abort: () => file.abort(),
  };
}

function parquetSink(path: string, columns: readonly string[], types: readonly (OutputType | undefined)[]): Sink {
  const file = new ParquetFileWriter(path, columns, types);
  return {
    closed: false,
    write: () => Promise.reject(new Error('a Parquet file takes rows, not text')),
    writeRows: (rows) => file.write(rows),
    commit: () => file.commit(),
    abort: () => file.abort(),
  };
}

function stdoutSink(): Sink {
  let failure: NodeJS.ErrnoException | undefined;
  const sink = {
    closed: false,
    async write(text: string): Promise<void> {
      if (failure) throw failure;
      if (sink.closed) return;
      if (!process.stdout.write(text)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            process.stdout.off('drain', done);
            process.stdout.off('error', done);
            resolve();
          };
          process.stdout.on('drain', done);
          process.stdout.on('error', done);
        });
      }
      if (failure) throw failure;
    },
    commit: () => undefined,
    abort: () => undefined,
  };
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') sink.closed = true;
    else failure = e;
  });
  return sink;
}

/**
 * The first head whose decoded prediction holds a non-finite number, if any: an overflow (a count's e^η,
 * a regression's scaling) on extreme inputs, or a damaged model. Such a row is never written.
 */
export function nonFiniteHead(p: Prediction, heads: readonly Head[]): string | undefined {
  for (const h of heads) {
    const v = p[h.name];
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return h.name;
    } else if (v && typeof v === 'object') {
      if ('probability' in v && !Number.isFinite(v.probability)) return h.name;
      if (Object.values(v.probabilities).some((x) => !Number.isFinite(x))) return h.name;
    }
  }
  return undefined;
}

/** A JSON-lines batch lacks the keys none of its rows has: add them as missing, as a whole-file read would. */
function withColumns(table: Table, columns: readonly string[]): Table {
  const extra = columns.filter((c) => !table.columns.includes(c));
  if (extra.length === 0) return table;
  return withMissingColumns(table, extra);
}

/**
 * The Parquet output's column types, fixed before the first row: predictions' from the heads,
 * kept columns' from the input's schema (Parquet, Arrow); a kept column of a text format is
 * typed by the first batch (CSV cells are text).
 */
function outputTypes(batch: Table | null, keep: readonly string[], heads: readonly Head[]): (OutputType | undefined)[] {
  const kept = keep.map((k): OutputType | undefined => {
    const type = batch?.data[batch.columns.indexOf(k)]?.declaredType;
    return type === 'numeric' ? 'DOUBLE' : type === 'boolean' ? 'BOOLEAN' : type === 'categorical' ? 'STRING' : undefined;
  });
  return [...kept, ...predictionColumnTypes(heads).map((t): OutputType => (t === 'number' ? 'DOUBLE' : 'STRING'))];
}

/** The output format an --out file's extension asks for: .parquet/.pq → Parquet, .jsonl/.ndjson/.json → JSON lines, else CSV. */
function outputFormatOf(out: string | undefined): 'csv' | 'jsonl' | 'parquet' {
  const ext = out ? extname(out).toLowerCase() : '';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  return ['.jsonl', '.ndjson', '.json'].includes(ext) ? 'jsonl' : 'csv';
}

/**
 * Streams the data file through the model: reads, predicts and writes a batch
 * of rows at a time, so memory stays flat however long the file is. With
 * `--out` the output goes to a temporary file renamed into place at the end
 * (an error or an interrupt leaves no output file); to stdout, rows are written
 * as they are predicted.
 */
export async function runPredict(posModel: string | undefined, posData: string | undefined, flags: PredictFlags): Promise<void> {
  if (flags.images !== undefined) return predictImageFiles(posModel, posData, flags);
  const { model: dir, data: dataArg } = modelAndData(posModel, posData, flags, true);
  const data = dataArg as string;
  const keep = flags.keep
    ? flags.keep
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
  const keepError = (k: string, columns: readonly string[]) =>
    new MultilossError('data', `${data}: --keep column "${k}" not found; columns are: ${columns.join(', ')}`);
  let reader: TableBatchReader | undefined;
  let sink: Sink | undefined;
  let model: Awaited<ReturnType<typeof loadAnyModel>> | undefined;
  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => void (signal = s);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await initBackend(flags.backend);
    model = await loadAnyModel(dir);
    const heads = model.heads;
    const needed = modelColumns(model, false, keep);
    // Only the features and --keep columns are read (a Parquet or Arrow file's others may be of any type).
    reader = await openTableStream(data, { columns: needed });
    let batch = await reader.next();
    if (reader.columnsKnown) {
      for (const k of keep) if (!reader.columns.includes(k)) throw keepError(k, reader.columns);
    }
    const format = flags.format ?? outputFormatOf(flags.out);
    if (format === 'parquet' && !flags.out) throw new MultilossError('usage', '--format parquet needs --out FILE (Parquet is not written to stdout)');
    sink = format === 'parquet' ? parquetSink(flags.out as string, [...keep, ...predictionColumns(heads)], outputTypes(batch, keep, heads)) : flags.out ? fileSink(flags.out) : stdoutSink();
    let written = 0;
    let first = true;
    while (batch !== null && !sink.closed) {
      if (signal) {
        throw new MultilossError('interrupted', `${signal}: prediction interrupted after ${written} rows${flags.out ? `; ${flags.out} was not written` : ''}`, signal === 'SIGTERM' ? 143 : 130);
      }
      const table = reader.columnsKnown ? batch : withColumns(batch, needed);
      const predictions = model.predict(table);
      const keepIdx = keep.map((k) => table.columns.indexOf(k));
      const out: string[] = [];
      const rows: OutputCell[][] = [];
      if (first && format === 'csv') out.push([...keep, ...predictionColumns(heads)].map(csvField).join(','));
      first = false;
      for (let i = 0; i < predictions.length; i++) {
        const p = predictions[i];
        const bad = nonFiniteHead(p, heads);
        if (bad !== undefined) {
          throw new MultilossError('model', `${data}: ${table.lines ? `line ${table.lines[i]}` : `row ${written + i + 1}`}: head "${bad}" gave a non-finite prediction (an overflow: extreme input values or a damaged model)`);
        }
        if (format === 'parquet') {
          rows.push([...keepIdx.map((j) => table.data[j].get(i)), ...predictionCells(p, heads)]);
        } else if (format === 'jsonl') {
          const kept: Record<string, unknown> = {};
          keep.forEach((k, j) => (kept[k] = table.data[keepIdx[j]].get(i)));
          out.push(JSON.stringify({ ...kept, ...p }));
        } else {
          out.push([...keepIdx.map((j) => table.data[j].get(i)), ...predictionCells(p, heads)].map(csvField).join(','));
        }
      }
      if (out.length) await sink.write(`${out.join('\n')}\n`);
      if (rows.length) sink.writeRows?.(rows);
      written += predictions.length;
      batch = await reader.next();
    }
    if (!reader.columnsKnown && !sink.closed) {
      // JSON lines: a feature or --keep column that no row had is an error, as for a whole-file read.
      model.predict({ columns: [...reader.columns], data: reader.columns.map(() => columnOf([])), length: 0, source: data });
      for (const k of keep) if (!reader.columns.includes(k)) throw keepError(k, reader.columns);
    }
    sink.commit();
    if (flags.out) process.stderr.write(`wrote ${written} predictions to ${flags.out}\n`);
  } catch (e) {
    sink?.abort();
    throw e;
  } finally {
    reader?.close();
    model?.dispose();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/**
 * Predictions for images (`--images DIR [--labels FILE]`, or an IDX file):
 * one row per image, keyed by its file name (by its 1-based position in an
 * IDX file), then each head's prediction columns. Written atomically as for
 * tables (CSV, JSON lines or Parquet, from the extension or --format).
 */
async function predictImageFiles(posModel: string | undefined, posData: string | undefined, flags: PredictFlags): Promise<void> {
  if (flags.keep !== undefined) throw new MultilossError('usage', '--keep copies table columns; with --images each row is keyed by its image file');
  await initBackend(flags.backend);
  const { model, images } = await loadImageModel(posModel, posData, flags, false);
  let sink: Sink | undefined;
  try {
    const heads = model.heads;
    const predictions = predictImages(model, images.set);
    const format = flags.format ?? outputFormatOf(flags.out);
    if (format === 'parquet' && !flags.out) throw new MultilossError('usage', '--format parquet needs --out FILE (Parquet is not written to stdout)');
    const columns = [images.nameColumn, ...predictionColumns(heads)];
    predictions.forEach((p, i) => {
      const bad = nonFiniteHead(p, heads);
      if (bad !== undefined) throw new MultilossError('model', `${images.names[i]}: head "${bad}" gave a non-finite prediction (a damaged model)`);
    });
    sink = format === 'parquet' ? parquetSink(flags.out as string, columns, outputTypes(null, [images.nameColumn], heads)) : flags.out ? fileSink(flags.out) : stdoutSink();
    if (format === 'parquet') sink.writeRows?.(predictions.map((p, i) => [images.names[i], ...predictionCells(p, heads)]));
    else if (format === 'jsonl') await sink.write(predictions.map((p, i) => `${JSON.stringify({ [images.nameColumn]: images.names[i], ...p })}\n`).join(''));
    else await sink.write([columns, ...predictions.map((p, i) => [images.names[i], ...predictionCells(p, heads)])].map((row) => `${row.map(csvField).join(',')}\n`).join(''));
    sink.commit();
    if (flags.out) process.stderr.write(`wrote ${predictions.length} predictions to ${flags.out}\n`);
  } catch (e) {
    sink?.abort();
    throw e;
  } finally {
    model.dispose();
  }
}
