/**
 * Training and evaluation batches of images whose pixels are loaded per batch
 * (an image folder larger than memory): the file list and encoded targets stay
 * in memory, the pixels of a batch are decoded when the trainer asks for it.
 * The training source draws each epoch's permutation from the trainer's
 * generator exactly as `MemoryBatchSource` does, so it hands out the same
 * batches as the in-memory path, and a checkpoint inside an epoch saves the
 * order as for rows in memory. Browser-safe (the loader is the caller's).
 */
import type { EncodedTargets } from '../model/heads/head.js';
import { subsetData, type EncodedData } from './data.js';
import type { BatchSource, EpochBatches, EpochRequest, EvaluationSource } from './batch-source.js';

/** Pixels of images `idx` (0-based, in that order), n·H·W·C values. */
export type PixelLoader = (idx: readonly number[]) => Float32Array;

/** The targets of rows `idx` with the pixels `x` loaded for them. */
function batchOf(targets: readonly EncodedTargets[], units: readonly number[], n: number, idx: readonly number[], shape: readonly number[], x: Float32Array): EncodedData {
  const labels = subsetData({ n, inputSize: 0, x: new Float32Array(0), targets: [...targets] }, idx, units);
  return { ...labels, inputSize: x.length / Math.max(1, idx.length), inputShape: [...shape], x };
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

/** Images loaded per batch (see the module comment). `targets`: one per head, n rows each. */
export class LoadedImageSource implements BatchSource {
  readonly kind = 'memory';
  readonly evaluation: EvaluationSource;
  constructor(
    readonly rows: number,
    private readonly shape: readonly number[],
    private readonly targets: readonly EncodedTargets[],
    private readonly units: readonly number[],
    private readonly load: PixelLoader,
  ) {
    this.evaluation = loadedEvaluationSource(rows, shape, targets, units, load);
  }

  async epoch(request: EpochRequest): Promise<EpochBatches> {
    const n = this.rows;
    const order = request.order ?? request.rng.shuffle(range(0, n));
    const size = request.batchSize;
    let b = request.skip;
    return {
      order,
      next: async () => {
        if (b * size >= n) return null;
        const start = b * size;
        const idx = Array.from({ length: Math.min(n, start + size) - start }, (_, k) => order[start + k]);
        b++;
        return batchOf(this.targets, this.units, n, idx, this.shape, this.load(idx));
      },
      close: () => undefined,
    };
  }
}

/** Every image once, in order, loaded batch by batch (validation, final metrics). */
export function loadedEvaluationSource(rows: number, shape: readonly number[], targets: readonly EncodedTargets[], units: readonly number[], load: PixelLoader): EvaluationSource {
  return {
    rows,
    async *batches(batchSize: number) {
      for (let start = 0; start < rows; start += batchSize) {
        const idx = range(start, Math.min(rows, start + batchSize));
        yield batchOf(targets, units, rows, idx, shape, load(idx));
      }
    },
  };
}
