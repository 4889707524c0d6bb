import * as tf from '@tensorflow/tfjs-core';
import type { BalancingStrategy, LossBalancer, StepContext } from '../balancing/strategy.js';
import { MultilossError } from '../errors.js';
import { reduceLoss } from '../losses/index.js';
import type { StreamingMetric } from '../metrics/metric.js';
import type { Head } from '../model/heads/head.js';
import type { MultiHeadNetwork } from '../model/network.js';
import { gatherRows, type EncodedData } from './data.js';
import type { BatchLog, EpochLog, HeadLog, History, SplitLog } from './history.js';
import { createOptimizer, type OptimizerSpec, type TrainingOptimizer } from './optimizers.js';
import { Rng } from './rng.js';
import { learningRateAt, type ScheduleSpec } from './schedules.js';

export interface TrainerOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  optimizer: OptimizerSpec;
  schedule?: ScheduleSpec;
  /** Rescale the gradient when its global L2 norm exceeds this. */
  clipNorm?: number;
  /** Clip every gradient element to ±clipValue. */
  clipValue?: number;
  /** Compute training metrics from each batch's predictions (default true). */
  trainMetrics?: boolean;
  /** Batch size for validation and evaluation passes (default 1024). */
  evaluationBatchSize?: number;
}

/** Lets a callback end training after the current epoch. */
export interface TrainingControl {
  stop(): void;
  readonly stopped: boolean;
}

export interface TrainerCallbacks {
  onTrainBegin?(info: { epochs: number; batchesPerEpoch: number }): void;
  onBatchEnd?(log: BatchLog, control: TrainingControl): void;
  onEpochEnd?(log: EpochLog, control: TrainingControl): void | Promise<void>;
}

/**
 * The training loop: seeded mini-batches, per-head masked losses combined by a
 * balancing strategy, gradients from tf.variableGrads, one optimizer step.
 * Every tensor a step creates is released before the next step.
 */
export class Trainer {
  readonly history: History = [];
  private readonly rng: Rng;
  private readonly optimizer: TrainingOptimizer;
  private step = 0;
  private epoch = 0;

