import { MultilossError } from '../../errors.js';
import type { Table } from '../../data/table.js';
import { parseNumber } from '../../data/infer.js';
import { createLoss } from '../../losses/index.js';
import { createMetrics } from '../../metrics/index.js';
import { discoverClasses, unknownClassError } from './classes.js';
import type { HeadFactory } from './factory.js';
import {
  cellLabel,
  columnIndex,
  describeRow,
  sampleWeights,
  type EncodedTargets,
  type Head,
  type HeadJSON,
  type HeadSpec,
  type MultilabelPrediction,
} from './head.js';

export const MULTILABEL_LOSSES = ['binary_crossentropy', 'focal'] as const;

/**
 * Any subset of L labels: one independent sigmoid per label. A cell holds the
 * labels joined by `separator` (default "|"); an empty cell is a missing label.
 */
export class MultilabelHead implements Head {
  readonly kind = 'multilabel' as const;
  readonly activation = 'sigmoid' as const;
  readonly units: number;
  readonly loss;
  readonly threshold: number;
  constructor(
    readonly spec: HeadSpec,
    readonly classes: string[],
  ) {
    if (classes.length < 1) throw new MultilossError('data', `head "${spec.name}": column "${spec.column}" has no labels`);
    this.units = classes.length;
    this.loss = createLoss(spec.loss ?? 'binary_crossentropy', MULTILABEL_LOSSES, spec.lossOptions ?? {}, `head "${spec.name}"`);
    this.threshold = spec.threshold ?? 0.5;
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
    const weight = sampleWeights(table, this.spec, parseNumber);
    for (let i = 0; i < n; i++) {
      const cell = cellLabel(table.data[idx].get(i));
      if (cell === null) {
        weight[i] = 0;
        continue;
      }
      for (const label of splitLabels(cell, this.spec)) {
        const c = index.get(label);
        if (c === undefined) throw unknownClassError(table, describeRow(table, i), this.spec, label, this.classes);
        y[i * k + c] = 1;
      }
      mask[i] = 1;
    }
    return { y, yMetric: y, mask, weight };
  }

  toMetricSpace(output: Float32Array): Float32Array {
    return output;
  }

  decode(output: Float32Array, row: number): MultilabelPrediction {
    const k = this.units;
    const probabilities: Record<string, number> = {};
    const labels: string[] = [];
    for (let c = 0; c < k; c++) {
      const p = output[row * k + c];
      probabilities[this.classes[c]] = p;
      if (p >= this.threshold) labels.push(this.classes[c]);
    }
    return { labels, probabilities };
  }

  createMetrics() {
    return createMetrics('multilabel', { threshold: this.threshold });
  }

  toJSON(): HeadJSON {
    return { spec: this.spec, classes: this.classes };
  }
}

function splitLabels(cell: string, spec: HeadSpec): string[] {
  return cell
    .split(spec.separator ?? '|')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export const multilabelFactory: HeadFactory = {
  kind: 'multilabel',
  losses: MULTILABEL_LOSSES,
  fit(spec, _train, all) {
    if (spec.classWeights !== undefined) throw new MultilossError('config', `head "${spec.name}": classWeights is not supported for multilabel heads`);
    return new MultilabelHead(spec, discoverClasses(spec, all, (l) => splitLabels(l, spec)));
  },
  fromJSON(json: HeadJSON) {
    if (!json.classes) throw new MultilossError('model', `head "${json.spec.name}": classes missing in multiloss.json`);
    return new MultilabelHead(json.spec, json.classes);
  },
};
