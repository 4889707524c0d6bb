/**
 * Where the trainer's mini-batches come from. The trainer asks a source for
 * one epoch at a time and pulls encoded batches from it; it never needs all
 * rows at once. Three sources exist:
 *
 * - `MemoryBatchSource`: rows held in memory (`EncodedData`); each epoch draws
 *   a full permutation of the rows from the trainer's RNG (the row order is
 *   saved in a checkpoint taken inside the epoch). This is the order every
 *   run used before sources existed, so results are bit-identical.
 * - a file read in chunks (`training/fit-stream.ts`): each epoch streams the
 *   file again, shuffling within a bounded buffer (see `ShuffleBuffer`).
 * - a tf.data.Dataset or (async) iterable (`api/data.ts`): the user's rows in
 *   the user's order.
 *
 * Browser-safe (no Node imports).
 */
import { subsetData, type EncodedData } from './data.js';
import { Rng } from '../util/rng.js';

/** One epoch's batches, from the resume position on. */
export interface EpochBatches {
  /** The next batch (at most `batchSize` rows), or null when the epoch has no more rows. */
  next(): Promise<EncodedData | null>;
  /** The epoch's row order, when the source has one to checkpoint (in-memory sources). */
  readonly order?: ArrayLike<number>;
  /** Releases files or iterators (also when training stops inside the epoch). */
  close(): void;
}

export interface EpochRequest {
  /** 0-based epoch number. */
  epoch: number;
  /** The trainer's generator (the in-memory source draws its permutation from it). */
  rng: Rng;
  batchSize: number;
  /** Batches of this epoch already trained (a resume inside an epoch): they are not handed out. */
  skip: number;
  /** The epoch's row order saved in the checkpoint (in-memory sources), when resuming inside it. */
  order?: ArrayLike<number>;
}

/** A training set the trainer reads epoch by epoch. */
export interface BatchSource {
  /** 'memory' draws a permutation from the trainer's RNG; 'stream' never touches it. */
  readonly kind: 'memory' | 'stream';
  /** Rows per epoch (known before training starts: from the first pass of a stream). */
  readonly rows: number;
  /** Opens one epoch. */
  epoch(request: EpochRequest): Promise<EpochBatches>;
  /** The training rows as they are (untransformed), for the final training metrics, when the source offers them. */
  readonly evaluation?: EncodedData | EvaluationSource;
}

/** Where a training batch sits: 0-based epoch and batch within the epoch. */
export interface BatchPosition {
  epoch: number;
  batch: number;
}

/**
 * A source whose training batches pass through `transform` (e.g. image
 * augmentation) with their position, so a transform drawn from (seed, epoch,
 * batch) is the same after a resume. Validation and final metrics read the
 * untransformed rows (`evaluation`).
 */
export function transformBatches(source: BatchSource, transform: (batch: EncodedData, at: BatchPosition) => EncodedData, evaluation?: EncodedData | EvaluationSource): BatchSource {
  return {
    kind: source.kind,
    get rows() {
      return source.rows;
    },
    evaluation: evaluation ?? source.evaluation,
    async epoch(request: EpochRequest): Promise<EpochBatches> {
      const inner = await source.epoch(request);
      let b = request.skip;
      return {
        get order() {
          return inner.order;
        },
        async next() {
          const batch = await inner.next();
          if (batch === null || batch.n === 0) return batch;
          return transform(batch, { epoch: request.epoch, batch: b++ });
        },
        close: () => inner.close(),
      };
    },
  };
}

/** Validation or evaluation rows, read in order, batch by batch. */
export interface EvaluationSource {
  readonly rows: number;
  /** Every row once, in batches of at most `batchSize` rows. */
  batches(batchSize: number): AsyncIterable<EncodedData>;
}