  constructor(
    private readonly network: MultiHeadNetwork,
    private readonly heads: readonly Head[],
    private readonly strategy: BalancingStrategy,
    private readonly options: TrainerOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new MultilossError('config', `training.batchSize must be a whole number ≥ 1, got ${options.batchSize}`);
    }
    if (!Number.isInteger(options.epochs) || options.epochs < 1) {
      throw new MultilossError('config', `training.epochs must be a whole number ≥ 1, got ${options.epochs}`);
    }
    if (strategy.kind !== 'loss') {
      throw new MultilossError('config', `balance.method "${strategy.name}" needs per-head gradients, which this trainer does not compute yet`);
    }
    this.rng = new Rng(options.seed);
    this.optimizer = createOptimizer(options.optimizer);
  }

  private get balancer(): LossBalancer {
    return this.strategy as LossBalancer;
  }

  /** The weights the strategy currently applies (for evaluation totals). */
  currentWeights(): number[] {
    const last = this.history.at(-1);
    return this.heads.map((h) => last?.train.heads[h.name].weight ?? 1);
  }

  async fit(train: EncodedData, validation?: EncodedData, callbacks: TrainerCallbacks = {}): Promise<History> {
    if (train.n === 0) throw new MultilossError('data', 'no training rows left after dropping rows with every target missing');
    const batchSize = this.options.batchSize;
    const batches = Math.ceil(train.n / batchSize);
    const lrBase = this.options.optimizer.learningRate;
    const schedule = this.options.schedule ?? { kind: 'constant' };
    const wantMetrics = this.options.trainMetrics ?? true;
    let stopped = false;
    const control: TrainingControl = {
      stop: () => {
        stopped = true;
      },
      get stopped() {
        return stopped;
      },
    };
    callbacks.onTrainBegin?.({ epochs: this.options.epochs, batchesPerEpoch: batches });
    const order = Array.from({ length: train.n }, (_, i) => i);
    while (this.epoch < this.options.epochs && !stopped) {
      const started = performance.now();
      this.rng.shuffle(order);
      const acc = new EpochAccumulator(this.heads, wantMetrics);
      let lr = lrBase;
      for (let b = 0; b < batches; b++) {
        lr = learningRateAt(schedule, lrBase, this.epoch + b / batches, this.options.epochs);
        this.optimizer.setLearningRate(lr);
        const idx = order.slice(b * batchSize, Math.min(train.n, (b + 1) * batchSize));
        const batchLog = this.trainStep(train, idx, acc, wantMetrics);
        callbacks.onBatchEnd?.({ ...batchLog, epoch: this.epoch + 1, batch: b + 1, batches }, control);
      }
      const trainLog = acc.result();
      this.balancer.endEpoch?.(this.heads.map((h) => trainLog.heads[h.name].loss), this.epoch);
      const log: EpochLog = {
        epoch: this.epoch + 1,
        learningRate: lr,
        seconds: 0,
        train: trainLog,
      };
      if (validation && validation.n > 0) {
        log.validation = evaluateEncoded(this.network, this.heads, validation, this.heads.map((h) => trainLog.heads[h.name].weight), this.options.evaluationBatchSize);
      }
      log.seconds = (performance.now() - started) / 1000;
      this.history.push(log);
      this.epoch++;
      await callbacks.onEpochEnd?.(log, control);
      // Let timers and signal handlers run between epochs.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return this.history;
  }

  private trainStep(data: EncodedData, idx: number[], acc: EpochAccumulator, wantMetrics: boolean): Omit<BatchLog, 'epoch' | 'batch' | 'batches'> {
    const heads = this.heads;
    const n = idx.length;
    const ctx: StepContext = { epoch: this.epoch, step: this.step, rng: this.rng };
    const weightsJs = data.targets.map((t) => gatherRows(t.weight, 1, idx));
    const inputs = tf.tidy(() => ({
      x: tf.tensor2d(gatherRows(data.x, data.inputSize, idx), [n, data.inputSize]),
      y: data.targets.map((t, h) => tf.tensor2d(gatherRows(t.y, heads[h].units, idx), [n, heads[h].units])),
      w: weightsJs.map((w) => tf.tensor1d(w)),
    }));
    const variables = [...this.network.trainableVariables, ...this.balancer.variables()];
    let kept: tf.Tensor[] = [];
    const packed = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const { raw, losses } = headLosses(this.network, heads, inputs, true, this.rng);
        const { total, weights } = this.balancer.combine(losses, ctx);
        const outputs = wantMetrics ? this.network.activate(raw).map((o) => tf.reshape(o, [-1])) : [];
        kept = [tf.stack(losses), weights, ...outputs].map((t) => tf.keep(t));
        return total;
      }, variables);
      this.optimizer.apply(this.clip(grads), variables);
      return tf.concat([tf.reshape(value, [1]), ...kept.map((t) => tf.reshape(t, [-1]))]);
    });
    for (const t of kept) t.dispose();
    tf.dispose(inputs);
    const stats = packed.dataSync() as Float32Array;
    packed.dispose();
    const total = stats[0];
    const T = heads.length;
    const lossValues = stats.subarray(1, 1 + T);
    const weights = stats.subarray(1 + T, 1 + 2 * T);
    for (let h = 0; h < T; h++) {
      if (!Number.isFinite(lossValues[h])) {
        throw new MultilossError('training', `head "${heads[h].name}": loss became ${lossValues[h]} at epoch ${this.epoch + 1}, step ${this.step + 1}; lower the learning rate or set training.clipNorm`);
      }
    }
    let offset = 1 + 2 * T;
    const predictions: Float32Array[] = [];
    if (wantMetrics) {
      for (let h = 0; h < T; h++) {
        const len = n * heads[h].units;
        predictions.push(stats.subarray(offset, offset + len));
        offset += len;
      }
    }
    acc.add(n, total, lossValues, weights, weightsJs, predictions, data, idx);
    this.step++;
    const named: Record<string, number> = {};
    heads.forEach((h, i) => (named[h.name] = lossValues[i]));
    return { loss: total, headLosses: named };
  }

  private clip(grads: tf.NamedTensorMap): tf.NamedTensorMap {
    const { clipNorm, clipValue } = this.options;
    if (!clipNorm && !clipValue) return grads;
    let out = grads;
    if (clipValue) {
      out = Object.fromEntries(Object.entries(out).map(([k, g]) => [k, tf.clipByValue(g, -clipValue, clipValue)]));
    }
    if (clipNorm) {
      const norm = tf.sqrt(tf.addN(Object.values(out).map((g) => tf.sum(tf.square(g)))));
      const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm));
      out = Object.fromEntries(Object.entries(out).map(([k, g]) => [k, tf.mul(g, scale)]));
    }
    return out;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** A batch as tensors: features, each head's targets and per-row loss weights (0 = label missing). */
