// An epoch's training figures, summed batch by batch into the epoch log's `train` split.
import type { StreamingMetric } from '../metrics/metric.js';
import type { Head } from '../model/heads/head.js';
import type { SolverReport } from '../balancing/aggregation/types.js';
import type { EncodedData } from './data.js';
import { DiagnosticsAccumulator, UpdateAccumulator, type UpdateSums } from './diagnostics.js';
import type { EpochLog, HeadLog, SplitLog } from './history.js';
import type { StepResult } from './steps/step.js';

/** The running sums of an epoch's training figures (checkpointed inside an epoch). */
export interface EpochSums {
  rows: number;
  totalSum: number;
  lossSum: number[];
  weightSum: number[];
  appliedSum: number[];
  steps: number;
  /** Gradient methods: the per-head update figures' sums so far (absent in older checkpoints). */
  update?: UpdateSums;
}

/**
 * Sums one epoch's batch results into per-head means and metrics. After a
 * resume inside an epoch, the sums continue; the training metrics cover the
 * batches after the resume (streaming metric states are not checkpointed).
 */
export class EpochAccumulator {
  private rows = 0;
  private totalSum = 0;
  private readonly lossSum: number[];
  private readonly weightSum: number[];
  private readonly appliedSum: number[];
  private steps = 0;
  private readonly metrics: StreamingMetric[][];

  constructor(
    private readonly heads: readonly Head[],
    withMetrics: boolean,
    private readonly total: 'sum' | 'weighted',
    from?: EpochSums,
  ) {
    this.lossSum = from ? [...from.lossSum] : heads.map(() => 0);
    this.weightSum = from ? [...from.weightSum] : heads.map(() => 0);
    this.appliedSum = from ? [...from.appliedSum] : heads.map(() => 0);
    this.rows = from?.rows ?? 0;
    this.totalSum = from?.totalSum ?? 0;
    this.steps = from?.steps ?? 0;
    this.metrics = heads.map((h) => (withMetrics ? h.createMetrics() : []));
  }

  /** Steps whose update was dropped because of a non-finite loss or gradient. */
  skipped = 0;

  skip(): void {
    this.skipped++;
  }

  sums(): EpochSums {
    return {
      rows: this.rows,
      totalSum: this.totalSum,
      lossSum: [...this.lossSum],
      weightSum: [...this.weightSum],
      appliedSum: [...this.appliedSum],
      steps: this.steps,
    };
  }

  add(
    n: number,
    total: number,
    losses: Float32Array,
    applied: Float32Array,
    weights: Float32Array[],
    predictions: Float32Array[],
    data: EncodedData,
  ): void {
    this.rows += n;
    this.totalSum += total * n;
    this.steps++;
    this.heads.forEach((head, h) => {
      let w = 0;
      for (const v of weights[h]) w += v;
      this.lossSum[h] += losses[h] * w;
      this.weightSum[h] += w;
      this.appliedSum[h] += applied[h];
      if (predictions.length && this.metrics[h].length) {
        const t = data.targets[h];
        const yTrue = t.yMetric.subarray(0, n * head.units);
        const mask = t.mask.subarray(0, n);
        const yPred = head.toMetricSpace(predictions[h]);
        for (const m of this.metrics[h]) m.update(yTrue, yPred, mask);
      }
    });
  }

  result(): SplitLog {
    const heads: Record<string, HeadLog> = {};
    this.heads.forEach((head, h) => {
      heads[head.name] = {
        loss: this.weightSum[h] > 0 ? this.lossSum[h] / this.weightSum[h] : 0,
        weight: this.appliedSum[h] / Math.max(1, this.steps),
        metrics: Object.fromEntries(this.metrics[h].map((m) => [m.name, m.result()])),
      };
    });
    return { loss: this.totalSum / Math.max(1, this.rows), total: this.total, heads };
  }
}

/**
 * Everything an epoch's log gathers from its steps: the training figures, the
 * gradient diagnostics and the per-head update figures. Continues from a
 * checkpoint's sums after a resume inside an epoch.
 */
export class EpochRecorder {
  private readonly figures: EpochAccumulator;
  private readonly diagnostics: DiagnosticsAccumulator;
  private readonly updates: UpdateAccumulator;

  constructor(heads: readonly Head[], withMetrics: boolean, total: 'sum' | 'weighted', from?: EpochSums) {
    const names = heads.map((h) => h.name);
    this.figures = new EpochAccumulator(heads, withMetrics, total, from);
    this.diagnostics = new DiagnosticsAccumulator(names);
    this.updates = new UpdateAccumulator(names, from?.update);
  }

  /** A step whose update was dropped (non-finite loss or gradient). */
  skip(): void {
    this.figures.skip();
  }

  /** A step's results on `data`; `solver` is the gradient method's solver report, if it ran one. */
  add(data: EncodedData, result: StepResult, solver: SolverReport | undefined): void {
    if (result.gram) this.diagnostics.add(result.gram);
    if (result.update) this.updates.add(result.update);
    if (solver) this.diagnostics.addSolver(solver);
    const weights = data.targets.map((t) => t.weight.subarray(0, data.n));
    this.figures.add(data.n, result.total, result.losses, result.weights, weights, result.outputs, data);
  }

  /** The sums so far, for a checkpoint inside the epoch. */
  sums(): EpochSums {
    return { ...this.figures.sums(), ...(this.updates.empty ? {} : { update: this.updates.sums() }) };
  }

  /** The epoch's log without validation (`seconds` is filled in at the end); `countSkipped` adds `skippedBatches`. */
  log(epoch: number, learningRate: number, countSkipped: boolean): EpochLog {
    const log: EpochLog = { epoch, learningRate, seconds: 0, train: this.figures.result() };
    if (!this.diagnostics.empty) log.diagnostics = this.diagnostics.result();
    if (!this.updates.empty) log.update = this.updates.result();
    if (countSkipped) log.skippedBatches = this.figures.skipped;
    return log;
  }
}
