import * as tf from '@tensorflow/tfjs-core';
import { untaped } from '../../engine/tidy.js';
import { MultilossError } from '../../errors.js';

/**
 * Shared pieces of the loss-based strategies (options are read by the one
 * OptionReader of balancing/options.ts): a plain-JS Adam for the few numbers a strategy learns itself,
 * a stop-gradient for use inside the tape, and state validation.
 */

/** Throws unless there is at least one head. */
export function requireHeads(method: string, count: number): void {
  if (count < 1) throw new MultilossError('config', `balance.method "${method}" needs at least one head, got ${count}`);
}

/** Error for a checkpoint/multiloss.json state that does not fit the strategy. */
export function badState(method: string, what: string): never {
  throw new MultilossError('model', `balance state for method "${method}" is malformed: ${what}`);
}

/** A length-n array of finite numbers from a state object, or a MultilossError('model'). */
export function stateNumbers(
  method: string,
  state: Record<string, unknown>,
  key: string,
  n: number,
  opts: { min?: number; optional?: boolean } = {},
): number[] | undefined {
  const v = state[key];
  if (v === undefined || v === null) {
    if (opts.optional) return undefined;
    badState(method, `"${key}" is missing`);
  }
  if (!Array.isArray(v) || v.length !== n) badState(method, `"${key}" must be an array of ${n} numbers`);
  const min = opts.min ?? -Infinity;
  for (const x of v) {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < min) badState(method, `"${key}" must hold finite numbers${min > -Infinity ? ` ≥ ${min}` : ''}`);
  }
  return [...(v as number[])];
}

/** Numerically stable softmax of plain numbers, each divided by `temperature` first. */
export function softmax(x: readonly number[], temperature = 1): number[] {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v / temperature);
  const e = x.map((v) => Math.exp(v / temperature - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * `fn(x)` as a constant of the tape: a stop-gradient (tfjs has none). Use
 * inside the gradient tape for quantities the paper detaches. The ops inside
 * `fn` are not recorded on the tape (so ops without gradients, like
 * comparisons, are fine there), and no gradient flows back through it.
 */
export function detached<T extends tf.Tensor>(x: tf.Tensor, fn: (x: tf.Tensor) => T): T {
  return untaped(() => fn(x));
}

export interface AdamState {
  /** First moments. */
  m: number[];
  /** Second moments. */
  v: number[];
  /** Steps taken. */
  t: number;
}

export interface AdamConfig {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 penalty added to the gradient (torch.optim.Adam's `weight_decay`, not decoupled AdamW). */
  weightDecay?: number;
}

export function initialAdam(n: number): AdamState {
  return { m: new Array<number>(n).fill(0), v: new Array<number>(n).fill(0), t: 0 };
}

/**
 * One Adam step in place on `params` (as torch.optim.Adam: bias-corrected,
 * eps added to √v̂, weight decay as an L2 term added to the gradient).
 */
export function adamStep(params: number[], grad: readonly number[], state: AdamState, cfg: AdamConfig): void {
  const b1 = cfg.beta1 ?? 0.9;
  const b2 = cfg.beta2 ?? 0.999;
  const eps = cfg.eps ?? 1e-8;
  const wd = cfg.weightDecay ?? 0;
  state.t += 1;
  const c1 = 1 - Math.pow(b1, state.t);
  const c2 = 1 - Math.pow(b2, state.t);
  for (let i = 0; i < params.length; i++) {
    const g = grad[i] + wd * params[i];
    state.m[i] = b1 * state.m[i] + (1 - b1) * g;
    state.v[i] = b2 * state.v[i] + (1 - b2) * g * g;
    const mHat = state.m[i] / c1;
    const vHat = state.v[i] / c2;
    params[i] -= (cfg.lr * mHat) / (Math.sqrt(vHat) + eps);
  }
}

/** Reads an Adam state saved by getState. */
export function stateAdam(method: string, state: Record<string, unknown>, key: string, n: number): AdamState {
  const raw = state[key];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) badState(method, `"${key}" must be an object`);
  const s = raw as Record<string, unknown>;
  const m = stateNumbers(method, s, 'm', n) as number[];
  const v = stateNumbers(method, s, 'v', n, { min: 0 }) as number[];
  if (typeof s.t !== 'number' || !Number.isInteger(s.t) || s.t < 0) badState(method, `"${key}.t" must be a whole number ≥ 0`);
  return { m, v, t: s.t };
}

export function copyAdam(s: AdamState): AdamState {
  return { m: [...s.m], v: [...s.v], t: s.t };
}

/**
 * The base of the loss balancers that learn nothing and hold no tensors (their weights come from
 * this step's losses or the run's random stream): no variables, an empty state, nothing to free.
 */
export abstract class StatelessLossBalancer {
  readonly kind = 'loss' as const;

  variables(): tf.Variable[] {
    return [];
  }
  getState(): Record<string, unknown> {
    return {};
  }
  setState(): void {
    // Nothing learned.
  }
  dispose(): void {
    // Nothing held.
  }
}
