import * as tf from '@tensorflow/tfjs-core';
import { untaped } from '../../engine/tidy.js';
import { MultilossError } from '../../errors.js';

/**
 * Shared pieces of the loss-based strategies: option checking with one-line
 * messages, a plain-JS Adam for the few numbers a strategy learns itself,
 * a stop-gradient for use inside the tape, and state validation.
 */

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
}

/** Reads a strategy's options; every message names `balance.<option>` and its valid range. */
export class StrategyOptions {
  private readonly raw: Record<string, unknown>;

  constructor(
    readonly method: string,
    raw: unknown,
    readonly valid: readonly string[],
  ) {
    if (raw === undefined || raw === null) raw = {};
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new MultilossError('config', `balance options for method "${method}" must be an object, got ${show(raw)}`);
    }
    this.raw = raw as Record<string, unknown>;
    for (const [key, value] of Object.entries(this.raw)) {
      if (value === undefined) continue;
      if (!valid.includes(key)) {
        const list = valid.length ? `valid options: ${valid.join(', ')}` : 'it takes no options';
        throw new MultilossError('config', `balance.${key} is not an option of balance.method "${method}"; ${list}`);
      }
    }
  }

  fail(name: string, expected: string, got: unknown): never {
    throw new MultilossError('config', `balance.${name} (method "${this.method}") must be ${expected}, got ${show(got)}`);
  }

  /** A finite number in the range; `exclusiveMin` makes the lower end open. */
  number(name: string, def: number, min: number, max = Infinity, exclusiveMin = false): number {
    const v = this.raw[name];
    if (v === undefined) return def;
    const lo = exclusiveMin ? `> ${min}` : `≥ ${min}`;
    const range = max === Infinity ? `a finite number ${lo}` : `a finite number ${lo} and ≤ ${max}`;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (exclusiveMin && v === min)) this.fail(name, range, v);
    return v;
  }

  oneOf<V extends string>(name: string, def: V, values: readonly V[]): V {
    const v = this.raw[name];
    if (v === undefined) return def;
    if (!values.includes(v as V)) this.fail(name, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v);
    return v as V;
  }

  /**
   * One finite number per head: a single number for every head, or an object
   * naming heads (heads not named get `def`).
   */
  perHead(name: string, heads: readonly string[], def: number): number[] {
    const v = this.raw[name];
    if (v === undefined) return heads.map(() => def);
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) this.fail(name, 'a finite number or an object of finite numbers by head name', v);
      return heads.map(() => v);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(name, 'a finite number or an object of finite numbers by head name', v);
    const byName = v as Record<string, unknown>;
    for (const [head, x] of Object.entries(byName)) {
      if (!heads.includes(head)) {
        throw new MultilossError('config', `balance.${name} names head "${head}", which does not exist; heads are: ${heads.join(', ')}`);
      }
      if (typeof x !== 'number' || !Number.isFinite(x)) this.fail(`${name}.${head}`, 'a finite number', x);
    }
    return heads.map((h) => (byName[h] === undefined ? def : (byName[h] as number)));
  }
}

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