/** 0, 1, …, n − 1: a row order (4 bytes a row). */
function range(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

/**
 * Rows in memory. Each epoch: `rng.shuffle([0..n))` (unless the saved order
 * of a checkpoint is given), then consecutive slices of `batchSize` rows.
 */
export class MemoryBatchSource implements BatchSource {
  readonly kind = 'memory';
  constructor(
    readonly data: EncodedData,
    private readonly units: readonly number[],
    /** false: the rows' own order every epoch (no draw from the RNG). */
    private readonly shuffle = true,
  ) {}

  get rows(): number {
    return this.data.n;
  }

  async epoch(request: EpochRequest): Promise<EpochBatches> {
    const n = this.data.n;
    const order = request.order ? Uint32Array.from(request.order) : this.shuffle ? request.rng.shuffle(range(n)) : range(n);
    const size = request.batchSize;
    let b = request.skip;
    const data = this.data;
    const units = this.units;
    return {
      order,
      async next() {
        if (b * size >= n) return null;
        const idx = order.slice(b * size, Math.min(n, (b + 1) * size));
        b++;
        return subsetData(data, idx, units);
      },
      close: () => undefined,
    };
  }
}

/** In-memory rows as an evaluation source (consecutive slices, no copy of the whole set). */
export function memoryEvaluationSource(data: EncodedData, units: readonly number[]): EvaluationSource {
  return {
    rows: data.n,
    async *batches(batchSize: number) {
      for (let start = 0; start < data.n; start += batchSize) {
        yield subsetData(data, range(Math.min(batchSize, data.n - start)).map((i) => start + i), units);
      }
    },
  };
}

/**
 * A bounded shuffle buffer, as tf.data's `shuffle(bufferSize)`: rows enter in
 * stream order; once the buffer holds `capacity` rows, each new row replaces
 * a uniformly drawn one, which is emitted. At the end the rest is emitted in
 * a random order. Shuffling is therefore local: a row can move at most about
 * `capacity` places earlier, and arbitrarily later. Seeded: the same stream
 * and seed give the same order.
 */
export class ShuffleBuffer<T> {
  private readonly items: T[] = [];
  private readonly rng: Rng;
  constructor(
    private readonly capacity: number,
    seed: number | string,
  ) {
    this.rng = new Rng(seed);
  }

  /** Adds a row; returns the row it pushes out once the buffer is full. */
  push(item: T): T | undefined {
    if (this.capacity <= 1) return item;
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return undefined;
    }
    const j = this.rng.int(this.capacity);
    const out = this.items[j];
    this.items[j] = item;
    return out;
  }

  /** Empties the buffer in a random order (at the end of the stream). */
  drain(): T[] {
    const rest = this.rng.shuffle(this.items.splice(0));
    return rest;
  }

  get size(): number {
    return this.items.length;
  }
}

/** Concatenates encoded rows (of the same width) into one batch. */
export function concatEncoded(parts: readonly EncodedData[], units: readonly number[]): EncodedData {
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((s, p) => s + p.n, 0);
  const first = parts[0];
  const cat = (get: (p: EncodedData) => Float32Array, width: number): Float32Array => {
    const out = new Float32Array(n * width);
    let at = 0;
    for (const p of parts) {
      out.set(get(p).subarray(0, p.n * width), at);
      at += p.n * width;
    }
    return out;
  };
  return {
    n,
    inputSize: first.inputSize,
    inputShape: first.inputShape,
    x: cat((p) => p.x, first.inputSize),
    targets: units.map((u, h) => ({
      y: cat((p) => p.targets[h].y, u),
      yMetric: cat((p) => p.targets[h].yMetric, u),
      mask: cat((p) => p.targets[h].mask, 1),
      weight: cat((p) => p.targets[h].weight, 1),
    })),
  };
}

/** Rows `start`..`end` of `data` (a view where possible). */
export function sliceEncoded(data: EncodedData, start: number, end: number, units: readonly number[]): EncodedData {
  const w = data.inputSize;
  return {
    n: end - start,
    inputSize: w,
    inputShape: data.inputShape,
    x: data.x.subarray(start * w, end * w),
    targets: units.map((u, h) => {
      const t = data.targets[h];
      return { y: t.y.subarray(start * u, end * u), yMetric: t.yMetric.subarray(start * u, end * u), mask: t.mask.subarray(start, end), weight: t.weight.subarray(start, end) };
    }),
  };
}

/**
 * Cuts a stream of encoded chunks (of any sizes) into batches of exactly
 * `batchSize` rows (the last one shorter), keeping the row order. Holds at
 * most one batch plus one chunk.
 */
export class Rebatcher {
  private parts: EncodedData[] = [];
  private held = 0;
  constructor(
    private readonly batchSize: number,
    private readonly units: readonly number[],
  ) {}

  /** Adds a chunk; returns the whole batches it completes. */
  add(chunk: EncodedData): EncodedData[] {
    const out: EncodedData[] = [];
    let at = 0;
    while (at < chunk.n) {
      const take = Math.min(this.batchSize - this.held, chunk.n - at);
      this.parts.push(sliceEncoded(chunk, at, at + take, this.units));
      this.held += take;
      at += take;
      if (this.held === this.batchSize) out.push(this.flush() as EncodedData);
    }
    return out;
  }

  /** The rows held (a last, shorter batch), or null. */
  flush(): EncodedData | null {
    if (this.held === 0) return null;
    const batch = concatEncoded(this.parts, this.units);
    this.parts = [];
    this.held = 0;
    return batch;
  }
}
