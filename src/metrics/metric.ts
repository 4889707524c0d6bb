/**
 * A streaming metric: feed batches with `update`, read with `result`.
 * Exact over everything seen since `reset` (not an average of batch averages).
 *
 * `yTrue` and `yPred` are row-major n×units arrays in the head's encoded space
 * (one-hot / 0-1 indicators / original-unit numbers); `mask[i]` is 1 when row
 * i has a label, 0 when missing (masked rows are ignored); `weight[i]` is an
 * optional per-row weight (1 when absent).
 */
export interface StreamingMetric {
  readonly name: string;
  /** true when larger is better (accuracy), false when smaller is (rmse). */
  readonly higherIsBetter: boolean;
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void;
  /** NaN when no labelled row has been seen. */
  result(): number;
  reset(): void;
}
