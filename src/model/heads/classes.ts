import { MultilossError } from '../../errors.js';
import type { Table } from '../../data/table.js';
import { mapCells } from '../../data/column.js';
import { cellLabel, columnIndex, type HeadSpec } from './head.js';

/** The class list of a head: the configured one, or the sorted distinct labels seen in `table`. */
export function discoverClasses(spec: HeadSpec, table: Table, split?: (label: string) => string[]): string[] {
  if (spec.classes) {
    const seen = new Set<string>();
    for (const c of spec.classes) {
      const key = c.trim();
      if (seen.has(key)) throw new MultilossError('config', `head "${spec.name}": class "${c}" is listed twice`);
      seen.add(key);
    }
    return spec.classes.map((c) => c.trim());
  }
  const idx = columnIndex(table, spec.column, `target (head "${spec.name}")`);
  const found = new Set<string>();
  const labelAt = mapCells(table.data[idx], cellLabel);
  for (let i = 0; i < table.length; i++) {
    const label = labelAt(i);
    if (label === null) continue;
    for (const l of split ? split(label) : [label]) found.add(l);
  }
  const classes = [...found].sort();
  // Labels that differ only by case are almost always a data-entry error, not two classes.
  const lower = new Map<string, string>();
  for (const c of classes) {
    const prev = lower.get(c.toLowerCase());
    if (prev !== undefined) {
      throw new MultilossError('data', `${table.source}: column "${spec.column}" has classes "${prev}" and "${c}" that differ only by case; clean the data or list "classes" for head "${spec.name}"`);
    }
    lower.set(c.toLowerCase(), c);
  }
  return classes;
}

/** Resolves configured class weights ('balanced' or a map) into one weight per class. */
export function resolveClassWeights(
  spec: HeadSpec,
  classes: readonly string[],
  counts: readonly number[],
): Record<string, number> | undefined {
  const cw = spec.classWeights;
  if (cw === undefined) return undefined;
  const out: Record<string, number> = {};
  if (cw === 'balanced') {
    const total = counts.reduce((a, b) => a + b, 0);
    classes.forEach((c, k) => {
      out[c] = counts[k] > 0 ? total / (classes.length * counts[k]) : 1;
    });
    return out;
  }
  for (const [name, w] of Object.entries(cw)) {
    if (!classes.includes(name)) {
      throw new MultilossError('config', `head "${spec.name}": classWeights names class "${name}", which is not one of: ${classes.join(', ')}`);
    }
    if (!Number.isFinite(w) || w < 0) {
      throw new MultilossError('config', `head "${spec.name}": classWeights.${name} must be a finite number ≥ 0, got ${w}`);
    }
  }
  for (const c of classes) out[c] = cw[c] ?? 1;
  return out;
}

export function unknownClassError(table: Table, rowText: string, spec: HeadSpec, label: string, classes: readonly string[]): MultilossError {
  const known = classes.slice(0, 20).join(', ') + (classes.length > 20 ? ', …' : '');
  return new MultilossError('data', `${rowText}, column "${spec.column}": class "${label}" was not seen in training (head "${spec.name}" knows: ${known})`);
}
