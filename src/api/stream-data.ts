/**
 * The library API's data as the trainer reads it: rows encoded by the heads and, for a
 * tf.data.Dataset or an (async) iterable, batches streamed pass after pass.
 *
 * Without a validation split (`streamedData`) nothing is kept per row: a first pass gathers
 * what the heads are fitted on (`LabelStatistics`: counts, sums, class counts; a second pass
 * for a standardized regression head's spread) and counts the rows; every epoch then reads
 * the source again, drops the rows without any label as they come and hands the trainer
 * batches of `batchSize` rows. Memory stays flat in the number of rows
 * (test/api/stream-memory.test.ts trains on 10M). With `validationSplit`, api/train.ts keeps
 * every row's labels (not its features) to pick the same stratified rows as for arrays.
 */
import { MultilossError } from '../errors.js';
import type { Head } from '../model/heads/head.js';
import { Rebatcher, type BatchSource, type EvaluationSource } from '../training/batch-source.js';
import type { EncodedData } from '../training/data.js';
import { ElementStream, isStreamSource, readSource, type ArrayData, type DataSource, type DatasetLike, type LabelReader, type RawData } from './data.js';
import { buildHead, LabelStatistics, type BuiltHead, type HeadPlan } from './heads.js';

/** The data a run trains on, in memory or streamed. */
export interface PreparedData {
  heads: Head[];
  built: BuiltHead[];
  trainData: EncodedData | BatchSource;
  validation?: EncodedData | EvaluationSource;
  /** The training rows again, for the final metrics. */
  trainEvaluation: EncodedData | EvaluationSource;
  /** The first training rows (up to 8), for the preflight pass. */
  sample: EncodedData;
  /** The validation split's rows (indices of the data's rows), when split. */
  validationRows?: number[];
}

export function encode(raw: RawData, built: readonly BuiltHead[]): EncodedData {
  const inputSize = raw.rowShape.reduce((a, b) => a * b, 1);
  return {
    n: raw.n,
    inputSize,
    inputShape: raw.rowShape.length > 1 ? raw.rowShape : undefined,
    x: raw.x,
    targets: built.map((b, h) => b.encode(raw.labels[h])),
  };
}

export function subsetRaw(raw: RawData, idx: number[], units: readonly number[]): RawData {
  const rowSize = raw.rowShape.reduce((a, b) => a * b, 1);
  const pick = (src: Float32Array, w: number) => {
    const out = new Float32Array(idx.length * w);
    idx.forEach((r, i) => out.set(src.subarray(r * w, (r + 1) * w), i * w));
    return out;
  };
  return {
    n: idx.length,
    rowShape: raw.rowShape,
    x: pick(raw.x, rowSize),
    labels: raw.labels.map((l, h) => ({ values: pick(l.values, units[h]), mask: pick(l.mask, 1), sampleWeight: pick(l.sampleWeight, 1) })),
  };
}

/**
 * Which rows of a pass to hand out: `rows` gives the indices (within `part`, whose first row
 * is row `offset` of the pass) to keep, undefined for all; `end` checks the pass's row count.
 */
export interface RowPicker {
  rows(part: RawData, offset: number): number[] | undefined;
  end(rows: number): void;
}

/** Rows that carry at least one label; `rows`: the count of such rows in a pass (from the first). */
function labelledRows(part: RawData): number[] {
  const idx: number[] = [];
  for (let i = 0; i < part.n; i++) if (part.labels.some((l) => l.mask[i] > 0)) idx.push(i);
  return idx;
}

/** The labelled rows after skipping `skip` of them (a resume inside an epoch); `expected`: their count per pass. */
function labelledPicker(expected: number, skip = 0): RowPicker {
  let seen = 0;
  return {
    rows(part) {
      const idx = labelledRows(part);
      seen += idx.length;
      const dropped = Math.min(skip, idx.length);
      skip -= dropped;
      return dropped === 0 && idx.length === part.n ? undefined : idx.slice(dropped);
    },
    end() {
      if (seen !== expected) throw new MultilossError('data', `training data: the source gave ${seen} labelled rows, ${expected} in its first pass; it must give the same rows every epoch`);
    },
  };
}

/**
 * Encoded rows of a stream in its order, in batches of exactly `batchSize` rows (the last
 * shorter); `picker` chooses the rows (default: all).
 */
export async function* encodedRows(stream: ElementStream, built: readonly BuiltHead[], units: readonly number[], batchSize: number, picker?: RowPicker): AsyncGenerator<EncodedData> {
  const rebatch = new Rebatcher(batchSize, units);
  let offset = 0;
  for await (const part of stream.parts()) {
    const idx = picker?.rows(part, offset);
    offset += part.n;
    if (idx && idx.length === 0) continue;
    yield* rebatch.add(encode(idx ? subsetRaw(part, idx, units) : part, built));
  }
  picker?.end(offset);
  const last = rebatch.flush();
  if (last) yield last;
}

