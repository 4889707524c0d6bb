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

/**
 * What a gradient method's update did to each head, averaged over an epoch's
 * steps (docs/balancing.md, "What the report's per-head figures mean"). With
 * gₜ head t's gradient on the aggregated part and d the applied direction:
 */
export interface HeadUpdate {
  /** Mean over steps of the raw coefficient cₜ in d = Σₜ cₜgₜ (unbounded; not a weight: a tiny gₜ gets a huge cₜ). */
  coefficient: number;
  /**
   * Mean over steps of ‖cₜgₜ‖ / Σₛ‖cₛgₛ‖: head t's share of the update's parts,
   * in [0, 1], summing to 1 over the heads. Absent when d is not formed from this
   * step's gradients (DB-MTL's running averages, custom strategies returning a direction).
   */
  share?: number;
  /** Mean over steps of cos(gₜ, d) = gₜ·d / (‖gₜ‖‖d‖), in [−1, 1]; below 0 the update raised head t's loss to first order. Absent when gₜ or d was 0 at every step. */
  cosine?: number;
  /**
   * Σ_steps gₜ·d / Σ_steps |gₜ·Σₛgₛ|: head t's first-order loss decrease along d relative to
   * the size of the plain sum of gradients' effect on it. Above 0 the update lowers the
   * head's loss, below 0 it raises it; 1 for `sum` (−1 where the sum itself raises it);
   * 0.5: half the sum's progress on this head. Absent only when gₜ·Σₛgₛ = 0 at every step.
   */
  relativeDecrease?: number;
}

/**
 * One step's per-head figures: gₜ·d, gₜ·Σₛgₛ and ‖cₜgₜ‖ from the Gram matrix
 * G = [gₐ·g_b] (T×T numbers; no pass over the d-vectors). `dots` and `normSq`
 * are gₜ·d and ‖d‖² when d was measured directly (it is not Σₜ cₜgₜ); then the
 * shares are not defined.
 */
export interface UpdateStep {
  gram: Float64Array;
  coefficients: ArrayLike<number>;
  measured?: { dots: ArrayLike<number>; normSq: number };
}

/** UpdateAccumulator's running sums (checkpointed inside an epoch, so a resumed epoch's figures cover all its steps). */
export interface UpdateSums {
  steps: number;
  shareSteps: number;
  coefficient: number[];
  share: number[];
  cosine: number[];
  cosineSteps: number[];
  decrease: number[];
  sumDecrease: number[];
}

export class UpdateAccumulator {
  private steps: number;
  private readonly coefficient: Float64Array;
  private readonly share: Float64Array;
  private shareSteps: number;
  private readonly cosine: Float64Array;
  private readonly cosineSteps: Float64Array;
  private readonly decrease: Float64Array;
  private readonly sumDecrease: Float64Array;
  constructor(
    private readonly names: readonly string[],
    from?: UpdateSums,
  ) {
    const T = names.length;
    const start = (v?: number[]) => (v && v.length === T ? Float64Array.from(v) : new Float64Array(T));
    this.steps = from?.steps ?? 0;
    this.shareSteps = from?.shareSteps ?? 0;
    this.coefficient = start(from?.coefficient);
    this.share = start(from?.share);
    this.cosine = start(from?.cosine);
    this.cosineSteps = start(from?.cosineSteps);
    this.decrease = start(from?.decrease);
    this.sumDecrease = start(from?.sumDecrease);
  }

  sums(): UpdateSums {
    return {
      steps: this.steps,
      shareSteps: this.shareSteps,
      coefficient: Array.from(this.coefficient),
      share: Array.from(this.share),
      cosine: Array.from(this.cosine),
      cosineSteps: Array.from(this.cosineSteps),
      decrease: Array.from(this.decrease),
      sumDecrease: Array.from(this.sumDecrease),
    };
  }

  add(step: UpdateStep): void {
    const T = this.names.length;
    const { gram, coefficients: c, measured } = step;
    this.steps++;
    const dots = new Float64Array(T);
    let normSq = 0;
    if (measured) {
      for (let t = 0; t < T; t++) dots[t] = measured.dots[t];
      normSq = measured.normSq;
    } else {
      // d = Σₛ cₛgₛ: gₜ·d = (Gc)ₜ and ‖d‖² = cᵀGc.
      for (let t = 0; t < T; t++) for (let s = 0; s < T; s++) dots[t] += gram[t * T + s] * c[s];
      for (let t = 0; t < T; t++) normSq += c[t] * dots[t];
    }
    const normD = Math.sqrt(Math.max(0, normSq));
    let partSum = 0;
    const parts = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      const gg = Math.max(0, gram[t * T + t]);
      this.coefficient[t] += c[t];
      let toSum = 0;
      for (let s = 0; s < T; s++) toSum += gram[t * T + s];
      this.decrease[t] += dots[t];
      this.sumDecrease[t] += Math.abs(toSum);
      const den = Math.sqrt(gg) * normD;
      // A head without labels in the batch (gₜ = 0) or a zero update: no angle.
      if (den > 0) {
        this.cosine[t] += Math.max(-1, Math.min(1, dots[t] / den));
        this.cosineSteps[t]++;
      }
      parts[t] = Math.abs(c[t]) * Math.sqrt(gg);
      partSum += parts[t];
    }
    if (!measured && partSum > 0) {
      for (let t = 0; t < T; t++) this.share[t] += parts[t] / partSum;
      this.shareSteps++;
    }
  }

  get empty(): boolean {
    return this.steps === 0;
  }

  result(): Record<string, HeadUpdate> {
    const out: Record<string, HeadUpdate> = {};
    this.names.forEach((name, t) => {
      // Undefined figures are left out (not NaN, which JSON would turn into null).
      out[name] = {
        coefficient: this.coefficient[t] / Math.max(1, this.steps),
        ...(this.shareSteps > 0 ? { share: this.share[t] / this.shareSteps } : {}),
        ...(this.cosineSteps[t] > 0 ? { cosine: this.cosine[t] / this.cosineSteps[t] } : {}),
        ...(this.sumDecrease[t] > 0 ? { relativeDecrease: this.decrease[t] / this.sumDecrease[t] } : {}),
      };
    });
    return out;
  }
}

/** Each head's update figures averaged over the epochs that record them (NaN epochs skipped); undefined when none does. */
export function meanUpdate(history: readonly { update?: Record<string, HeadUpdate> }[]): Record<string, HeadUpdate> | undefined {
  const epochs = history.map((e) => e.update).filter((u): u is Record<string, HeadUpdate> => u !== undefined);
  if (epochs.length === 0) return undefined;
  const out: Record<string, HeadUpdate> = {};
  for (const name of Object.keys(epochs[0])) {
    const mean = (key: keyof HeadUpdate) => {
      const values = epochs.map((u) => u[name]?.[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      return values.length ? { [key]: values.reduce((a, b) => a + b, 0) / values.length } : {};
    };
    out[name] = { coefficient: NaN, ...mean('coefficient'), ...mean('share'), ...mean('cosine'), ...mean('relativeDecrease') };
  }
  return out;
}

/** gₜ·d per row t of a row-major T×dim matrix, and ‖d‖², in Float64. */
export function measureDirection(rows: Float32Array, T: number, dim: number, direction: ArrayLike<number>): { dots: Float64Array; normSq: number } {
  const dots = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let i = 0, o = t * dim; i < dim; i++) s += rows[o + i] * direction[i];
    dots[t] = s;
  }
  let normSq = 0;
  for (let i = 0; i < dim; i++) normSq += direction[i] * direction[i];
  return { dots, normSq };
}
