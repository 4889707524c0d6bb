/**
 * Regression metrics on n×1 values in original units.
 */
import type { StreamingMetric } from './metric.js';
import { checkBatch, rowWeight } from './shape.js';

/**
 * A weighted mean over labelled rows of a per-row term of (y, ŷ) — the
 * skeleton of RMSE, MAE and Poisson deviance. `finish` maps the mean to the result.
 */
export abstract class WeightedMeanMetric implements StreamingMetric {
  readonly higherIsBetter = false;
  private sum = 0;
  private total = 0;
  constructor(readonly name: string) {}
  protected abstract term(y: number, yPred: number): number;
  protected finish(mean: number): number {
    return mean;
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    checkBatch(this.name, yTrue, yPred, mask, weight, 1);
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      this.sum += w * this.term(yTrue[i], yPred[i]);
      this.total += w;
    }
  }
  result(): number {
    return this.total > 0 ? this.finish(this.sum / this.total) : NaN;
  }
  reset(): void {
    this.sum = 0;
    this.total = 0;
  }
}

/** Root of the weighted mean squared error. */
export class Rmse extends WeightedMeanMetric {
  constructor(name = 'rmse') {
    super(name);
  }
  protected term(y: number, p: number): number {
    return (y - p) * (y - p);
  }
  protected override finish(mean: number): number {
    return Math.sqrt(mean);
  }
}

/** Weighted mean absolute error. */
export class Mae extends WeightedMeanMetric {
  constructor(name = 'mae') {
    super(name);
  }
  protected term(y: number, p: number): number {
    return Math.abs(y - p);
  }
}

/**
 * Coefficient of determination 1 − SSres/SStot over the labelled rows, with
 * SStot around the weighted mean of the truth (accumulated with West's
 * weighted incremental algorithm, so streaming is exact and stable).
 * NaN when SStot = 0 (constant truth) or no row was seen.
 */
export class R2 implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = true;
  private total = 0;
  private mean = 0;
  private ssTot = 0;
  private ssRes = 0;
  constructor(name = 'r2') {
    this.name = name;
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    checkBatch(this.name, yTrue, yPred, mask, weight, 1);
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      const y = yTrue[i];
      const e = y - yPred[i];
      this.ssRes += w * e * e;
      this.total += w;
      const delta = y - this.mean;
      this.mean += (w / this.total) * delta;
      this.ssTot += w * delta * (y - this.mean);
    }
  }
  result(): number {
    return this.total > 0 && this.ssTot > 0 ? 1 - this.ssRes / this.ssTot : NaN;
  }
  reset(): void {
    this.total = 0;
    this.mean = 0;
    this.ssTot = 0;
    this.ssRes = 0;
  }
}
