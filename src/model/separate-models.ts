import type { ResolvedConfig } from '../config/resolve.js';
import { rowsToTable } from '../data/json.js';
import type { Table } from '../data/table.js';
import { MultilossError } from '../errors.js';
import type { SplitLog } from '../training/history.js';
import type { TrainingStop } from '../training/early-stopping.js';
import { FORMAT_VERSION, VERSION } from '../version.js';
import type { Head } from './heads/index.js';
import type { MultiOutputModel } from './multi-output.js';
import type { Evaluation, ModelInfo, MultilossModel, Prediction } from './multiloss-model.js';

/** The top-level multiloss.json of a saved separate model (each sub-model is a complete model directory beside it). */
export interface SeparateJSON {
  format: 'multiloss';
  approach: 'separate';
  formatVersion: number;
  libraryVersion: string;
  createdAt: string;
  /** The run's resolved configuration (all targets, `approach: separate`). */
  config: ResolvedConfig;
  /** One entry per target, in the configuration's order: the head and the sub-directory holding its model. */
  models: { head: string; dir: string }[];
  /** Sum over the sub-models. */
  parameters: number;
  /** The sub-models' final metrics merged: per head as trained alone; `loss` is the sum of the sub-models' totals. */
  metrics: { train?: SplitLog; validation?: SplitLog };
}

/** The sub-model entry of `SeparateModels.info()`. */
export interface SubModelInfo {
  head: string;
  parameters: number;
  epochs: number;
  inputSize: number;
  stop?: TrainingStop;
}

/** `info()` of separate models: the joint fields (heads, parameters, …) plus one entry per sub-model. */
export interface SeparateModelInfo extends ModelInfo {
  approach: 'separate';
  models: SubModelInfo[];
}

/** Merges per-model split logs (one head each) into one log over every head. */
export function mergeSplitLogs(logs: readonly (SplitLog | undefined)[]): SplitLog | undefined {
  if (logs.length === 0 || logs.some((l) => l === undefined)) return undefined;
  const out: SplitLog = { loss: 0, heads: {} };
  for (const l of logs as SplitLog[]) {
    out.loss += l.loss;
    Object.assign(out.heads, l.heads);
  }
  return out;
}

function asTable(input: Table | readonly Record<string, unknown>[]): Table {
  return Array.isArray(input) ? rowsToTable(input as Record<string, unknown>[]) : (input as Table);
}

/**
 * Separate models: one single-head model per target, each with its own
 * preprocessing, target encoding and network (the same trunk specification),
 * trained independently and combined behind the interface of a joint model.
 * Predictions, raw outputs and evaluations come out in the configuration's
 * head order, exactly as a joint model's would.
 */
export class SeparateModels implements MultiOutputModel {
  readonly heads: readonly Head[];

  constructor(
    /** One single-head model per target, in the configuration's order. */
    readonly models: readonly MultilossModel[],
    readonly meta: Pick<SeparateJSON, 'libraryVersion' | 'createdAt' | 'config'>,
  ) {
    if (models.length === 0) throw new MultilossError('model', 'separate models: no sub-model');
    for (const m of models) {
      if (m.heads.length !== 1) throw new MultilossError('model', `separate models: a sub-model has ${m.heads.length} heads, expected 1`);
    }
    this.heads = models.map((m) => m.heads[0]);
    const seen = new Set<string>();
    for (const h of this.heads) {
      if (seen.has(h.name)) throw new MultilossError('model', `separate models: two sub-models predict head "${h.name}"`);
      seen.add(h.name);
    }
  }

  /** A new combination with fresh metadata (the models are shared, not copied). */
  static combine(models: readonly MultilossModel[], config: ResolvedConfig): SeparateModels {
    return new SeparateModels(models, { libraryVersion: VERSION, createdAt: new Date().toISOString(), config: { ...config, approach: 'separate' } });
  }

  predictOutputs(input: Table | readonly Record<string, unknown>[], batchSize = 1024): Float32Array[] {
    const table = asTable(input);
    return this.models.map((m) => m.predictOutputs(table, batchSize)[0]);
  }

  predict(input: Table | readonly Record<string, unknown>[]): Prediction[] {
    const table = asTable(input);
    const parts = this.models.map((m) => m.predict(table));
    return parts[0].map((_, i) => {
      const p: Prediction = {};
      parts.forEach((rows, k) => (p[this.heads[k].name] = rows[i][this.heads[k].name]));
      return p;
    });
  }

  /** Per-head losses and metrics, each from its own model; `loss` is the sum of the models' weighted totals. */
  evaluate(input: Table | readonly Record<string, unknown>[]): Evaluation {
    const table = asTable(input);
    const parts = this.models.map((m) => m.evaluate(table));
    const split = mergeSplitLogs(parts) as SplitLog;
    const labelled: Record<string, number> = {};
    for (const p of parts) Object.assign(labelled, p.labelled);
    return { ...split, rows: parts[0].rows, labelled };
  }

  /** Final metrics of training, merged over the sub-models. */
  get metrics(): SeparateJSON['metrics'] {
    return {
      train: mergeSplitLogs(this.models.map((m) => m.meta.metrics.train)),
      validation: mergeSplitLogs(this.models.map((m) => m.meta.metrics.validation)),
    };
  }

  parameters(): number {
    return this.models.reduce((a, m) => a + m.network.countParams(), 0);
  }

  info(): SeparateModelInfo {
    const infos = this.models.map((m) => m.info());
    const first = infos[0];
    return {
      approach: 'separate',
      libraryVersion: this.meta.libraryVersion,
      createdAt: this.meta.createdAt,
      parameters: infos.reduce((a, i) => a + i.parameters, 0),
      features: first.features,
      inputSize: first.inputSize,
      heads: infos.flatMap((i) => i.heads),
      trunk: first.trunk,
      balance: { method: 'none', weights: infos.flatMap((i) => i.balance.weights) },
      epochs: Math.max(...infos.map((i) => i.epochs)),
      metrics: this.metrics,
      models: infos.map((i) => ({ head: i.heads[0].name, parameters: i.parameters, epochs: i.epochs, inputSize: i.inputSize, ...(i.stop ? { stop: i.stop } : {}) })),
    };
  }

  /** The top-level multiloss.json, given the sub-directory of each model. */
  toJSON(dirs: readonly string[]): SeparateJSON {
    return {
      format: 'multiloss',
      approach: 'separate',
      formatVersion: FORMAT_VERSION,
      libraryVersion: this.meta.libraryVersion,
      createdAt: this.meta.createdAt,
      config: this.meta.config,
      models: this.heads.map((h, k) => ({ head: h.name, dir: dirs[k] })),
      parameters: this.parameters(),
      metrics: this.metrics,
    };
  }

  dispose(): void {
    for (const m of this.models) m.dispose();
  }
}

/** Whether a model is a combination of separate models (rather than one joint network). */
export function isSeparateModels(model: MultiOutputModel): model is SeparateModels {
  return model instanceof SeparateModels;
}