/** Validation data given apart: arrays in memory, a Dataset or iterable streamed (counted once now). */
export async function validationOf(
  source: DataSource | undefined,
  readers: readonly LabelReader[],
  inputShape: readonly (number | null)[] | undefined,
  built: readonly BuiltHead[],
): Promise<EncodedData | EvaluationSource | undefined> {
  if (source === undefined) return undefined;
  if (!isStreamSource(source)) return encode(await readSource(source, readers, inputShape, 'validation data'), built);
  const stream = new ElementStream(source, readers, inputShape, 'validation data');
  let rows = 0;
  for await (const part of stream.parts()) rows += part.n;
  if (rows === 0) throw new MultilossError('data', 'validation data: the source yielded no rows');
  const units = readers.map((r) => r.units);
  return { rows, batches: (size) => encodedRows(stream, built, units, size) };
}

/** A training set streamed epoch by epoch from `rowsFor` (the rows of one pass, after `skip` batches). */
export function streamBatchSource(rows: number, rowsFor: (batchSize: number, skipRows: number) => AsyncGenerator<EncodedData>): BatchSource {
  return {
    kind: 'stream',
    rows,
    async epoch(request) {
      const batches = rowsFor(request.batchSize, request.skip * request.batchSize);
      return {
        next: async () => {
          const r = await batches.next();
          return r.done ? null : r.value;
        },
        close: () => void batches.return(undefined),
      };
    },
  };
}

/** The first rows a picker hands out (up to 8), for the preflight pass. */
export async function firstRows(rows: AsyncGenerator<EncodedData>): Promise<EncodedData> {
  const first = (await rows.next()).value as EncodedData;
  await rows.return(undefined);
  return first;
}

/**
 * A Dataset or iterable without a validation split, read batch by batch: see the module's
 * comment. `validationData`, when given, is read the same way.
 */
export async function streamedData(
  data: DatasetLike<unknown> | AsyncIterable<ArrayData> | Iterable<ArrayData>,
  validationData: DataSource | undefined,
  plans: readonly HeadPlan[],
  readers: readonly LabelReader[],
  inputShape: readonly (number | null)[] | undefined,
): Promise<PreparedData> {
  const units = plans.map((p) => p.units);
  const stream = new ElementStream(data, readers, inputShape, 'training data');
  const stats = plans.map((p) => new LabelStatistics(p));
  let rows = 0;
  let rowShape: number[] | undefined;
  let any = false;
  for await (const part of stream.parts()) {
    any = true;
    if (rowShape && part.rowShape.join(',') !== rowShape.join(',')) {
      throw new MultilossError('data', `training data: rows of shape [${part.rowShape.join(', ')}] after rows of shape [${rowShape.join(', ')}]`);
    }
    rowShape ??= part.rowShape;
    // Rows without any label carry nothing: dropped, as the CLI does.
    const idx = labelledRows(part);
    rows += idx.length;
    stats.forEach((s, h) => s.add(part.labels[h], idx));
  }
  if (!any) throw new MultilossError('data', 'training data: the source yielded no rows');
  plans.forEach((p, h) => {
    if (stats[h].count === 0) throw new MultilossError('data', `training data: output "${p.name}" has no label in any row`);
  });
  if (stats.some((s) => s.needsSquares)) {
    for await (const part of stream.parts()) {
      const idx = labelledRows(part);
      stats.forEach((s, h) => s.needsSquares && s.addSquares(part.labels[h], idx));
    }
  }
  const built = plans.map((p, h) => buildHead(p, stats[h]));
  const rowsFor = (batchSize: number, skip = 0) => encodedRows(stream, built, units, batchSize, labelledPicker(rows, skip));
  return {
    heads: built.map((b) => b.head),
    built,
    trainData: streamBatchSource(rows, rowsFor),
    validation: await validationOf(validationData, readers, inputShape, built),
    trainEvaluation: { rows, batches: (size) => rowsFor(size) },
    sample: await firstRows(rowsFor(8)),
  };
}

/**
 * The rows whose class is `want` (`classes`: one entry per row of a pass, from its first pass),
 * after skipping `skip` of them.
 */
export function classPicker(classes: Uint8Array, want: number, skip = 0): RowPicker {
  return {
    rows(part, offset) {
      if (offset + part.n > classes.length) {
        throw new MultilossError('data', `training data: the source gave more than the ${classes.length} rows of its first pass; it must give the same rows every epoch`);
      }
      const idx: number[] = [];
      for (let i = 0; i < part.n; i++) {
        if (classes[offset + i] !== want) continue;
        if (skip > 0) skip--;
        else idx.push(i);
      }
      return idx.length === part.n ? undefined : idx;
    },
    end(rows) {
      if (rows !== classes.length) throw new MultilossError('data', `training data: the source gave ${rows} rows, ${classes.length} in its first pass; it must give the same rows every epoch`);
    },
  };
}
