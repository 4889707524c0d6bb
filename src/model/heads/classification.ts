import { MultilossError } from '../../errors.js';
import type { Table } from '../../data/table.js';
import { mapCells } from '../../data/column.js';
import { createLoss } from '../../losses/index.js';
import { createMetrics } from '../../metrics/index.js';
import { parseNumber } from '../../data/infer.js';
import { discoverClasses, resolveClassWeights, unknownClassError } from './classes.js';
import type { HeadFactory } from './factory.js';
import { argmaxRow } from '../../metrics/shape.js';
import {
  cellLabel,
  columnIndex,
  describeRow,
  sampleWeights,
  type ClassificationPrediction,
  type EncodedTargets,
  type Head,
  type HeadJSON,
  type HeadSpec,
} from './head.js';

export const CLASSIFICATION_LOSSES = ['crossentropy'] as const;

/** Single-label classification over K ≥ 2 classes: softmax output, cross-entropy loss. */
export class ClassificationHead implements Head {
  readonly kind = 'classification' as const;
  readonly activation = 'softmax' as const;
  readonly units: number;
  readonly loss;
  constructor(
    readonly spec: HeadSpec,
    readonly classes: string[],
    readonly classWeights?: Record<string, number>,
  ) {
    if (classes.length < 2) {
      throw new MultilossError('data', `head "${spec.name}": column "${spec.column}" has ${classes.length} class${classes.length === 1 ? ` ("${classes[0]}")` : 'es'}; classification needs at least 2`);
    }
    this.units = classes.length;
    this.loss = createLoss(spec.loss ?? 'crossentropy', CLASSIFICATION_LOSSES, spec.lossOptions ?? {}, `head "${spec.name}"`);
  }
  get name(): string {
    return this.spec.name;
  }

  encode(table: Table): EncodedTargets {
    const n = table.length;
    const k = this.units;
    const idx = columnIndex(table, this.spec.column, `target (head "${this.name}")`);
    const index = new Map(this.classes.map((c, i) => [c, i]));
    const y = new Float32Array(n * k);
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
      const c = index.get(label);
      if (c === undefined) throw unknownClassError(table, describeRow(table, i), this.spec, label, this.classes);
      y[i * k + c] = 1;
      mask[i] = 1;
      if (this.classWeights) weight[i] *= this.classWeights[label];
    }
    return { y, yMetric: y, mask, weight };
  }

  toMetricSpace(output: Float32Array): Float32Array {
    return output;
  }

  decode(output: Float32Array, row: number): ClassificationPrediction {
    const k = this.units;
    const probabilities: Record<string, number> = {};
    let best = 0;
    for (let c = 0; c < k; c++) {
      const p = output[row * k + c];
      probabilities[this.classes[c]] = p;
      if (p > output[row * k + best]) best = c;
    }
    return { label: this.classes[best], probabilities };
  }

  createMetrics() {
    return createMetrics('classification');
  }

  toJSON(): HeadJSON {
    return { spec: this.spec, classes: this.classes, classWeights: this.classWeights };
  }
}

export const classificationFactory: HeadFactory = {
  kind: 'classification',
  losses: CLASSIFICATION_LOSSES,
  fit(spec, train, all) {
    const classes = discoverClasses(spec, all);
    const idx = columnIndex(train, spec.column, `target (head "${spec.name}")`);
    const counts = classes.map(() => 0);
    const labelAt = mapCells(train.data[idx], cellLabel);
    for (let i = 0; i < train.length; i++) {
      const l = labelAt(i);
      const k = l === null ? -1 : classes.indexOf(l);
      if (k >= 0) counts[k]++;
    }
    return new ClassificationHead(spec, classes, resolveClassWeights(spec, classes, counts));
  },
  fromJSON(json: HeadJSON) {
    if (!json.classes) throw new MultilossError('model', `head "${json.spec.name}": classes missing in multiloss.json`);
    return new ClassificationHead(json.spec, json.classes, json.classWeights);
  },
  validationFigure: { type: 'confusion', metrics: ['accuracy'], classOf: (values, row, head) => argmaxRow(values, row, head.units) },
};
