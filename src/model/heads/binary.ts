import { MultilossError } from '../../errors.js';
import type { Table } from '../../data/table.js';
import { mapCells } from '../../data/column.js';
import { parseNumber } from '../../data/infer.js';
import { createLoss } from '../../losses/index.js';
import { createMetrics } from '../../metrics/index.js';
import { discoverClasses, resolveClassWeights, unknownClassError } from './classes.js';
import type { HeadFactory } from './factory.js';
import {
  cellLabel,
  columnIndex,
  describeRow,
  sampleWeights,
  type BinaryPrediction,
  type EncodedTargets,
  type Head,
  type HeadJSON,
  type HeadSpec,
} from './head.js';

export const BINARY_LOSSES = ['binary_crossentropy', 'focal'] as const;

/**
 * Yes/no target: one sigmoid unit giving P(positive class). `classes` is
 * [negative, positive].
 */
export class BinaryHead implements Head {
  readonly kind = 'binary' as const;
  readonly activation = 'sigmoid' as const;
  readonly units = 1;
  readonly loss;
  readonly threshold: number;
  constructor(
    readonly spec: HeadSpec,
    readonly classes: [string, string],
    readonly classWeights?: Record<string, number>,
  ) {
    this.loss = createLoss(spec.loss ?? 'binary_crossentropy', BINARY_LOSSES, spec.lossOptions ?? {}, `head "${spec.name}"`);
    this.threshold = spec.threshold ?? 0.5;
  }
  get name(): string {
    return this.spec.name;
  }

  encode(table: Table): EncodedTargets {
    const n = table.length;
    const idx = columnIndex(table, this.spec.column, `target (head "${this.name}")`);
    const y = new Float32Array(n);
    const mask = new Float32Array(n);
    // Without sample or class weights a row's weight is its mask: one array, not two equal ones.
    const weight = this.spec.sampleWeight || this.classWeights ? sampleWeights(table, this.spec, parseNumber) : mask;
    const labelAt = mapCells(table.data[idx], cellLabel);
    for (let i = 0; i < n; i++) {
      const label = labelAt(i);
      if (label === null) {
        weight[i] = 0;
        continue;
      }
      const c = this.classes.indexOf(label);
      if (c < 0) throw unknownClassError(table, describeRow(table, i), this.spec, label, this.classes);
      y[i] = c;
      mask[i] = 1;
      if (this.classWeights) weight[i] *= this.classWeights[label];
    }
    return { y, yMetric: y, mask, weight };
  }

  toMetricSpace(output: Float32Array): Float32Array {
    return output;
  }

  decode(output: Float32Array, row: number): BinaryPrediction {
    const p = output[row];
    const positive = p >= this.threshold;
    const [neg, pos] = this.classes;
    return { label: positive ? pos : neg, probability: positive ? p : 1 - p, probabilities: { [neg]: 1 - p, [pos]: p } };
  }

  createMetrics() {
    return createMetrics('binary', { threshold: this.threshold });
  }

  toJSON(): HeadJSON {
    return { spec: this.spec, classes: this.classes, classWeights: this.classWeights };
  }
}

/** Which of two classes is "positive": the configured one, true, 1, yes, else the later in sort order. */
function orderClasses(spec: HeadSpec, classes: string[]): [string, string] {
  let pos: string | undefined = spec.positive?.trim();
  if (pos !== undefined && !classes.includes(pos)) {
    throw new MultilossError('config', `head "${spec.name}": positive class "${pos}" is not one of: ${classes.join(', ')}`);
  }
  if (pos === undefined) {
    pos = classes.find((c) => ['true', '1', 'yes'].includes(c.toLowerCase())) ?? classes[1];
  }
  const neg = classes.find((c) => c !== pos) as string;
  return [neg, pos];
}

export const binaryFactory: HeadFactory = {
  kind: 'binary',
  losses: BINARY_LOSSES,
  fit(spec, train, all) {
    const classes = discoverClasses(spec, all);
    if (classes.length !== 2) {
      throw new MultilossError('data', `head "${spec.name}": a binary head needs exactly 2 classes, column "${spec.column}" has ${classes.length}${classes.length ? ` (${classes.slice(0, 10).join(', ')})` : ''}`);
    }
    const ordered = orderClasses(spec, classes);
    const idx = columnIndex(train, spec.column, `target (head "${spec.name}")`);
    const counts = [0, 0];
    const labelAt = mapCells(train.data[idx], cellLabel);
    for (let i = 0; i < train.length; i++) {
      const l = labelAt(i);
      if (l !== null) counts[ordered.indexOf(l)]++;
    }
    return new BinaryHead(spec, ordered, resolveClassWeights(spec, ordered, counts));
  },
  fromJSON(json: HeadJSON) {
    const c = json.classes;
    if (!c || c.length !== 2) throw new MultilossError('model', `head "${json.spec.name}": multiloss.json must list 2 classes`);
    return new BinaryHead(json.spec, [c[0], c[1]], json.classWeights);
  },
  // Targets are 0/1; outputs are the positive class's probability, cut at the head's threshold.
  validationFigure: { type: 'confusion', metrics: ['accuracy'], classOf: (values, row, head, side) => ((side === 'actual' ? values[row] > 0.5 : values[row] >= (head.spec.threshold ?? 0.5)) ? 1 : 0) },
};
