/**
 * Training from a table that is read in chunks, never whole (`train --stream`):
 *
 * 1. **Pass 1** reads the file once: drops rows in which every target is
 *    missing, assigns each remaining row to training or validation, fits the
 *    feature preprocessing (`StreamingPreprocessorFit`) and the heads (class
 *    lists and counts, regression mean/std) on the training rows, and checks
 *    every target and sample-weight cell — so bad input anywhere in the file
 *    is reported before training starts.
 * 2. **Every epoch** reads the file again: the training rows are encoded
 *    chunk by chunk and pass through a seeded shuffle buffer (`ShuffleBuffer`,
 *    like tf.data's `shuffle(bufferSize)`: shuffling is local to the buffer,
 *    not a permutation of the whole file) into batches of `batchSize`.
 *    Validation (the split's rows, or `validation.data`) is read again after
 *    each epoch, in order.
 *
 * The validation split is the rule of every front door (`data/split.ts`),
 * decided per row without holding the rows: a first read counts each
 * stratum's rows (`validation.split` > 0 without a validation file only),
 * then a row's part follows from its index, the seed and its stratum's
 * counts — the same rows as `fitModel` takes from the whole table.
 *
 * Memory holds the current chunk, the shuffle buffer and one batch, whatever
 * the file's length. Browser-safe: the caller supplies the chunk readers.
 */
import type { ResolvedConfig } from '../config/resolve.js';
import { normalizeMissing } from '../data/missing.js';
import { parseNumber } from '../data/infer.js';
import { StreamingPreprocessorFit } from '../data/preprocess-stream.js';
import type { FeaturePreprocessor } from '../data/preprocess.js';
import { countStrata, selectRows, ValidationSelector, type Stratum, type StratumCodes } from '../data/split.js';
import type { Cell, Table } from '../data/table.js';
import { columnOf, mapCells } from '../data/column.js';
import { withMissingColumns } from '../data/table-build.js';
import { MultilossError } from '../errors.js';
import { HEAD_KINDS, cellLabel, columnIndex, fitHead, headFromJSON, sampleWeights, type Head, type HeadSpec } from '../model/heads/index.js';
import { resolveClassWeights } from '../model/heads/classes.js';
import { readNumericTarget } from '../model/heads/numeric-target.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import { Rebatcher, ShuffleBuffer, sliceEncoded, type BatchSource, type EpochBatches, type EpochRequest, type EvaluationSource } from './batch-source.js';
import type { EncodedData } from './data.js';
import { missingValuesOf, tableStratumCodes, trainFitted, type FitOptions } from './fit.js';
import { EvaluationAccumulator, evaluateSource } from './trainer.js';
import type { TrainableNetwork } from '../model/trainable-network.js';

/** Consecutive chunks of a table (the shape of `io/stream-table.ts`'s reader). */
export interface TableChunks {
  /** The next chunk of rows, or null at the end; throws MultilossError naming file and line for bad input. */
  next(): Promise<Table | null>;
  /** Columns met so far. */
  readonly columns: readonly string[];
  /** Whether the first chunk's columns are every chunk's (CSV); false for JSON lines. */
  readonly columnsKnown?: boolean;
  close(): void;
}

/** A table that can be read from the start as often as needed. */
export interface StreamedTable {
  /** Names the data in messages (the file path). */
  source: string;
  open(): Promise<TableChunks>;
}

export interface StreamFitInput {
  train: StreamedTable;
  /** Validation rows (`validation.data`); otherwise the split is taken from `train`. */
  validation?: StreamedTable;
}

export interface StreamFitOptions extends FitOptions {
  /** Rows in the shuffle buffer (default: the configuration's `stream.shuffleBuffer`, else 16,384). 1 trains in file order. */
  shuffleBuffer?: number;
  /**
   * Where the training file's rows go once encoded (after pass 1), to be read back by the later
   * passes — each epoch, each validation, the final metrics — instead of the file (Node: a spill
   * file, see io/stream-spill.ts). Without it every pass reads and encodes the file's chunks.
   */
  encodedChunks?: EncodedChunkStore;
}

