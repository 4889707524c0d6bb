/**
 * Binary metrics. yTrue is n×1 with 0/1 (a value ≥ 0.5 counts as positive),
 * yPred is n×1 with the predicted probability of the positive class.
 */
import type { StreamingMetric } from './metric.js';
import { checkBatch, f1, rowWeight } from './shape.js';

function checkThreshold(threshold: number): number {
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new RangeError(`binary metric threshold must be in [0, 1], got ${threshold}`);
  }
  return threshold;
}

/** Weighted share of rows where (yPred ≥ threshold) equals the true label. */
export class BinaryAccuracy implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = true;
  readonly threshold: number;
  private correct = 0;
  private total = 0;
  constructor(threshold = 0.5, name = 'accuracy') {
    this.threshold = checkThreshold(threshold);
    this.name = name;
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    checkBatch(this.name, yTrue, yPred, mask, weight, 1);
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      this.total += w;
      if (yTrue[i] >= 0.5 === yPred[i] >= this.threshold) this.correct += w;
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
 * F1 of the positive class with predictions yPred ≥ threshold, from weighted
 * TP/FP/FN. NaN when there is no positive in truth or prediction (0/0).
 */
export class BinaryF1 implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = true;
  readonly threshold: number;
  private tp = 0;
  private fp = 0;
  private fn = 0;
  constructor(threshold = 0.5, name = 'f1') {
    this.threshold = checkThreshold(threshold);
    this.name = name;
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    checkBatch(this.name, yTrue, yPred, mask, weight, 1);
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      const t = yTrue[i] >= 0.5;
      const p = yPred[i] >= this.threshold;
      if (t && p) this.tp += w;
      else if (p) this.fp += w;
      else if (t) this.fn += w;
    }
  }
  result(): number {
    return f1(this.tp, this.fp, this.fn);
  }
  reset(): void {
    this.tp = 0;
    this.fp = 0;
    this.fn = 0;
  }
}

/**
 * Exact area under the ROC curve: the weighted probability that a positive
 * row scores above a negative one, ties counting one half (equivalent to the
 * average-rank / Mann–Whitney formula). Keeps every labelled (score, label,
 * weight). NaN when only one class has been seen, or when a score was NaN.
 */
export class RocAuc implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = true;
  private scores = new Float64Array(1024);
  private labels = new Uint8Array(1024);
  private weights = new Float64Array(1024);
  private size = 0;
  private sawNaN = false;
  constructor(name = 'roc_auc') {
    this.name = name;
  }
  private grow(min: number): void {
    if (min <= this.scores.length) return;
    let cap = this.scores.length;
    while (cap < min) cap *= 2;
    const s = new Float64Array(cap);
    s.set(this.scores.subarray(0, this.size));
    const l = new Uint8Array(cap);
    l.set(this.labels.subarray(0, this.size));
    const w = new Float64Array(cap);
    w.set(this.weights.subarray(0, this.size));
    this.scores = s;
    this.labels = l;
    this.weights = w;
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    checkBatch(this.name, yTrue, yPred, mask, weight, 1);
    this.grow(this.size + mask.length);
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      if (Number.isNaN(yPred[i])) {
        this.sawNaN = true;
        continue;
      }
      this.scores[this.size] = yPred[i];
      this.labels[this.size] = yTrue[i] >= 0.5 ? 1 : 0;
      this.weights[this.size] = w;
      this.size++;
    }
  }
  result(): number {
    if (this.sawNaN) return NaN;
    const n = this.size;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const scores = this.scores;
    order.sort((a, b) => (scores[a] < scores[b] ? -1 : scores[a] > scores[b] ? 1 : 0));
    let negBelow = 0;
    let area = 0;
    let pos = 0;
    let neg = 0;
    let i = 0;
    while (i < n) {
      const s = scores[order[i]];
      let groupPos = 0;
      let groupNeg = 0;
      while (i < n && scores[order[i]] === s) {
        const k = order[i];
        if (this.labels[k] === 1) groupPos += this.weights[k];
        else groupNeg += this.weights[k];
        i++;
      }
      area += groupPos * negBelow + 0.5 * groupPos * groupNeg;
      negBelow += groupNeg;
      pos += groupPos;
      neg += groupNeg;
    }
    return pos > 0 && neg > 0 ? area / (pos * neg) : NaN;
  }
  reset(): void {
    this.size = 0;
    this.sawNaN = false;
  }
}
