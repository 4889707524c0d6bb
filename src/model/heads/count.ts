import { MultilossError } from '../../errors.js';
import type { Table } from '../../data/table.js';
import { createLoss } from '../../losses/index.js';
import { createMetrics } from '../../metrics/index.js';
import type { HeadFactory } from './factory.js';
import type { EncodedTargets, Head, HeadJSON, HeadSpec } from './head.js';
import { readNumericTarget } from './numeric-target.js';

export const COUNT_LOSSES = ['poisson'] as const;

/**
 * A non-negative count with a Poisson model and log link: the network outputs
 * η = log μ (tfjs-layers has no exponential activation, so the saved network's
 * raw output is the log-rate); predictions are the expected count μ = e^η.
 */
export class CountHead implements Head {
  readonly kind = 'count' as const;
  readonly activation = 'linear' as const;
  readonly units = 1;
  readonly loss;
  constructor(readonly spec: HeadSpec) {
    this.loss = createLoss(spec.loss ?? 'poisson', COUNT_LOSSES, spec.lossOptions ?? {}, `head "${spec.name}"`);
  }
  get name(): string {
    return this.spec.name;
  }

  encode(table: Table): EncodedTargets {
    const { values, mask, weight } = readNumericTarget(table, this.spec, (v) => (v < 0 ? `count ${v} is negative (head "${this.name}")` : null));
    return { y: values, yMetric: values, mask, weight };
  }

  toMetricSpace(output: Float32Array): Float32Array {
    return output.map(Math.exp);
  }

  decode(output: Float32Array, row: number): number {
    return Math.exp(output[row]);
  }

  createMetrics() {
    return createMetrics('count');
  }

  toJSON(): HeadJSON {
    return { spec: this.spec };
  }
}

export const countFactory: HeadFactory = {
  kind: 'count',
  losses: COUNT_LOSSES,
  fit(spec: HeadSpec, train: Table) {
    if (spec.classWeights !== undefined) throw new MultilossError('config', `head "${spec.name}": classWeights is only for classification and binary heads`);
    new CountHead(spec).encode(train); // validates the column now, at configuration time
    return new CountHead(spec);
  },
  fromJSON(json: HeadJSON) {
    return new CountHead(json.spec);
  },
  validationFigure: { type: 'scatter', metrics: ['mae'] },
};