/** One chunk of the training file, encoded: its training rows and its validation-split rows, in file order. */
export interface EncodedChunk {
  train?: EncodedData;
  validation?: EncodedData;
}

/** Keeps the encoded chunks of one whole pass over the training file (see `StreamFitOptions.encodedChunks`). */
export interface EncodedChunkStore {
  /** Starts recording a pass; undefined while a pass is being recorded or once one was recorded whole. */
  record(): EncodedChunkRecorder | undefined;
  /** The chunks of the pass recorded whole, in order; undefined before that. */
  replay(): AsyncGenerator<EncodedChunk> | undefined;
}

export interface EncodedChunkRecorder {
  add(chunk: EncodedChunk): Promise<void>;
  /** The pass ended: `complete` when every chunk of the file was added. */
  end(complete: boolean): void;
}

export const DEFAULT_SHUFFLE_BUFFER = 16_384;

/** Adds the `needed` columns a chunk lacks (a JSON-lines chunk has only its rows' keys) as missing cells. */
function withColumns(table: Table, needed: readonly string[]): Table {
  const extra = needed.filter((c) => !table.columns.includes(c));
  if (extra.length === 0) return table;
  return withMissingColumns(table, extra);
}

/** Where each row of a chunk goes. */
interface ChunkSplit {
  table: Table;
  /** The index of the chunk's first row among the file's data rows. */
  offset: number;
  /** Each row's stratum (`undefined`: no label, dropped). */
  strata: StratumCodes;
  train: number[];
  validation: number[];
  dropped: number;
}

interface Plan {
  config: ResolvedConfig;
  missing: string[];
  /** Target and sample-weight columns. */
  labelColumns: string[];
  split: number;
  seed: number;
  /** The strata's sizes over the training file's labelled rows (a first read gathers them), when `split` > 0. */
  counts?: ReadonlyMap<Stratum, number>;
}

/** Reads `input` once, chunk by chunk, telling each row's part. `validationFile`: every labelled row is validation. */
async function* chunksOf(input: StreamedTable, plan: Plan, validationFile: boolean, needed: () => readonly string[]): AsyncGenerator<ChunkSplit> {
  const reader = await input.open();
  let offset = 0;
  const selector = !validationFile && plan.split > 0 ? new ValidationSelector({ fraction: plan.split, seed: plan.seed }, plan.counts ?? new Map()) : undefined;
  try {
    for (let raw = await reader.next(); raw !== null; raw = await reader.next()) {
      if (offset === 0 && reader.columnsKnown) for (const h of plan.config.heads) columnIndex(raw, h.column, `target (head "${h.name}")`);
      const normalized = normalizeMissing(raw, plan.missing);
      if (raw.rowNumbers) normalized.rowNumbers = raw.rowNumbers;
      const table = withColumns(normalized, needed());
      const strata = tableStratumCodes(table, plan.config);
      const out: ChunkSplit = { table, offset, strata, train: [], validation: [], dropped: 0 };
      strata.codes.forEach((code, i) => {
        if (code < 0) out.dropped++;
        else if (validationFile || selector?.isValidation(offset + i, strata.strata[code])) out.validation.push(i);
        else out.train.push(i);
      });
      offset += table.length;
      yield out;
    }
  } finally {
    reader.close();
  }
}

/** What pass 1 gathers for one head. */
interface HeadStats {
  spec: HeadSpec;
  /** Distinct labels over every labelled row (label kinds), in first-seen order. */
  labels: Set<string>;
  /** Labels counted over the training rows (class weights). */
  counts: Map<string, number>;
  /** Rows with a label: all, training. */
  labelledAll: number;
  labelledTrain: number;
  /** Regression: sum (row order, as the whole-table fit) and Welford's running mean / M2 of the training labels. */
  sum: number;
  mean: number;
  m2: number;
  /** A labelled training cell (regression, count: the fit's sample). */
  sample?: Cell;
}

const LABEL_KINDS = new Set(['classification', 'binary', 'multilabel']);

