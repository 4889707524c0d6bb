import { MultilossError } from '../../errors.js';
import type { Cell, Table } from '../../data/table.js';
import { numberReader } from '../../data/column.js';
import { BEYOND_FLOAT32, beyondFloat32, parseNumber } from '../../data/infer.js';
import { columnIndex, describeRow, sampleWeights, type HeadSpec } from './head.js';

/**
 * Reads a numeric target column: missing cells get mask 0; anything else that
 * is not a finite number is an error naming the row and the value.
 */
export function readNumericTarget(
  table: Table,
  spec: HeadSpec,
  check?: (v: number) => string | null,
): { values: Float32Array; mask: Float32Array; weight: Float32Array } {
  const n = table.length;
  const idx = columnIndex(table, spec.column, `target (head "${spec.name}")`);
  const values = new Float32Array(n);
  const mask = new Float32Array(n);
  // Without sample weights a row's weight is its mask: one array, not two equal ones.
  const weight = spec.sampleWeight ? sampleWeights(table, spec, parseNumber) : mask;
  const column = table.data[idx];
  const numberOf = numberReader(column);
  for (let i = 0; i < n; i++) {
    // The stored number when there is one (what parseNumber gives for its cell); the cell only for the rest.
    const v = numberOf(i);
    const cell = (): Cell => column.get(i);
    if (v === null) {
      const c = cell();
      if (c === null || (typeof c === 'string' && c.trim() === '') || (typeof c === 'number' && Number.isNaN(c))) {
        weight[i] = 0;
        continue;
      }
      throw new MultilossError('data', `${describeRow(table, i)}, column "${spec.column}": ${JSON.stringify(cell())} is not a number (head "${spec.name}" is ${spec.kind})`);
    }
    // Targets are trained as float32: a value beyond its range would become an infinite loss, not an error.
    if (beyondFloat32(v)) {
      throw new MultilossError('data', `${describeRow(table, i)}, column "${spec.column}": ${JSON.stringify(cell())} ${BEYOND_FLOAT32} (head "${spec.name}")`);
    }
    const problem = check?.(v);
    if (problem) throw new MultilossError('data', `${describeRow(table, i)}, column "${spec.column}": ${problem}`);
    values[i] = v;
    mask[i] = 1;
  }
  return { values, mask, weight };
}