export interface TensorBatch {
  x: tf.Tensor2D;
  y: tf.Tensor2D[];
  w: tf.Tensor1D[];
}

/**
 * Forward pass and every head's masked, weighted mean loss: the quantity the
 * trainer differentiates. Exported so tests can take gradients of one head.
 */
export function headLosses(network: MultiHeadNetwork, heads: readonly Head[], batch: TensorBatch, training: boolean, rng?: Rng): { raw: tf.Tensor2D[]; losses: tf.Scalar[] } {
  const raw = network.forwardHeads(network.forwardTrunk(batch.x, training, rng));
  const losses = raw.map((r, h) => reduceLoss(heads[h].loss.perSample(batch.y[h], r), batch.w[h]));
  return { raw, losses };
}

/** Sums one epoch's batch results into per-head means and metrics. */
class EpochAccumulator {
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
  ) {
    this.lossSum = heads.map(() => 0);
    this.weightSum = heads.map(() => 0);
    this.appliedSum = heads.map(() => 0);
    this.metrics = heads.map((h) => (withMetrics ? h.createMetrics() : []));
  }

  add(n: number, total: number, losses: Float32Array, applied: Float32Array, weights: Float32Array[], predictions: Float32Array[], data: EncodedData, idx: number[]): void {
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
        const yTrue = gatherRows(t.yMetric, head.units, idx);
        const mask = gatherRows(t.mask, 1, idx);
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
    return { loss: this.totalSum / Math.max(1, this.rows), heads };
  }
}

/**
 * Losses and metrics over a whole data set in inference mode, exact (not an
 * average of batch averages). `weights` are the head weights for the total.
 */
export function evaluateEncoded(network: MultiHeadNetwork, heads: readonly Head[], data: EncodedData, weights: readonly number[], batchSize = 1024): SplitLog {
  const T = heads.length;
  const lossSum = new Float64Array(T);
  const weightSum = new Float64Array(T);
  const metrics = heads.map((h) => h.createMetrics());
  for (let start = 0; start < data.n; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, data.n - start) }, (_, i) => start + i);
    const n = idx.length;
    const packed = tf.tidy(() => {
      const x = tf.tensor2d(gatherRows(data.x, data.inputSize, idx), [n, data.inputSize]);
      const raw = network.forwardHeads(network.forwardTrunk(x, false));
      const parts: tf.Tensor[] = [];
      raw.forEach((r, h) => {
        const y = tf.tensor2d(gatherRows(data.targets[h].y, heads[h].units, idx), [n, heads[h].units]);
        parts.push(heads[h].loss.perSample(y, r));
      });
      network.activate(raw).forEach((o) => parts.push(tf.reshape(o, [-1])));
      return tf.concat(parts.map((p) => tf.reshape(p, [-1])));
    });
    const values = packed.dataSync() as Float32Array;
    packed.dispose();
    let offset = 0;
    const perSample: Float32Array[] = [];
    for (let h = 0; h < T; h++) {
      perSample.push(values.subarray(offset, offset + n));
      offset += n;
    }
    for (let h = 0; h < T; h++) {
      const t = data.targets[h];
      const len = n * heads[h].units;
      const yPred = heads[h].toMetricSpace(values.subarray(offset, offset + len));
      offset += len;
      for (let r = 0; r < n; r++) {
        const w = t.weight[idx[r]];
        if (w > 0) {
          lossSum[h] += w * perSample[h][r];
          weightSum[h] += w;
        }
      }
      const yTrue = gatherRows(t.yMetric, heads[h].units, idx);
      const mask = gatherRows(t.mask, 1, idx);
      for (const m of metrics[h]) m.update(yTrue, yPred, mask);
    }
  }
  const out: Record<string, HeadLog> = {};
  let total = 0;
  heads.forEach((head, h) => {
    const loss = weightSum[h] > 0 ? lossSum[h] / weightSum[h] : 0;
    total += weights[h] * loss;
    out[head.name] = { loss, weight: weights[h], metrics: Object.fromEntries(metrics[h].map((m) => [m.name, m.result()])) };
  });
  return { loss: total, heads: out };
}
