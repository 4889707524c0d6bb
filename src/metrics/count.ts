/**
 * Count metrics on n×1 values: yTrue counts (≥ 0), yPred predicted means μ.
 * MAE is the regression one (re-exported).
 */
import type { StreamingMetric } from './metric.js';
import { checkBatch, rowWeight } from './shape.js';

export { Mae } from './regression.js';

/** μ is clipped below at this value so that log(y/μ) stays finite. */
export const POISSON_MU_EPSILON = 1e-7;

/**
 * Weighted mean Poisson deviance 2·(y·log(y/μ) − (y − μ)), with y·log(y/μ) = 0
 * when y = 0 and μ clipped to ≥ {@link POISSON_MU_EPSILON}.
 */
export class PoissonDeviance implements StreamingMetric {
  readonly name: string;
  readonly higherIsBetter = false;
  private deviance = 0;
  private total = 0;
  constructor(name = 'poisson_deviance') {
    this.name = name;
  }
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array, weight?: Float32Array): void {
    checkBatch(this.name, yTrue, yPred, mask, weight, 1);
    for (let i = 0; i < mask.length; i++) {
      const w = rowWeight(this.name, mask, weight, i);
      if (w === 0) continue;
      const y = yTrue[i];
      const mu = Math.max(yPred[i], POISSON_MU_EPSILON);
      const term = y === 0 ? 0 : y * Math.log(y / mu);
      this.deviance += w * 2 * (term - (y - mu));
      this.total += w;
    }
  }
  result(): number {
    return this.total > 0 ? this.deviance / this.total : NaN;
  }
  reset(): void {
    this.deviance = 0;
    this.total = 0;
  }
}
