import { MultilossError } from '../../errors.js';
import type { AggregatorName, SolverReport } from './types.js';

/**
 * Returns `report` when its residual is within `tolerance`; otherwise throws
 * the one-line training error naming the method, the solver step, the
 * iterations and the residual (an unconverged result is never returned as if
 * it were the solution).
 */
export function converged(method: AggregatorName, step: string, report: SolverReport, tolerance: number): SolverReport {
  if (report.residual <= tolerance) return report;
  throw new MultilossError(
    'training',
    `aggregator '${method}': ${step} did not converge: residual ${report.residual.toPrecision(3)} > tolerance ${tolerance.toPrecision(3)} after ${report.iterations} iterations`,
  );
}

/** Several solves as one report: iterations add up, the worst residual counts. */
export function mergeReports(reports: readonly SolverReport[]): SolverReport {
  let iterations = 0;
  let residual = 0;
  for (const r of reports) {
    iterations += r.iterations;
    residual = Math.max(residual, r.residual);
  }
  return { iterations, residual };
}