function addHeadRows(stats: HeadStats, table: Table, rows: readonly number[], isTrain: boolean): void {
  const spec = stats.spec;
  if (rows.length === 0) return;
  const part = selectRows(table, rows);
  if (spec.sampleWeight) sampleWeights(part, spec, parseNumber); // checks the weights now
  const col = columnIndex(part, spec.column, `target (head "${spec.name}")`);
  if (LABEL_KINDS.has(spec.kind)) {
    const labelAt = mapCells(part.data[col], cellLabel);
    for (let i = 0; i < part.length; i++) {
      const l = labelAt(i);
      if (l === null) continue;
      stats.labels.add(l);
      stats.labelledAll++;
      if (isTrain) {
        stats.labelledTrain++;
        stats.counts.set(l, (stats.counts.get(l) ?? 0) + 1);
      }
    }
    return;
  }
  if (spec.kind === 'count') {
    fitHead(spec, part, part); // encodes: checks every count (a number, ≥ 0)
  }
  const { values, mask } = readNumericTarget(part, spec);
  for (let i = 0; i < values.length; i++) {
    if (!mask[i]) continue;
    stats.labelledAll++;
    if (!isTrain) continue;
    stats.labelledTrain++;
    stats.sample ??= part.data[col].get(i);
    const x = values[i];
    stats.sum += x;
    const d = x - stats.mean;
    stats.mean += d / stats.labelledTrain;
    stats.m2 += d * (x - stats.mean);
  }
}

/** The head fitted from pass 1's figures: the same as `fitHead` on the whole table. */
function headFromStats(stats: HeadStats, source: string): Head {
  const spec = stats.spec;
  const table = (cells: Cell[]): Table => ({ columns: [spec.column], data: [columnOf(cells)], length: cells.length, source });
  if (LABEL_KINDS.has(spec.kind)) {
    // One row per distinct label: the class list is what matters; counts are put back below.
    const distinct = table([...stats.labels]);
    const head = fitHead(spec, distinct, distinct);
    if (spec.classWeights === undefined) return head;
    const json = head.toJSON();
    const classes = json.classes ?? [];
    const counts = classes.map((c) => stats.counts.get(c) ?? 0);
    return headFromJSON({ ...json, classWeights: resolveClassWeights(spec, classes, counts) });
  }
  if (stats.labelledTrain === 0) {
    throw new MultilossError('data', `${source}: target column "${spec.column}" (head "${spec.name}") has no value in the training rows`);
  }
  const head = fitHead(spec, table([stats.sample ?? null]), table([stats.sample ?? null]));
  if (spec.kind !== 'regression') return head;
  const mean = stats.sum / stats.labelledTrain;
  const std = Math.sqrt(stats.m2 / stats.labelledTrain);
  return headFromJSON({ ...head.toJSON(), mean, std: std > 0 && Number.isFinite(std) ? std : 1 });
}

/** Encodes some rows of a chunk. */
function encodeRows(table: Table, rows: readonly number[], preprocessor: FeaturePreprocessor, heads: readonly Head[]): EncodedData {
  const part = rows.length === table.length ? table : selectRows(table, rows);
  return {
    n: part.length,
    inputSize: preprocessor.outputSize,
    x: preprocessor.transform(part),
    targets: heads.map((h) => h.encode(part)),
  };
}

/**
 * Rows of the epoch's encoded chunks as plain numbers (chunk number × 2^32 + row): the shuffle
 * buffer holds 16,384 of them for a long time, and numbers in an array cost neither an object
 * each nor the old-generation collections that long-lived small objects bring.
 */
class RowRefs {
  private static readonly SPAN = 2 ** 32;
  private readonly chunks = new Map<number, { data: EncodedData; left: number }>();
  private next = 0;

  /** Registers a chunk; returns the reference of its row 0 (row i is that + i). */
  add(data: EncodedData): number {
    const id = this.next++;
    this.chunks.set(id, { data, left: data.n });
    return id * RowRefs.SPAN;
  }

