/**
 * Shared input checks for the streaming metrics. Shape mismatches are
 * programming errors (the caller built the arrays), so they throw RangeError.
 */

/**
 * Validates one `update` call and returns the number of units per row
 * (yTrue.length / mask.length), or 0 when the batch is empty.
 * `expectedUnits`, when given, must match.
 */
export function checkBatch(
  metric: string,
  yTrue: Float32Array,
  yPred: Float32Array,
  mask: Float32Array,
  weight: Float32Array | undefined,
  expectedUnits?: number,
): number {
  const n = mask.length;
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`${metric}: yTrue has ${yTrue.length} values but yPred has ${yPred.length}`);
  }
  if (weight !== undefined && weight.length !== n) {
    throw new RangeError(`${metric}: ${weight.length} weights for ${n} rows`);
  }
  if (n === 0) {
    if (yTrue.length !== 0) throw new RangeError(`${metric}: ${yTrue.length} values but an empty mask`);
    return 0;
  }
  if (yTrue.length % n !== 0 || yTrue.length === 0) {
    throw new RangeError(`${metric}: ${yTrue.length} values do not split into ${n} rows (mask length)`);
  }
  const units = yTrue.length / n;
  if (expectedUnits !== undefined && units !== expectedUnits) {
    throw new RangeError(`${metric}: expected ${expectedUnits} value(s) per row, got ${units}`);
  }
  return units;
}

/**
 * The weight of row i when it counts (mask > 0 and weight > 0), otherwise 0.
 * Negative or non-finite weights of unmasked rows are errors.
 */
export function rowWeight(metric: string, mask: Float32Array, weight: Float32Array | undefined, i: number): number {
  if (!(mask[i] > 0)) return 0;
  if (weight === undefined) return 1;
  const w = weight[i];
  if (!(w >= 0) || !Number.isFinite(w)) {
    throw new RangeError(`${metric}: row ${i} has weight ${w}; weights must be finite and non-negative`);
  }
  return w;
}

/** Index of the largest value in row i (first one on ties). */
export function argmaxRow(values: Float32Array, i: number, units: number): number {
  const base = i * units;
  let best = 0;
  let bestValue = values[base];
  for (let k = 1; k < units; k++) {
    const v = values[base + k];
    if (v > bestValue || (Number.isNaN(bestValue) && !Number.isNaN(v))) {
      best = k;
      bestValue = v;
    }
  }
  return best;
}

/** F1 = 2TP / (2TP + FP + FN); NaN when the denominator is 0. */
export function f1(tp: number, fp: number, fn: number): number {
  const d = 2 * tp + fp + fn;
  return d > 0 ? (2 * tp) / d : NaN;
}
