/**
 * Streaming metrics for every head kind, and the factory the heads use.
 */
import { MultilossError } from '../errors.js';
import type { StreamingMetric } from './metric.js';
import { Accuracy, LogLoss, MacroF1 } from './classification.js';
import { BinaryAccuracy, BinaryF1, RocAuc } from './binary.js';
import { MicroF1, MacroF1 as MultilabelMacroF1 } from './multilabel.js';
import { Mae, R2, Rmse } from './regression.js';
import { PoissonDeviance } from './count.js';

export type { StreamingMetric } from './metric.js';
export { Accuracy, LogLoss, MacroF1, LOG_LOSS_EPSILON } from './classification.js';
export { BinaryAccuracy, BinaryF1, RocAuc } from './binary.js';
export { MicroF1, MultilabelMacroF1 };
export { Mae, R2, Rmse } from './regression.js';
export { PoissonDeviance, POISSON_MU_EPSILON } from './count.js';

export type MetricKind = 'classification' | 'binary' | 'multilabel' | 'regression' | 'count';

export interface MetricOptions {
  /** Decision threshold for binary and multilabel metrics (default 0.5). */
  threshold?: number;
}

/**
 * Fresh metrics for one head kind:
 * classification → accuracy, macro_f1, log_loss;
 * binary → accuracy, f1, roc_auc;
 * multilabel → micro_f1, macro_f1;
 * regression → rmse, mae, r2;
 * count → mae, poisson_deviance.
 */
export function createMetrics(kind: MetricKind, options: MetricOptions = {}): StreamingMetric[] {
  return [...builtInMetrics(kind, options), ...metricsForKind(kind)];
}

function builtInMetrics(kind: MetricKind, options: MetricOptions): StreamingMetric[] {
  const threshold = options.threshold ?? 0.5;
  switch (kind) {
    case 'classification':
      return [new Accuracy(), new MacroF1(), new LogLoss()];
    case 'binary':
      return [new BinaryAccuracy(threshold), new BinaryF1(threshold), new RocAuc()];
    case 'multilabel':
      return [new MicroF1(threshold), new MultilabelMacroF1(threshold)];
    case 'regression':
      return [new Rmse(), new Mae(), new R2()];
    case 'count':
      return [new Mae(), new PoissonDeviance()];
    default: {
      const never: never = kind;
      throw new RangeError(`createMetrics: unknown kind ${String(never)}`);
    }
  }
}

export interface RegisterMetricOptions {
  /** Head kinds (built-in or registered) that get this metric by default, e.g. in config files. */
  kinds?: readonly string[];
}

const REGISTERED = new Map<string, { create: () => StreamingMetric; kinds: readonly string[] }>();

/**
 * Registers a streaming metric under `name`: `create` returns a fresh instance
 * (its `name` is what logs show). Heads of the `kinds` listed get it by default,
 * in config files too; any head can ask for it by name (library API `metrics`).
 * Registering a name again replaces it.
 */
export function registerMetric(name: string, create: () => StreamingMetric, options: RegisterMetricOptions = {}): void {
  REGISTERED.set(name, { create, kinds: [...(options.kinds ?? [])] });
}

/** A fresh instance of the registered metric `name`. */
export function createMetric(name: string, where = 'metrics'): StreamingMetric {
  const entry = REGISTERED.get(name);
  if (!entry) throw new MultilossError('config', `${where}: unknown metric "${name}"; registered metrics: ${[...REGISTERED.keys()].join(', ') || '(none)'}`);
  return entry.create();
}

/** Fresh instances of the registered metrics that `kind` gets by default. */
export function metricsForKind(kind: string): StreamingMetric[] {
  return [...REGISTERED.values()].filter((e) => e.kinds.includes(kind)).map((e) => e.create());
}