  /** The chunk and row of a reference; `release` forgets a chunk once every row of it was taken. */
  take(ref: number, release: boolean): { data: EncodedData; i: number } {
    const id = Math.floor(ref / RowRefs.SPAN);
    const entry = this.chunks.get(id) as { data: EncodedData; left: number };
    if (release && --entry.left === 0) this.chunks.delete(id);
    return { data: entry.data, i: ref - id * RowRefs.SPAN };
  }
}

/** Copies rows given by reference into one batch (and releases them). */
function gatherRefs(refs: RowRefs, rows: readonly number[], from: number, to: number, inputSize: number, units: readonly number[]): EncodedData {
  const n = to - from;
  const x = new Float32Array(n * inputSize);
  const targets = units.map((u) => ({ y: new Float32Array(n * u), yMetric: new Float32Array(n * u), mask: new Float32Array(n), weight: new Float32Array(n) }));
  // Element by element: a row is a few floats, and a subarray view per row and array cost more than the copy.
  for (let r = 0; r < n; r++) {
    const { data: chunk, i } = refs.take(rows[from + r], true);
    const cx = chunk.x;
    for (let k = 0, at = i * inputSize, to = r * inputSize; k < inputSize; k++) x[to + k] = cx[at + k];
    for (let h = 0; h < units.length; h++) {
      const u = units[h];
      const s = chunk.targets[h];
      const t = targets[h];
      for (let k = 0, at = i * u, to = r * u; k < u; k++) {
        t.y[to + k] = s.y[at + k];
        t.yMetric[to + k] = s.yMetric[at + k];
      }
      t.mask[r] = s.mask[i];
      t.weight[r] = s.weight[i];
    }
  }
  return { n, inputSize, x, targets };
}

/**
 * Trains from a streamed table (see the file comment). The same configuration
 * as `fitModel`, and the same validation split (`validation.stratify` included).
 * Resuming (`options.resume`) inside an epoch re-reads that epoch's stream
 * and skips the batches already trained, so it ends with the same weights as
 * an uninterrupted streaming run.
 */
