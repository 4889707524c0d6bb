import { MultilossError } from '../../errors.js';
import type { Table } from '../../data/table.js';
import { createLoss } from '../../losses/index.js';
import { createMetrics } from '../../metrics/index.js';
import type { HeadFactory } from './factory.js';
import type { EncodedTargets, Head, HeadJSON, HeadSpec } from './head.js';
import { readNumericTarget } from './numeric-target.js';

export const REGRESSION_LOSSES = ['mse', 'mae', 'huber', 'log_cosh'] as const;

/**
 * A real-valued target. Trained on the standardized value (z = (y − mean) / std,
 * statistics from the training split) so that its loss has a scale comparable
 * to the other heads'; the saved network outputs z, predictions are in y's unit.
 */
export class RegressionHead implements Head {
  readonly kind = 'regression' as const;
  readonly activation = 'linear' as const;
  readonly units = 1;
  readonly loss;
  constructor(
    readonly spec: HeadSpec,
    readonly mean: number,
    readonly std: number,
  ) {
    this.loss = createLoss(spec.loss ?? 'mse', REGRESSION_LOSSES, spec.lossOptions ?? {}, `head "${spec.name}"`);
  }
  get name(): string {
    return this.spec.name;
  }

  encode(table: Table): EncodedTargets {
    const { values, mask, weight } = readNumericTarget(table, this.spec);
    const y = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) y[i] = mask[i] ? (values[i] - this.mean) / this.std : 0;
    return { y, yMetric: values, mask, weight };
  }

  toMetricSpace(output: Float32Array): Float32Array {
    const out = new Float32Array(output.length);
    for (let i = 0; i < output.length; i++) out[i] = output[i] * this.std + this.mean;
    return out;
  }

  decode(output: Float32Array, row: number): number {
    return output[row] * this.std + this.mean;
  }

  createMetrics() {
    return createMetrics('regression');
  }

  toJSON(): HeadJSON {
    return { spec: this.spec, mean: this.mean, std: this.std };
  }
}

export const regressionFactory: HeadFactory = {
  kind: 'regression',
  losses: REGRESSION_LOSSES,
  fit(spec: HeadSpec, train: Table) {
    if (spec.classWeights !== undefined) throw new MultilossError('config', `head "${spec.name}": classWeights is only for classification and binary heads`);
    const { values, mask } = readNumericTarget(train, spec);
    let n = 0;
    let sum = 0;
    for (let i = 0; i < values.length; i++) {
      if (mask[i]) {
        n++;
        sum += values[i];
      }
    }
    if (n === 0) throw new MultilossError('data', `${train.source}: target column "${spec.column}" (head "${spec.name}") has no value in the training rows`);
    const mean = sum / n;
    let ss = 0;
    for (let i = 0; i < values.length; i++) if (mask[i]) ss += (values[i] - mean) ** 2;
    const std = Math.sqrt(ss / n);
    return new RegressionHead(spec, mean, std > 0 && Number.isFinite(std) ? std : 1);
  },
  fromJSON(json: HeadJSON) {
    if (typeof json.mean !== 'number' || typeof json.std !== 'number' || !(json.std > 0)) {
      throw new MultilossError('model', `head "${json.spec.name}": mean/std missing or invalid in multiloss.json`);
    }
    return new RegressionHead(json.spec, json.mean, json.std);
  },
  validationFigure: { type: 'scatter', metrics: ['rmse', 'r2'] },
};
