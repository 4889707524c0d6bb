import { combine, computeGram } from '../balancing/aggregation/matrix.js';
import type { SolverReport } from '../balancing/aggregation/types.js';

/**
 * Gradient diagnostics: each head's gradient norm on the shared part and the
 * pairwise cosine similarity of the heads' gradients, from the T×d matrix of
 * per-head gradients (rows), accumulated over an epoch.
 */
export interface GradientDiagnostics {
  /** Mean over the epoch's steps of ‖gₜ‖ on the shared part, per head. */
  gradNorm: Record<string, number>;
  /** Mean over steps of cos(gₐ, g_b), per pair of heads (both directions listed). */
  cosine: Record<string, Record<string, number>>;
  /**
   * The aggregator's solver over the epoch's steps (methods with an iterative
   * solver: nash, mgda, cagrad, imtl, aligned, upgrad): iterations per step
   * and the final residual of the condition it solves, mean and max.
   */
  solver?: SolverDiagnostics;
}

export interface SolverDiagnostics {
  iterations: { mean: number; max: number };
  residual: { mean: number; max: number };
  /** Steps the figures are over. */
  steps: number;
}

/** The rows of a row-major T×d matrix, as views. */
function rowViews(rows: Float32Array, T: number, d: number): Float32Array[] {
  return Array.from({ length: T }, (_, t) => rows.subarray(t * d, (t + 1) * d));
}

/** Gram matrix G Gᵀ (T×T, Float64, blocked) of the rows of a row-major T×d matrix. */
export function gramOf(rows: Float32Array, T: number, d: number): Float64Array {
  return computeGram(rowViews(rows, T, d));
}

/** Σₜ wₜ·rowₜ of a row-major T×d matrix, as float32. */
export function combineRows(rows: Float32Array, T: number, d: number, w: ArrayLike<number>): Float32Array {
  return Float32Array.from(combine(rowViews(rows, T, d), w, d));
}

export class DiagnosticsAccumulator {
  private steps = 0;
  private readonly norm: Float64Array;
  private readonly cos: Float64Array;
  private readonly cosCount: Float64Array;
  private solverSteps = 0;
  private iterationSum = 0;
  private iterationMax = 0;
  private residualSum = 0;
  private residualMax = 0;
  constructor(private readonly names: readonly string[]) {
    const T = names.length;
    this.norm = new Float64Array(T);
    this.cos = new Float64Array(T * T);
    this.cosCount = new Float64Array(T * T);
  }

  /** Adds one step, given the Gram matrix of that step's per-head gradients. */
  add(gram: Float64Array): void {
    const T = this.names.length;
    this.steps++;
    for (let a = 0; a < T; a++) {
      this.norm[a] += Math.sqrt(Math.max(0, gram[a * T + a]));
      for (let b = 0; b < T; b++) {
        const den = Math.sqrt(gram[a * T + a] * gram[b * T + b]);
        // A head without labels in the batch has a zero gradient: no angle to report.
        if (den > 0) {
          this.cos[a * T + b] += gram[a * T + b] / den;
          this.cosCount[a * T + b]++;
        }
      }
    }
  }

  /** Adds one step's solver report (see AggregateResult.solver). */
  addSolver(report: SolverReport): void {
    this.solverSteps++;
    this.iterationSum += report.iterations;
    this.iterationMax = Math.max(this.iterationMax, report.iterations);
    this.residualSum += report.residual;
    this.residualMax = Math.max(this.residualMax, report.residual);
  }

  get empty(): boolean {
    return this.steps === 0 && this.solverSteps === 0;
  }

  result(): GradientDiagnostics {
    const T = this.names.length;
    const gradNorm: Record<string, number> = {};
    const cosine: Record<string, Record<string, number>> = {};
    this.names.forEach((a, i) => {
      gradNorm[a] = this.norm[i] / Math.max(1, this.steps);
      cosine[a] = {};
      this.names.forEach((b, j) => {
        if (i !== j) cosine[a][b] = this.cosCount[i * T + j] > 0 ? this.cos[i * T + j] / this.cosCount[i * T + j] : NaN;
      });
    });
    if (this.solverSteps === 0) return { gradNorm, cosine };
    const n = this.solverSteps;
    const solver: SolverDiagnostics = {
      iterations: { mean: this.iterationSum / n, max: this.iterationMax },
      residual: { mean: this.residualSum / n, max: this.residualMax },
      steps: n,
    };
    return { gradNorm, cosine, solver };
  }
}
