/**
 * Multi-class metrics. yTrue is one-hot n×K, yPred class probabilities n×K;
 * the true class is argmax(yTrue), the predicted one argmax(yPred).
 */
import type { StreamingMetric } from './metric.js';
import { argmaxRow, checkBatch, f1, rowWeight } from './shape.js';

/** Weighted share of rows whose predicted class is the true class. */
export class Accuracy implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = true;
  private correct = 0;
  private total = 0;
  constructor(name = 'accuracy') {
    this.name = name;
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    const units = checkBatch(this.name, yTrue, yPred, mask, weight);
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      this.total += w;
      if (argmaxRow(yTrue, i, units) === argmaxRow(yPred, i, units)) this.correct += w;
    }
  }
  result(): number {
    return this.total > 0 ? this.correct / this.total : NaN;
  }
  reset(): void {
    this.correct = 0;
    this.total = 0;
  }
}

/**
 * Unweighted mean of per-class F1 (from weighted TP/FP/FN counts) over the
 * classes that occur in the truth or in the predictions.
 */
export class MacroF1 implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = true;
  private tp = new Float64Array(0);
  private fp = new Float64Array(0);
  private fn = new Float64Array(0);
  private classes = 0;
  constructor(name = 'macro_f1') {
    this.name = name;
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    const units = checkBatch(this.name, yTrue, yPred, mask, weight, this.classes > 0 ? this.classes : undefined);
    if (units === 0) return;
    if (this.classes === 0) {
      this.classes = units;
      this.tp = new Float64Array(units);
      this.fp = new Float64Array(units);
      this.fn = new Float64Array(units);
    }
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      const t = argmaxRow(yTrue, i, units);
      const p = argmaxRow(yPred, i, units);
      if (t === p) {
        this.tp[t] += w;
      } else {
        this.fn[t] += w;
        this.fp[p] += w;
      }
    }
  }
  result(): number {
    let sum = 0;
    let count = 0;
    for (let k = 0; k < this.classes; k++) {
      const score = f1(this.tp[k], this.fp[k], this.fn[k]);
      if (Number.isNaN(score)) continue;
      sum += score;
      count++;
    }
    return count > 0 ? sum / count : NaN;
  }
  reset(): void {
    this.classes = 0;
    this.tp = new Float64Array(0);
    this.fp = new Float64Array(0);
    this.fn = new Float64Array(0);
  }
}

/** Probabilities are clipped to [LOG_LOSS_EPSILON, 1 − LOG_LOSS_EPSILON] before the log. */
export const LOG_LOSS_EPSILON = 1e-7;

/**
 * Weighted mean cross-entropy −Σ_k yTrue_k · log(clip(yPred_k)) per row
 * (for one-hot truth: −log p(true class)).
 */
export class LogLoss implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = false;
  private loss = 0;
  private total = 0;
  constructor(name = 'log_loss') {
    this.name = name;
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    const units = checkBatch(this.name, yTrue, yPred, mask, weight);
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      let rowLoss = 0;
      for (let k = 0; k < units; k++) {
        const y = yTrue[i * units + k];
        if (y === 0) continue;
        const p = Math.min(Math.max(yPred[i * units + k], LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
        rowLoss -= y * Math.log(p);
      }
      this.loss += w * rowLoss;
      this.total += w;
    }
  }
  result(): number {
    return this.total > 0 ? this.loss / this.total : NaN;
  }
  reset(): void {
    this.loss = 0;
    this.total = 0;
  }
}