export async function fitModelStream(config: ResolvedConfig, input: StreamFitInput, options: StreamFitOptions = {}): Promise<MultilossModel> {
  const warn = options.warn ?? (() => undefined);
  if (config.approach === 'separate') throw new MultilossError('config', '--stream trains the joint model; approach: separate is not supported with --stream');
  for (const h of config.heads) {
    if (!(HEAD_KINDS as readonly string[]).includes(h.kind)) throw new MultilossError('config', `head "${h.name}": kind "${h.kind}" is a registered kind; --stream supports the built-in kinds (${HEAD_KINDS.join(', ')})`);
  }
  const missing = missingValuesOf(config);
  const labelColumns = [...new Set(config.heads.flatMap((h) => [h.column, ...(h.sampleWeight ? [h.sampleWeight] : [])]))];
  const plan: Plan = { config, missing, labelColumns, split: input.validation ? 0 : config.validation.split, seed: config.training.seed };
  const source = input.train.source;
  for (const f of config.features ?? []) {
    const h = config.heads.find((x) => x.column === f.name);
    if (h) throw new MultilossError('config', `column "${f.name}" is both a feature and the target of head "${h.name}"`);
  }

  // Pass 1: split, checks, preprocessing and head statistics.
  const fitter = new StreamingPreprocessorFit(config.features, (c) => !labelColumns.includes(c));
  const stats: HeadStats[] = config.heads.map((spec) => ({ spec, labels: new Set(), counts: new Map(), labelledAll: 0, labelledTrain: 0, sum: 0, mean: 0, m2: 0 }));
  let rows = 0;
  let trainRows = 0;
  let validationRows = 0;
  let dropped = 0;
  const heldRows = options.onSplit && plan.split > 0 ? ([] as number[]) : undefined;
  const columns: string[] = [];
  const interrupted = () => {
    if (options.interrupt?.interrupted) throw new MultilossError('interrupted', 'training interrupted while reading the data before the first epoch; nothing was saved');
  };
  const readPass1 = async (table: StreamedTable, validationFile: boolean) => {
    let any = false;
    let droppedHere = 0;
    for await (const chunk of chunksOf(table, plan, validationFile, () => labelColumns)) {
      interrupted();
      any ||= chunk.table.length > 0;
      rows += validationFile ? 0 : chunk.table.length;
      droppedHere += chunk.dropped;
      if (!validationFile) {
        for (const c of chunk.table.columns) if (!columns.includes(c)) columns.push(c);
        if (chunk.train.length) fitter.add(selectRows(chunk.table, chunk.train));
      }
      trainRows += chunk.train.length;
      validationRows += chunk.validation.length;
      if (heldRows && !validationFile) for (const i of chunk.validation) heldRows.push(chunk.offset + i);
      for (const s of stats) {
        addHeadRows(s, chunk.table, chunk.train, true);
        addHeadRows(s, chunk.table, chunk.validation, false);
      }
    }
    if (!any) throw new MultilossError('data', `${table.source}: no data rows (only a header)`);
    if (droppedHere) warn(`${table.source}: dropped ${droppedHere} row(s) in which every target is missing`);
    dropped += droppedHere;
  };
  if (plan.split > 0) {
    // The split needs each stratum's size before its first row is decided (data/split.ts): one read counts them.
    const counts = new Map<Stratum, number>();
    for await (const chunk of chunksOf(input.train, { ...plan, split: 0 }, false, () => labelColumns)) {
      interrupted();
      countStrata(chunk.strata, counts);
    }
    plan.counts = counts;
  }
  await readPass1(input.train, false);
  if (fitter.categoryColumns().length > 0) {
    // A feature found categorical after values whose categories were not kept: its training rows once more.
    for await (const chunk of chunksOf(input.train, plan, false, () => labelColumns)) {
      interrupted();
      if (chunk.train.length) fitter.addCategories(selectRows(chunk.table, chunk.train));
    }
    fitter.categoriesAdded();
  }
  if (heldRows) options.onSplit?.(heldRows);
  for (const s of stats) {
    if (s.labelledAll === 0) throw new MultilossError('data', `${source}: target column "${s.spec.column}" (head "${s.spec.name}") has no value in any row`);
  }
  if (input.validation) await readPass1(input.validation, true);
  if (trainRows === 0) {
    throw new MultilossError(rows - dropped > 0 ? 'config' : 'data', rows - dropped > 0 ? `validation.split ${config.validation.split} leaves no training rows` : 'no training rows left after dropping rows with every target missing');
  }
  const preprocessor = fitter.finish(source, columns);
  const heads = stats.map((s) => headFromStats(s, source));
  const units = heads.map((h) => h.units);
  const needed = () => [...preprocessor.features.map((f) => f.name), ...labelColumns];

  const shuffleSize = Math.max(1, Math.floor(options.shuffleBuffer ?? config.stream?.shuffleBuffer ?? DEFAULT_SHUFFLE_BUFFER));
  const train: BatchSource = {
    kind: 'stream',
    rows: trainRows,
    async epoch(request: EpochRequest): Promise<EpochBatches> {
      const chunks = encodedChunks(['train']);
      const buffer = new ShuffleBuffer<number>(shuffleSize, `${plan.seed}:stream:${request.epoch}`);
      const refs = new RowRefs();
      const size = request.batchSize;
      let toSkip = request.skip * size;
      let ended = false;
      const ready: number[] = [];
      let readyAt = 0;
      const emit = (ref: number) => {
        if (toSkip > 0) {
          toSkip--;
          refs.take(ref, true);
        } else ready.push(ref);
      };
      const fill = async () => {
        while (ready.length - readyAt < size && !ended) {
          const r = await chunks.next();
          if (r.done) {
            ended = true;
            for (const ref of buffer.drain()) emit(ref);
            break;
          }
          const encoded = r.value.train;
          if (!encoded) continue;
          const first = refs.add(encoded);
          for (let i = 0; i < encoded.n; i++) {
            const out = buffer.push(first + i);
            if (out !== undefined) emit(out);
          }
        }
      };
      return {
        async next() {
          await fill();
          const n = Math.min(size, ready.length - readyAt);
          if (n === 0) return null;
          const batch = gatherRefs(refs, ready, readyAt, readyAt + n, preprocessor.outputSize, units);
          readyAt += n;
          if (readyAt > 4 * size) {
            ready.splice(0, readyAt);
            readyAt = 0;
          }
          return batch;
        },
        close() {
          void chunks.return(undefined);
        },
      };
    },
  };
  /**
   * The training file's chunks with the `parts` asked for encoded, replayed from
   * `options.encodedChunks` once a pass was recorded whole; a pass that records encodes both parts.
   */
  async function* encodedChunks(parts: readonly ('train' | 'validation')[]): AsyncGenerator<EncodedChunk> {
    const replay = options.encodedChunks?.replay();
    if (replay) {
      yield* replay;
      return;
    }
    const recorder = options.encodedChunks?.record();
    let complete = false;
    try {
      for await (const chunk of chunksOf(input.train, plan, false, needed)) {
        const encoded: EncodedChunk = {};
        for (const part of ['train', 'validation'] as const) {
          if (chunk[part].length && (recorder || parts.includes(part))) encoded[part] = encodeRows(chunk.table, chunk[part], preprocessor, heads);
        }
        await recorder?.add(encoded);
        yield encoded;
      }
      complete = true;
    } finally {
      recorder?.end(complete);
    }
  }
  /** A part of a file's chunks, encoded: the training file's through `encodedChunks`, a validation file's (every row) read and encoded. */
  async function* encodedPart(table: StreamedTable, part: 'train' | 'validation'): AsyncGenerator<EncodedData> {
    if (table === input.train) {
      for await (const chunk of encodedChunks([part])) if (chunk[part]) yield chunk[part];
      return;
    }
    for await (const chunk of chunksOf(table, plan, true, needed)) {
      if (chunk[part].length) yield encodeRows(chunk.table, chunk[part], preprocessor, heads);
    }
  }
  const rowsOf = (table: StreamedTable, part: 'train' | 'validation', count: number): EvaluationSource => ({
    rows: count,
    async *batches(batchSize: number) {
      const rebatch = new Rebatcher(batchSize, units);
      for await (const encoded of encodedPart(table, part)) {
        for (let at = 0; at < encoded.n; at += batchSize) yield* rebatch.add(sliceEncoded(encoded, at, Math.min(encoded.n, at + batchSize), units));
      }
      const last = rebatch.flush();
      if (last) yield last;
    },
  });
  const validation = validationRows > 0 ? rowsOf(input.validation ?? input.train, 'validation', validationRows) : undefined;
  /** The final metrics: the split's two parts in one more read of the file (a validation file is read apart). */
  const finalMetrics = async (network: TrainableNetwork, fitted: readonly Head[], weights: readonly number[]) => {
    const batchSize = config.training.evaluationBatchSize ?? 1024;
    // The same batches as the per-epoch validation (whole batches of batchSize in row order).
    const trainAcc = { acc: new EvaluationAccumulator(network, fitted), rebatch: new Rebatcher(batchSize, units) };
    const splitAcc = !input.validation && validationRows > 0 ? { acc: new EvaluationAccumulator(network, fitted), rebatch: new Rebatcher(batchSize, units) } : undefined;
    for await (const chunk of encodedChunks(['train', 'validation'])) {
      for (const [part, encoded] of [[trainAcc, chunk.train], [splitAcc, chunk.validation]] as const) {
        if (!part || !encoded) continue;
        for (let at = 0; at < encoded.n; at += batchSize) {
          for (const batch of part.rebatch.add(sliceEncoded(encoded, at, Math.min(encoded.n, at + batchSize), units))) part.acc.add(batch);
        }
      }
    }
    for (const part of [trainAcc, splitAcc]) {
      const last = part?.rebatch.flush();
      if (part && last) part.acc.add(last);
    }
    return {
      train: trainAcc.acc.result(weights),
      validation: splitAcc ? splitAcc.acc.result(weights) : validation ? await evaluateSource(network, fitted, validation, weights, batchSize) : undefined,
    };
  };
  return trainFitted(config, { preprocessor, heads, missing }, train, validation, options, finalMetrics);
}
