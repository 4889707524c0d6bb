/**
 * Parsing and checking of `architecture:` options. Errors name the option
 * (`architecture.<key>`) and what was expected, in one line.
 */
import { DenseBlockSchema, resolveBlock, type DenseBlockSpec } from '../blocks.js';
import { MultilossError } from '../../errors.js';
import type { OutputSpec } from '../trainable-network.js';
import type { ArchitectureSpec } from './registry.js';
import { isImageLayer } from './stack.js';

export function checkKeys(spec: ArchitectureSpec, allowed: readonly string[]): void {
  for (const key of Object.keys(spec)) {
    if (key === 'kind' || allowed.includes(key)) continue;
    const options = allowed.length ? `its options: ${allowed.join(', ')}` : 'it has no options';
    throw new MultilossError('config', `architecture.${key}: not an option of architecture "${spec.kind}" (${options})`);
  }
}

/** A whole number ≥ `min` (default `fallback`). */
export function intOption(spec: ArchitectureSpec, key: string, fallback: number, min: number): number {
  const v = spec[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new MultilossError('config', `architecture.${key}: expected a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function numberOption(spec: ArchitectureSpec, key: string, fallback: number, min: number, max: number): number {
  const v = spec[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v >= min && v <= max)) {
    throw new MultilossError('config', `architecture.${key}: expected a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A list of blocks (numbers of units or block objects, as in model.trunk). */
export function parseBlocks(value: unknown, where: string): DenseBlockSpec[] {
  if (!Array.isArray(value)) throw new MultilossError('config', `${where}: expected a list of blocks (numbers of units or { units, … } objects), got ${JSON.stringify(value)}`);
  return value.map((b, i) => {
    const r = DenseBlockSchema.safeParse(b);
    if (!r.success) {
      const issue = r.error.issues[0];
      const path = issue.path.length ? `.${issue.path.join('.')}` : '';
      throw new MultilossError('config', `${where}[${i}]${path}: ${issue.message}`);
    }
    return resolveBlock(r.data, `${where}[${i}]`);
  });
}

/** Blocks option `key`, or `fallback` (model.trunk) when absent. */
export function blocksOption(spec: ArchitectureSpec, key: string, fallback: readonly DenseBlockSpec[]): DenseBlockSpec[] {
  const v = spec[key];
  return v === undefined ? [...fallback] : parseBlocks(v, `architecture.${key}`);
}

/**
 * A per-head option: one value for every head, or an object keyed by head
 * name (heads left out get `fallback`). With `outputs` given, every key must
 * name a head.
 */
export function perHead<T>(spec: ArchitectureSpec, key: string, parse: (v: unknown, where: string) => T, fallback: T, outputs?: readonly OutputSpec[]): T[] | undefined {
  const v = spec[key];
  if (v === undefined) return outputs ? outputs.map(() => fallback) : undefined;
  const keyed = typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!keyed) {
    const one = parse(v, `architecture.${key}`);
    return outputs ? outputs.map(() => one) : undefined;
  }
  const entries = Object.entries(v as Record<string, unknown>);
  const parsed = new Map(entries.map(([name, x]) => [name, parse(x, `architecture.${key}.${name}`)]));
  if (!outputs) return undefined;
  for (const name of parsed.keys()) {
    if (!outputs.some((o) => o.name === name)) {
      throw new MultilossError('config', `architecture.${key}.${name}: there is no head named "${name}" (heads: ${outputs.map((o) => o.name).join(', ')})`);
    }
  }
  return outputs.map((o) => (parsed.has(o.name) ? (parsed.get(o.name) as T) : fallback));
}

/** `towers`: dense blocks owned by one head, between the shared part and its output layer. */
export function towersOption(spec: ArchitectureSpec, outputs?: readonly OutputSpec[]): DenseBlockSpec[][] | undefined {
  return perHead(
    spec,
    'towers',
    (v, where) => {
      const blocks = parseBlocks(v, where);
      blocks.forEach((b, i) => {
        if (isImageLayer(b)) throw new MultilossError('config', `${where}[${i}]: a tower holds dense blocks only (it reads a flat representation)`);
      });
      return blocks;
    },
    [] as DenseBlockSpec[],
    outputs,
  );
}

export function intParser(min: number): (v: unknown, where: string) => number {
  return (v, where) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new MultilossError('config', `${where}: expected a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
}

/** Blocks that need a flat input (everything after the first level): the dense tail of `blocks`. */
export function denseTail(blocks: readonly DenseBlockSpec[]): DenseBlockSpec[] {
  let last = -1;
  blocks.forEach((b, i) => {
    if (isImageLayer(b)) last = i;
  });
  return blocks.slice(last + 1);
}

export function booleanOption(spec: ArchitectureSpec, key: string, fallback: boolean): boolean {
  const v = spec[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new MultilossError('config', `architecture.${key}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** A finite number > 0 or ≥ 0 (default `fallback`). */
export function signedOption(spec: ArchitectureSpec, key: string, fallback: number, bound: '> 0' | '≥ 0'): number {
  const v = spec[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (bound === '> 0' && v === 0)) {
    throw new MultilossError('config', `architecture.${key}: expected a number ${bound}, got ${JSON.stringify(v)}`);
  }
  return v;
}
