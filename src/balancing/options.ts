import { MultilossError } from '../errors.js';

/**
 * The one reader of a balancing method's options (the loss-based strategies
 * and the gradient aggregators alike): every value checked against its range,
 * unknown keys refused, and one message format naming `balance.<option>`, the
 * method and the valid range or values:
 *   balance.<option> (method "<m>") must be <expected>, got <value>
 *   balance.<option> is not an option of balance.method "<m>"; valid options: …
 */
export class OptionReader {
  private readonly seen = new Set<string>();
  private readonly raw: Record<string, unknown>;

  /** `valid`: the method's option names, checked at once; without it, `done()` refuses the keys no reader asked for. */
  constructor(
    readonly method: string,
    raw: unknown,
    private readonly valid?: readonly string[],
  ) {
    if (raw === undefined || raw === null) raw = {};
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new MultilossError('config', `balance options for method "${method}" must be an object, got ${Array.isArray(raw) ? 'an array' : show(raw)}`);
    }
    this.raw = raw as Record<string, unknown>;
    if (valid) {
      for (const name of valid) this.seen.add(name);
      this.done();
    }
  }

  fail(name: string, expected: string, got: unknown): never {
    throw new MultilossError('config', `balance.${name} (method "${this.method}") must be ${expected}, got ${show(got)}`);
  }

  private get(name: string): unknown {
    this.seen.add(name);
    return this.raw[name];
  }

  /** A plain object (e.g. another method's options), or undefined. */
  object(name: string): Record<string, unknown> | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(name, 'an object', v);
    return v as Record<string, unknown>;
  }

  /** A finite number in [min, max] (open ends when the flags say so). */
  number(name: string, def: number, min: number, max = Infinity, opts: { minOpen?: boolean; maxOpen?: boolean } = {}): number {
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

  /**
   * One finite number per head: a single number for every head (unless
   * `byNameOnly`), or an object naming heads (heads not named get their entry
   * of `def`, or `def` itself); each ≥ `min` when given.
   */
  perHead(name: string, heads: readonly string[], def: number | readonly number[], opts: { min?: number; byNameOnly?: boolean } = {}): number[] {
    const v = this.get(name);
    const fallback = (h: number) => (typeof def === 'number' ? def : def[h]);
    if (v === undefined) return heads.map((_, h) => fallback(h));
    const number = opts.min === undefined ? 'finite numbers' : `finite numbers ≥ ${opts.min}`;
    const expected = `${opts.byNameOnly ? 'an object' : `a ${number.slice(0, -1)} or an object`} of ${number} by head name`;
    const valid = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && (opts.min === undefined || x >= opts.min);
    if (typeof v === 'number' && !opts.byNameOnly) {
      if (!valid(v)) this.fail(name, expected, v);
      return heads.map(() => v);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(name, expected, v);
    const byName = v as Record<string, unknown>;
    for (const [head, x] of Object.entries(byName)) {
      if (!heads.includes(head)) {
        throw new MultilossError('config', `balance.${name} names head "${head}", which does not exist; heads are: ${heads.join(', ')}`);
      }
      if (!valid(x)) this.fail(`${name}.${head}`, `a ${number.slice(0, -1)}`, x);
    }
    return heads.map((h, i) => (byName[h] === undefined ? fallback(i) : (byName[h] as number)));
  }

  /** Throws on keys no reader asked for (typos in configs). */
  done(): void {
    for (const key of Object.keys(this.raw)) {
      if (!this.seen.has(key) && this.raw[key] !== undefined) {
        const valid = this.valid ?? [...this.seen].sort();
        const list = valid.length ? `valid options: ${valid.join(', ')}` : 'it takes no options';
        throw new MultilossError('config', `balance.${key} is not an option of balance.method "${this.method}"; ${list}`);
      }
    }
  }
}

/** A value as a message shows it: strings quoted, long JSON cut short. */
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
export function checkTaskLength(method: string, name: string, v: readonly number[] | undefined, T: number): void {
  if (v !== undefined && v.length !== T) {
    throw new MultilossError('config', `balance.${name} (method "${method}") has ${v.length} entries but the gradient matrix has ${T} task rows`);
  }
}
