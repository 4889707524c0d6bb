import assert from 'node:assert/strict';
import type { StreamingMetric } from '../../src/metrics/metric.js';

export const f32 = (values: number[]): Float32Array => Float32Array.from(values);
export const ones = (n: number): Float32Array => new Float32Array(n).fill(1);

export function close(actual: number, expected: number, tol = 1e-9, msg?: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${msg ?? ''} expected ${expected}, got ${actual}`);
}

/** Feeds all rows at once to `a` and in the given batch boundaries to `b`. */
export function feedInBatches(
  metric: StreamingMetric,
  yTrue: Float32Array,
  yPred: Float32Array,
  mask: Float32Array,
  weight: Float32Array | undefined,
  cuts: number[],
): void {
  const units = yTrue.length / mask.length;
  const bounds = [0, ...cuts, mask.length];
  for (let b = 0; b + 1 < bounds.length; b++) {
    const [s, e] = [bounds[b], bounds[b + 1]];
    metric.update(
      yTrue.subarray(s * units, e * units),
      yPred.subarray(s * units, e * units),
      mask.subarray(s, e),
      weight?.subarray(s, e),
    );
  }
}
