import { MultilossError } from '../../errors.js';
import type { AggregatorName } from './types.js';

/** Helpers the method modules use to check their options, one-line messages naming option and range. */
export class OptionReader {
  private readonly seen = new Set<string>();
  constructor(
    readonly method: AggregatorName,
    private readonly raw: Record<string, unknown>,
  ) {}

  fail(name: string, expected: string, got: unknown): never {
    throw new MultilossError('config', `aggregator '${this.method}': option '${name}' must be ${expected} (got ${show(got)})`);
  }

  private get(name: string): unknown {
    this.seen.add(name);
    return this.raw[name];
  }

  /** A finite number in [min, max] (open ends when the flags say so). */
  number(name: string, def: number, min: number, max: number, opts: { minOpen?: boolean; maxOpen?: boolean } = {}): number {
    const v = this.get(name);
    if (v === undefined) return def;
    const lo = min === -Infinity ? '(-∞' : `${opts.minOpen ? '(' : '['}${min}`;
    const hi = max === Infinity ? '∞)' : `${max}${opts.maxOpen ? ')' : ']'}`;
    const range = `a finite number in ${lo}, ${hi}`;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(name, range, v);
    if (v < min || v > max || (opts.minOpen && v === min) || (opts.maxOpen && v === max)) this.fail(name, range, v);
    return v;
  }

  integer(name: string, def: number, min: number, max: number): number {
    const v = this.get(name);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(name, `an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '2^53' : max}]`, v);
    }
    return v;
  }

  oneOf<V extends string | number>(name: string, def: V, values: readonly V[]): V {
    const v = this.get(name);
    if (v === undefined) return def;
    if (!values.includes(v as V)) this.fail(name, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v);
    return v as V;
  }

  /** A plain object (e.g. another method's options), or undefined. */
  object(name: string): Record<string, unknown> | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(name, 'an object', v);
    return v as Record<string, unknown>;
  }

  boolean(name: string, def: boolean): boolean {
    const v = this.get(name);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') this.fail(name, 'true or false', v);
    return v;
  }

  /** A non-empty array of finite numbers (each ≥ min when given). */
  numbers(name: string, min = -Infinity): number[] | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    const what = min === -Infinity ? 'a non-empty array of finite numbers' : `a non-empty array of finite numbers ≥ ${min}`;
    if (!Array.isArray(v) || v.length === 0) this.fail(name, what, v);
    for (const x of v) if (typeof x !== 'number' || !Number.isFinite(x) || x < min) this.fail(name, what, v);
    return [...(v as number[])];
  }

  /** A permutation of 0..n-1. */
  permutation(name: string): number[] | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    const what = 'a permutation of the task indices 0..T-1';
    if (!Array.isArray(v) || v.length === 0) this.fail(name, what, v);
    const n = v.length;
    const seen = new Set<number>();
    for (const x of v) {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= n || seen.has(x)) this.fail(name, what, v);
      seen.add(x);
    }
    return [...(v as number[])];
  }

  /** Throws on keys no reader asked for (typos in configs). */
  done(): void {
    for (const key of Object.keys(this.raw)) {
      if (!this.seen.has(key) && this.raw[key] !== undefined) {
        const valid = [...this.seen].sort();
        throw new MultilossError(
          'config',
          `aggregator '${this.method}': unknown option '${key}'` + (valid.length ? `; valid options: ${valid.join(', ')}` : '; it takes no options'),
        );
      }
    }
  }
}

export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? s.slice(0, 57) + '...' : s;
  } catch {
    return typeof v;
  }
}

/** Checks a length-T per-task vector option against the number of tasks. */
export function checkTaskLength(method: AggregatorName, name: string, v: readonly number[] | undefined, T: number): void {
  if (v !== undefined && v.length !== T) {
    throw new MultilossError('config', `aggregator '${method}': option '${name}' has ${v.length} entries but the gradient matrix has ${T} task rows`);
  }
}
