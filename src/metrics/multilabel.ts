/**
 * Multilabel metrics. yTrue is n×L with 0/1 indicators (≥ 0.5 is on), yPred
 * n×L with per-label probabilities, predicted on when ≥ threshold.
 */
import type { StreamingMetric } from './metric.js';
import { checkBatch, f1, rowWeight } from './shape.js';

function checkThreshold(threshold: number): number {
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new RangeError(`multilabel metric threshold must be in [0, 1], got ${threshold}`);
  }
  return threshold;
}

/** Per-label weighted TP/FP/FN counts; the label count is fixed by the first batch. */
abstract class LabelCounts {
  abstract readonly name: string;
  readonly threshold: number;
  protected tp = new Float64Array(0);
  protected fp = new Float64Array(0);
  protected fn = new Float64Array(0);
  protected labels = 0;
  constructor(threshold: number) {
    this.threshold = checkThreshold(threshold);
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    const units = checkBatch(this.name, yTrue, yPred, mask, weight, this.labels > 0 ? this.labels : undefined);
    if (units === 0) return;
    if (this.labels === 0) {
      this.labels = units;
      this.tp = new Float64Array(units);
      this.fp = new Float64Array(units);
      this.fn = new Float64Array(units);
    }
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      for (let l = 0; l < units; l++) {
        const t = yTrue[i * units + l] >= 0.5;
        const p = yPred[i * units + l] >= this.threshold;
        if (t && p) this.tp[l] += w;
        else if (p) this.fp[l] += w;
        else if (t) this.fn[l] += w;
      }
    }
  }
  reset(): void {
    this.labels = 0;
    this.tp = new Float64Array(0);
    this.fp = new Float64Array(0);
    this.fn = new Float64Array(0);
  }
}

/** F1 over all (row, label) decisions pooled. NaN when no label is on in truth or prediction. */
export class MicroF1 extends LabelCounts implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = true;
  constructor(threshold = 0.5, name = 'micro_f1') {
    super(threshold);
    this.name = name;
  }
  result(): number {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let l = 0; l < this.labels; l++) {
      tp += this.tp[l];
      fp += this.fp[l];
      fn += this.fn[l];
    }
    return f1(tp, fp, fn);
  }
}

/** Unweighted mean of per-label F1 over the labels that occur in the truth or the predictions. */
export class MacroF1 extends LabelCounts implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = true;
  constructor(threshold = 0.5, name = 'macro_f1') {
    super(threshold);
    this.name = name;
  }
  result(): number {
    let sum = 0;
    let count = 0;
    for (let l = 0; l < this.labels; l++) {
      const score = f1(this.tp[l], this.fp[l], this.fn[l]);
      if (Number.isNaN(score)) continue;
      sum += score;
      count++;
    }
    return count > 0 ? sum / count : NaN;
  }
}
