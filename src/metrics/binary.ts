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
   * Labelled rows kept for the exact area (default 1,000,000: 4 bytes a row,
   * 12 once a row's weight is not 1). Beyond it the scores go into `bins`
   * equal-width bins over [0, 1] and the area is computed from them, so memory
   * stays flat on streams of any length; pairs within one bin count as ties
   * (an error of at most half the share of such pairs, ~1e-5 for smooth
   * scores with the default bins).
   */
  exactRows?: number;
  /** Bins once past `exactRows` (default 65,536). */
  bins?: number;
}

/**
 * The scores of one class's rows, kept for the exact area: float32 as the
 * network predicts them, and weights only once a row's weight is not 1 (the
 * common unweighted case costs 4 bytes a row).
 */
class ClassScores {
  scores = new Float32Array(1024);
  weights?: Float64Array;
  size = 0;

  push(score: number, weight: number): void {
    if (this.size === this.scores.length) this.grow();
    if (weight !== 1 && !this.weights) this.weights = new Float64Array(this.scores.length).fill(1);
    this.scores[this.size] = score;
    if (this.weights) this.weights[this.size] = weight;
    this.size++;
  }

  private grow(): void {
    const scores = new Float32Array(this.scores.length * 2);
    scores.set(this.scores);
    this.scores = scores;
    if (this.weights) {
      const weights = new Float64Array(scores.length).fill(1);
      weights.set(this.weights);
      this.weights = weights;
    }
  }

  /** Puts the kept rows in increasing score order (the area does not depend on the order rows came in). */
  sort(): void {
    const scores = this.scores.subarray(0, this.size);
    const weights = this.weights;
    if (!weights) {
      scores.sort();
      return;
    }
    const order = new Uint32Array(this.size);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => scores[a] - scores[b]);
    const sortedScores = new Float32Array(this.scores.length);
    const sortedWeights = new Float64Array(this.scores.length).fill(1);
    for (let i = 0; i < order.length; i++) {
      sortedScores[i] = scores[order[i]];
      sortedWeights[i] = weights[order[i]];
    }
    this.scores = sortedScores;
    this.weights = sortedWeights;
  }

  weightAt(i: number): number {
    return this.weights ? this.weights[i] : 1;
  }
}

/**
 * Area under the ROC curve: the weighted probability that a positive row
 * scores above a negative one, ties counting one half (equivalent to the
 * average-rank / Mann–Whitney formula). Exact while it keeps every labelled
 * row's score, up to `exactRows`; binned after that (see
 * {@link RocAucOptions}). NaN when only one class has been seen, or when a
 * score was NaN.
 */
export class RocAuc implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = true;
  private positives = new ClassScores();
  private negatives = new ClassScores();
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
  private bin(score: number): number {
    return Math.min(this.bins - 1, Math.max(0, Math.floor(score * this.bins)));
  }
  /** Moves the kept rows into bins and frees them. */
  private toBins(): void {
    const hist = { pos: new Float64Array(this.bins), neg: new Float64Array(this.bins) };
    for (const [kept, into] of [
      [this.positives, hist.pos],
      [this.negatives, hist.neg],
    ] as const) {
      for (let i = 0; i < kept.size; i++) into[this.bin(kept.scores[i])] += kept.weightAt(i);
    }
    this.hist = hist;
    this.positives = new ClassScores();
    this.negatives = new ClassScores();
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    checkBatch(this.name, yTrue, yPred, mask, weight, 1);
    if (!this.hist && this.positives.size + this.negatives.size + mask.length > this.exactRows) this.toBins();
    const hist = this.hist;
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      if (Number.isNaN(yPred[i])) {
        this.sawNaN = true;
        continue;
      }
      const positive = yTrue[i] >= 0.5;
      if (hist) (positive ? hist.pos : hist.neg)[this.bin(yPred[i])] += w;
      else (positive ? this.positives : this.negatives).push(yPred[i], w);
    }
  }
  result(): number {
    if (this.sawNaN) return NaN;
    const area = new AreaSum();
    if (this.hist) {
      for (let b = 0; b < this.bins; b++) area.add(this.hist.pos[b], this.hist.neg[b]);
      return area.result();
    }
    // Both classes in increasing score order, walked together in groups of equal scores.
    const pos = this.positives;
    const neg = this.negatives;
    pos.sort();
    neg.sort();
    let i = 0;
    let j = 0;
    while (i < pos.size || j < neg.size) {
      const s = j >= neg.size || (i < pos.size && pos.scores[i] < neg.scores[j]) ? pos.scores[i] : neg.scores[j];
      let gp = 0;
      let gn = 0;
      for (; i < pos.size && pos.scores[i] === s; i++) gp += pos.weightAt(i);
      for (; j < neg.size && neg.scores[j] === s; j++) gn += neg.weightAt(j);
      area.add(gp, gn);
    }
    return area.result();
  }
  reset(): void {
    this.positives = new ClassScores();
    this.negatives = new ClassScores();
    this.sawNaN = false;
    this.hist = undefined;
  }
}

/**
 * The area under the ROC curve from groups of tied scores given in increasing
 * order: each positive counts the negatives below it, plus half of those tied with it.
 */
class AreaSum {
  private negBelow = 0;
  private area = 0;
  private p = 0;
  private q = 0;

  add(positives: number, negatives: number): void {
    this.area += positives * this.negBelow + 0.5 * positives * negatives;
    this.negBelow += negatives;
    this.p += positives;
    this.q += negatives;
  }

  result(): number {
    return this.p > 0 && this.q > 0 ? this.area / (this.p * this.q) : NaN;
  }
}
