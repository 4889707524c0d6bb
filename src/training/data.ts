import type { EncodedTargets } from '../model/heads/head.js';

/** Features and every head's encoded targets, row-aligned. */
export interface EncodedData {
  n: number;
  inputSize: number;
  /** Shape of one input row when it is not flat (e.g. [28, 28, 1] for images); its product is inputSize. */
  inputShape?: number[];
  /** Row-major n × inputSize. */
  x: Float32Array;
  /** One entry per head, in head order. */
  targets: EncodedTargets[];
}

/**
 * A head's encoded targets with `weight` being `mask` itself when the two hold the same values
 * (a head without sample or class weights): one array a row instead of two equal ones.
 */
export function sharedMaskWeight(targets: EncodedTargets): EncodedTargets {
  const { mask, weight } = targets;
  if (weight === mask || weight.length !== mask.length) return targets;
  for (let i = 0; i < mask.length; i++) if (weight[i] !== mask[i]) return targets;
  return { ...targets, weight: mask };
}

/** The shape of one input row: `inputShape`, or [inputSize] for tabular data. */
export function inputShapeOf(data: EncodedData): number[] {
  return data.inputShape ?? [data.inputSize];
}

/** Copies rows `idx` of a row-major matrix with `width` columns. */
export function gatherRows(src: Float32Array, width: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * width);
  if (width < 32) {
    // Narrow rows (targets, masks, weights): a plain loop; a subarray view per row costs more than the copy.
    for (let r = 0, o = 0; r < idx.length; r++) {
      const from = idx[r] * width;
      for (let c = 0; c < width; c++) out[o++] = src[from + c];
    }
    return out;
  }
  for (let r = 0; r < idx.length; r++) {
    const from = idx[r] * width;
    out.set(src.subarray(from, from + width), r * width);
  }
  return out;
}

/** The rows `idx` of `data` as a new EncodedData. */
export function subsetData(data: EncodedData, idx: ArrayLike<number>, units: readonly number[]): EncodedData {
  return {
    n: idx.length,
    inputSize: data.inputSize,
    inputShape: data.inputShape,
    x: gatherRows(data.x, data.inputSize, idx),
    targets: data.targets.map((t, h) => ({
      y: gatherRows(t.y, units[h], idx),
      yMetric: gatherRows(t.yMetric, units[h], idx),
      mask: gatherRows(t.mask, 1, idx),
      weight: gatherRows(t.weight, 1, idx),
    })),
  };
}
