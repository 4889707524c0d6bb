/**
 * Count metrics on n×1 values: yTrue counts (≥ 0), yPred predicted means μ.
 * MAE is the regression one (re-exported).
 */
import { WeightedMeanMetric } from './regression.js';

export { Mae } from './regression.js';

/** μ is clipped below at this value so that log(y/μ) stays finite. */
export const POISSON_MU_EPSILON = 1e-7;

/**
 * Weighted mean Poisson deviance 2·(y·log(y/μ) − (y − μ)), with y·log(y/μ) = 0
 * when y = 0 and μ clipped to ≥ {@link POISSON_MU_EPSILON}.
 */
export class PoissonDeviance extends WeightedMeanMetric {
  constructor(name = 'poisson_deviance') {
    super(name);
  }
  protected term(y: number, yPred: number): number {
    const mu = Math.max(yPred, POISSON_MU_EPSILON);
    return 2 * ((y === 0 ? 0 : y * Math.log(y / mu)) - (y - mu));
  }
}
