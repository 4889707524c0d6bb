/**
 * Shared pieces of the property-based tests: the contract every target must
 * keep ("a result or a MultilossError, never another exception, a hang or a
 * silent NaN"), string mutations, and run counts.
 *
 * FUZZ_SEED fixes the seed (default: a constant, so CI is reproducible);
 * FUZZ_SCALE multiplies every run count (e.g. FUZZ_SCALE=10 for a deep local run).
 */
import * as fc from 'fast-check';
import { MultilossError } from '../../src/errors.js';

export const SEED = Number(process.env.FUZZ_SEED ?? 424242);
export const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
export const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));

/** A case slower than this is reported as a (near-)hang. */
export const CASE_BUDGET_MS = 2000;

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: MultilossError };

/**
 * Runs `fn`; a MultilossError is an accepted outcome, any other exception fails
 * the property (fast-check then shrinks the input). A case over the time budget fails too.
 */
export function outcome<T>(fn: () => T, what = 'case'): Outcome<T> {
  const t0 = performance.now();
  let result: Outcome<T>;
  try {
    result = { ok: true, value: fn() };
  } catch (e) {
    result = rejected(e, what);
  }
  checkTime(t0, what);
  return result;
}

export async function outcomeAsync<T>(fn: () => Promise<T>, what = 'case'): Promise<Outcome<T>> {
  const t0 = performance.now();
  let result: Outcome<T>;
  try {
    result = { ok: true, value: await fn() };
  } catch (e) {
    result = rejected(e, what);
  }
  checkTime(t0, what);
  return result;
}

function rejected(e: unknown, what: string): Outcome<never> {
  if (!(e instanceof MultilossError)) {
    throw new Error(`${what}: threw ${(e as Error)?.name ?? typeof e} instead of a MultilossError: ${(e as Error)?.stack ?? String(e)}`, { cause: e });
  }
  if (/\n/.test(e.message)) throw new Error(`${what}: MultilossError message spans lines: ${e.message}`, { cause: e });
  return { ok: false, error: e };
}

function checkTime(t0: number, what: string): void {
  const ms = performance.now() - t0;
  if (ms > CASE_BUDGET_MS) throw new Error(`${what}: took ${ms.toFixed(0)} ms (budget ${CASE_BUDGET_MS} ms)`);
}

/** One edit of a string: position and length as fractions, so they fit any string. */
export interface Edit {
  kind: 'insert' | 'delete' | 'replace' | 'truncate' | 'duplicate' | 'swap';
  at: number;
  len: number;
  text: string;
}

export function editArb(alphabet: fc.Arbitrary<string>): fc.Arbitrary<Edit> {
  return fc.record({
    kind: fc.constantFrom('insert', 'delete', 'replace', 'truncate', 'duplicate', 'swap'),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    len: fc.double({ min: 0, max: 0.3, noNaN: true }),
    text: fc.string({ unit: alphabet, maxLength: 4 }),
  }) as fc.Arbitrary<Edit>;
}

export function applyEdits(text: string, edits: readonly Edit[]): string {
  let s = text;
  for (const e of edits) {
    const at = Math.floor(e.at * s.length);
    const len = Math.max(1, Math.floor(e.len * s.length));
    switch (e.kind) {
      case 'insert':
        s = s.slice(0, at) + e.text + s.slice(at);
        break;
      case 'delete':
        s = s.slice(0, at) + s.slice(at + len);
        break;
      case 'replace':
        s = s.slice(0, at) + e.text + s.slice(at + Math.min(len, e.text.length || 1));
        break;
      case 'truncate':
        s = s.slice(0, at);
        break;
      case 'duplicate':
        s = s.slice(0, at + len) + s.slice(at, at + len) + s.slice(at + len);
        break;
      case 'swap': {
        const b = Math.floor(((e.at + 0.37) % 1) * s.length);
        const [i, j] = at < b ? [at, b] : [b, at];
        if (i !== j) s = s.slice(0, i) + s[j] + s.slice(i + 1, j) + s[i] + s.slice(j + 1);
        break;
      }
    }
  }
  return s;
}

/** Every number in a (nested) value is finite. */
export function allFinite(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.prototype.every.call(v, allFinite) as boolean;
  if (v && typeof v === 'object') return Object.values(v).every(allFinite);
  return true;
}

/** Logged at the end of a target, so the report can quote the counts. */
export function summary(target: string, counts: Record<string, number>, ms: number): void {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  process.stderr.write(`fuzz ${target}: ${total} cases (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}) in ${(ms / 1000).toFixed(1)} s\n`);
}
