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

export interface RocAucOptions {
  /**
   * Labelled rows kept for the exact area (default 1,000,000: 17 bytes a row).
   * Beyond it the scores go into `bins` equal-width bins over [0, 1] and the
   * area is computed from them, so memory stays flat on streams of any
   * length; pairs within one bin count as ties (an error of at most half the
   * share of such pairs, ~1e-5 for smooth scores with the default bins).
   */
  exactRows?: number;
  /** Bins once past `exactRows` (default 65,536). */
  bins?: number;
}

/**
 * Area under the ROC curve: the weighted probability that a positive row
 * scores above a negative one, ties counting one half (equivalent to the
 * average-rank / Mann–Whitney formula). Exact while it keeps every labelled
 * (score, label, weight), up to `exactRows`; binned after that (see
 * {@link RocAucOptions}). NaN when only one class has been seen, or when a
 * score was NaN.
 */
export class RocAuc implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = true;
  private scores = new Float64Array(1024);
  private labels = new Uint8Array(1024);
  private weights = new Float64Array(1024);
  private size = 0;
  private sawNaN = false;
  private readonly exactRows: number;
  private readonly bins: number;
  /** Per-bin weights of positive and negative rows, once past exactRows. */
  private hist?: { pos: Float64Array; neg: Float64Array };
  constructor(name = 'roc_auc', options: RocAucOptions = {}) {
    this.name = name;
    this.exactRows = Math.max(1, Math.floor(options.exactRows ?? 1_000_000));
    this.bins = Math.max(2, Math.floor(options.bins ?? 65_536));
  }
  /** Whether the area is computed from bins (past `exactRows`) rather than exactly. */
  get binned(): boolean {
    return this.hist !== undefined;
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
  private bin(score: number): number {
    return Math.min(this.bins - 1, Math.max(0, Math.floor(score * this.bins)));
  }
  /** Moves the kept rows into bins and frees them. */
  private toBins(): void {
    const hist = { pos: new Float64Array(this.bins), neg: new Float64Array(this.bins) };
    for (let i = 0; i < this.size; i++) (this.labels[i] === 1 ? hist.pos : hist.neg)[this.bin(this.scores[i])] += this.weights[i];
    this.hist = hist;
    this.size = 0;
    this.scores = new Float64Array(1024);
    this.labels = new Uint8Array(1024);
    this.weights = new Float64Array(1024);
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    checkBatch(this.name, yTrue, yPred, mask, weight, 1);
    if (!this.hist && this.size + mask.length > this.exactRows) this.toBins();
    const hist = this.hist;
    if (!hist) this.grow(this.size + mask.length);
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      if (Number.isNaN(yPred[i])) {
        this.sawNaN = true;
        continue;
      }
      if (hist) {
        (yTrue[i] >= 0.5 ? hist.pos : hist.neg)[this.bin(yPred[i])] += w;
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
    if (this.hist) return areaFromGroups(this.bins, (b) => this.hist?.pos[b] ?? 0, (b) => this.hist?.neg[b] ?? 0);
    const n = this.size;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const scores = this.scores;
    order.sort((a, b) => (scores[a] < scores[b] ? -1 : scores[a] > scores[b] ? 1 : 0));
    // Groups of equal scores, in increasing order.
    const groupPos: number[] = [];
    const groupNeg: number[] = [];
    let i = 0;
    while (i < n) {
      const s = scores[order[i]];
      let p = 0;
      let q = 0;
      while (i < n && scores[order[i]] === s) {
        const k = order[i];
        if (this.labels[k] === 1) p += this.weights[k];
        else q += this.weights[k];
        i++;
      }
      groupPos.push(p);
      groupNeg.push(q);
    }
    return areaFromGroups(groupPos.length, (g) => groupPos[g], (g) => groupNeg[g]);
  }
  reset(): void {
    this.size = 0;
    this.sawNaN = false;
    this.hist = undefined;
  }
}

/**
 * The area under the ROC curve from groups of tied scores in increasing
 * order: each positive counts the negatives below it, plus half of those tied with it.
 */
function areaFromGroups(groups: number, pos: (g: number) => number, neg: (g: number) => number): number {
  let negBelow = 0;
  let area = 0;
  let p = 0;
  let q = 0;
  for (let g = 0; g < groups; g++) {
    const gp = pos(g);
    const gn = neg(g);
    area += gp * negBelow + 0.5 * gp * gn;
    negBelow += gn;
    p += gp;
    q += gn;
  }
  return p > 0 && q > 0 ? area / (p * q) : NaN;
}
