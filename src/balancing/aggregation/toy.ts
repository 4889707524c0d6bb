/**
 * The two-objective toy problem of the CAGrad paper (Liu et al. 2021), with the
 * first loss scaled by 0.1 as in the Nash-MTL paper (Navon et al. 2022), its
 * analytic gradients, a plain Adam, and a driver that runs an aggregator on it
 * (e.g. to draw trajectories).
 *
 * x = (x1, x2) ∈ R². Above the x1 axis both losses are log-shaped valleys,
 * below it they are quadratics; the Pareto set is the segment
 * x2 ≈ −8.3552, x1 ∈ [−7, 7].
 */
import { aggregateBatches, aggregatorNeeds } from './aggregate.js';
import type { AggregatorName, AggregatorOptionsMap, AggregatorState } from './types.js';

const LOWER = 0.000005;

/** The starting points of the Nash-MTL paper's figure (the CAGrad paper uses the first three of its own). */
export const TOY_STARTS: readonly (readonly [number, number])[] = [
  [-8.5, 7.5],
  [0, 0],
  [9, 9],
  [-7.5, -0.5],
  [9, -1],
];

/** Where the Pareto set of the toy problem lies (x2 at x1 = 0; it bends slightly towards the ends, see toyParetoX2). */
export const TOY_PARETO = { x2: -8.3552, x1Min: -7, x1Max: 7 } as const;

/**
 * The Pareto set is the curve where ∇f1 and ∇f2 point in opposite directions
 * (independent of the scale on f1): for x1 ∈ [−7, 7] this returns its x2, found
 * by bisection of the cross product ∂1f1·∂2f2 − ∂2f1·∂1f2 on x2 ∈ [−10, −7].
 */
export function toyParetoX2(x1: number): number {
  const cross = (x2: number): number => {
    const { grads } = toyProblem([x1, x2], 1);
    return grads[0][0] * grads[1][1] - grads[0][1] * grads[1][0];
  };
  let lo = -10;
  let hi = -7;
  let flo = cross(lo);
  for (let i = 0; i < 200 && hi - lo > 1e-13; i++) {
    const mid = 0.5 * (lo + hi);
    const fm = cross(mid);
    if (fm === 0) return mid;
    if (Math.sign(fm) === Math.sign(flo)) {
      lo = mid;
      flo = fm;
    } else hi = mid;
  }
  return 0.5 * (lo + hi);
}

export interface ToyEvaluation {
  losses: [number, number];
  /** grads[t] = ∇f_t(x) = [∂f_t/∂x1, ∂f_t/∂x2]. */
  grads: [[number, number], [number, number]];
}

/** log(max(|u|, LOWER)) + 6 and its derivative in u (zero where the clamp is active). */
function logPart(u: number): [number, number] {
  const a = Math.abs(u);
  if (a >= LOWER) return [Math.log(a) + 6, 1 / u];
  return [Math.log(LOWER) + 6, 0];
}

/** The two losses and their analytic gradients at x; `scale` multiplies f1 (0.1 as in Nash-MTL, 1 as in CAGrad). */
export function toyProblem(x: readonly [number, number] | ArrayLike<number>, scale = 0.1): ToyEvaluation {
  const x1 = x[0];
  const x2 = x[1];
  const th = Math.tanh(x2);
  const dth = 1 - th * th;
  const h = Math.tanh(0.5 * x2);
  const dh = 0.5 * (1 - h * h);
  // Gates (clamp at 0; torch passes the gradient where the input equals the bound).
  const c1 = Math.max(h, 0);
  const dc1 = h >= 0 ? dh : 0;
  const c2 = Math.max(-h, 0);
  const dc2 = -h >= 0 ? -dh : 0;

  const [f1a, df1a] = logPart(-0.5 * x1 - 3.5 + th);
  const [f2a, df2a] = logPart(-0.5 * x1 + 3.5 - th);
  const q = 0.1 * (x2 + 8) * (x2 + 8);
  const f1s = ((7 - x1) * (7 - x1) + q) / 10 - 20;
  const f2s = ((x1 + 7) * (x1 + 7) + q) / 10 - 20;
  const dqs = (0.2 * (x2 + 8)) / 10;

  const f1 = f1a * c1 + f1s * c2;
  const f2 = f2a * c1 + f2s * c2;
  const g11 = -0.5 * df1a * c1 + ((x1 - 7) / 5) * c2;
  const g12 = df1a * dth * c1 + f1a * dc1 + dqs * c2 + f1s * dc2;
  const g21 = -0.5 * df2a * c1 + ((x1 + 7) / 5) * c2;
  const g22 = -df2a * dth * c1 + f2a * dc1 + dqs * c2 + f2s * dc2;
  return {
    losses: [scale * f1, f2],
    grads: [
      [scale * g11, scale * g12],
      [g21, g22],
    ],
  };
}

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** Plain Adam (Kingma & Ba; PyTorch's defaults and bias correction). */
export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;
  constructor(size: number, opts: AdamOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }
  /** One descent step on `params` (in place) along the gradient `grad`. */
  step(params: Float64Array, grad: ArrayLike<number>): void {
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    for (let i = 0; i < params.length; i++) {
      const g = grad[i];
      this.m[i] = this.beta1 * this.m[i] + (1 - this.beta1) * g;
      this.v[i] = this.beta2 * this.v[i] + (1 - this.beta2) * g * g;
      const denom = Math.sqrt(this.v[i]) / Math.sqrt(bc2) + this.eps;
      params[i] -= (this.lr / bc1) * (this.m[i] / denom);
    }
  }
}

export interface ToyRunOptions<M extends AggregatorName> {
  /** Adam steps (default 35 000, the Nash-MTL toy script's budget). */
  steps?: number;
  /** Options of the aggregator. */
  options?: AggregatorOptionsMap[M];
  /** Factor on f1 (default 0.1). */
  scale?: number;
  adam?: AdamOptions;
  /** Keep every `record`-th point of the trajectory (0, the default: none). */
  record?: number;
}

export interface ToyRun {
  /** Final point. */
  x: [number, number];
  /** Final losses. */
  losses: [number, number];
  /** Recorded points, starting with the start. */
  trajectory: [number, number][];
}

/** Runs Adam on the toy problem from `start`, stepping along the aggregated direction (the same gradients for each batch the method declares). */
export function runToy<M extends AggregatorName>(method: M, start: readonly [number, number], opts: ToyRunOptions<M> = {}): ToyRun {
  const steps = opts.steps ?? 35_000;
  const scale = opts.scale ?? 0.1;
  const x = Float64Array.of(start[0], start[1]);
  const adam = new Adam(2, opts.adam);
  const trajectory: [number, number][] = [];
  let state: AggregatorState | undefined;
  // A method that declares several independent batches per step (MoDo, SDMGrad) gets that many
  // matrices: the toy is deterministic, so every batch's gradients are the same and the method
  // runs in its full-gradient form.
  const batches = aggregatorNeeds(method, (opts.options ?? {}) as Record<string, unknown>).batches ?? 1;
  for (let s = 0; s < steps; s++) {
    if (opts.record && s % opts.record === 0) trajectory.push([x[0], x[1]]);
    const { grads } = toyProblem(x, scale);
    const r = aggregateBatches(method, Array.from({ length: batches }, () => grads), opts.options, state);
    state = r.state;
    adam.step(x, r.direction);
  }
  if (opts.record) trajectory.push([x[0], x[1]]);
  return { x: [x[0], x[1]], losses: toyProblem(x, scale).losses, trajectory };
}
