import * as tf from '@tensorflow/tfjs-core';
import type { BalancingStrategy, GradientBalancer, StepContext } from '../balancing/strategy.js';
import { MultilossError } from '../errors.js';
import { reduceLoss } from '../losses/index.js';
import type { StreamingMetric } from '../metrics/metric.js';
import type { Head } from '../model/heads/head.js';
import type { LastBlockCapture, MultiHeadNetwork } from '../model/network.js';
import { DiagnosticsAccumulator, gramOf } from './diagnostics.js';
import { tidyValue } from '../engine/tidy.js';
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
  /**
   * Record per-head gradient norms and pairwise cosines on the shared
   * representation for loss-based methods too (gradient-based methods always
   * record them, on the part they aggregate). Costs one split of the backward
   * pass at the trunk output.
   */
  diagnostics?: boolean;
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

/** What one optimizer step produced, in plain numbers. */
interface StepResult {
  total: number;
  losses: Float32Array;
  weights: Float32Array;
  /** Activated outputs per head (n×units), when training metrics are on. */
  outputs: Float32Array[];
  /** Gram matrix of the per-head gradients on the shared part, when measured. */
  gram?: Float64Array;
  sharedGradNorms?: number[];
}

/**
 * The training loop: seeded mini-batches, per-head masked losses combined by a
 * balancing strategy, gradients from tf.variableGrads, one optimizer step.
 * Every tensor a step creates is released before the next step.
 *
 * Loss-based strategies build the total loss inside the tape. Gradient-based
 * strategies in 'rep' mode split the backward pass at the trunk output: each
 * head reads the output through its own custom-gradient identity op; once all
 * heads' gradients have arrived, the T×(n·k) matrix goes to the strategy and
 * its direction continues into the trunk — the heads' backward passes plus
 * one trunk backward. In 'param' mode each head's
 * gradient w.r.t. the shared parameters is computed exactly, one pass per head
 * with the same dropout masks.
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
    if (strategy.kind === 'gradient' && network.sharedVariables.length === 0) {
      throw new MultilossError('config', `balance.method "${strategy.name}" needs shared parameters, but the model has no shared trunk layer`);
    }
    this.rng = new Rng(options.seed);
    this.optimizer = createOptimizer(options.optimizer);
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
      const diagnostics = new DiagnosticsAccumulator(this.heads.map((h) => h.name));
      let lr = lrBase;
      for (let b = 0; b < batches; b++) {
        lr = learningRateAt(schedule, lrBase, this.epoch + b / batches, this.options.epochs);
        this.optimizer.setLearningRate(lr);
        const idx = order.slice(b * batchSize, Math.min(train.n, (b + 1) * batchSize));
        const batchLog = this.trainStep(train, idx, acc, diagnostics, wantMetrics);
        callbacks.onBatchEnd?.({ ...batchLog, epoch: this.epoch + 1, batch: b + 1, batches }, control);
      }
      const trainLog = acc.result();
      if (this.strategy.kind === 'loss') this.strategy.endEpoch?.(this.heads.map((h) => trainLog.heads[h.name].loss), this.epoch);
      const log: EpochLog = {
        epoch: this.epoch + 1,
        learningRate: lr,
        seconds: 0,
        train: trainLog,
      };
      if (!diagnostics.empty) log.diagnostics = diagnostics.result();
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

  private trainStep(data: EncodedData, idx: number[], acc: EpochAccumulator, diagnostics: DiagnosticsAccumulator, wantMetrics: boolean): Omit<BatchLog, 'epoch' | 'batch' | 'batches'> {
    const heads = this.heads;
    const n = idx.length;
    const T = heads.length;
    const ctx: StepContext = { epoch: this.epoch, step: this.step, rng: this.rng };
    // Every forward pass of this step (replays included) draws its dropout masks from this seed.
    const stepSeed = this.rng.seed();
    const weightsJs = data.targets.map((t) => gatherRows(t.weight, 1, idx));
    const batch: TensorBatch = {
      x: tf.tensor2d(gatherRows(data.x, data.inputSize, idx), [n, data.inputSize]),
      y: data.targets.map((t, h) => tf.tensor2d(gatherRows(t.y, heads[h].units, idx), [n, heads[h].units])),
      w: weightsJs.map((w) => tf.tensor1d(w)),
    };
    let result: StepResult;
    try {
      result =
        this.strategy.kind === 'gradient' && this.strategy.mode === 'param'
          ? this.paramStep(this.strategy, batch, stepSeed, ctx, wantMetrics)
          : this.tapeStep(batch, stepSeed, ctx, wantMetrics);
      if (this.strategy.kind === 'loss' && this.strategy.afterStep) {
        const lossesAfter = this.strategy.requires?.lossesAfterStep ? this.lossesAfterStep(batch, stepSeed) : undefined;
        this.strategy.afterStep({ losses: Array.from(result.losses), lossesAfter, sharedGradNorms: result.sharedGradNorms }, ctx);
      }
    } finally {
      tf.dispose([batch.x, ...batch.y, ...batch.w]);
    }
    for (let h = 0; h < T; h++) {
      if (!Number.isFinite(result.losses[h])) {
        throw new MultilossError('training', `head "${heads[h].name}": loss became ${result.losses[h]} at epoch ${this.epoch + 1}, step ${this.step + 1}; lower the learning rate or set training.clipNorm`);
      }
    }
    if (result.gram) diagnostics.add(result.gram);
    acc.add(n, result.total, result.losses, result.weights, weightsJs, result.outputs, data, idx);
    this.step++;
    const named: Record<string, number> = {};
    heads.forEach((h, i) => (named[h.name] = result.losses[i]));
    return { loss: result.total, headLosses: named };
  }

  /** Throws, naming the head, when a head's gradient has a NaN or an infinity. */
  private checkGradientRows(rows: Float32Array, T: number, d: number): void {
    for (let t = 0; t < T; t++) {
      for (let j = t * d; j < (t + 1) * d; j++) {
        if (!Number.isFinite(rows[j])) {
          throw new MultilossError('training', `head "${this.heads[t].name}": gradient became ${rows[j]} at epoch ${this.epoch + 1}, step ${this.step + 1}; lower the learning rate or set training.clipNorm`);
        }
      }
    }
  }

  /**
   * One backward pass over a single tape: loss-based strategies, and
   * gradient-based ones in 'rep' mode (see the class comment).
   */
  private tapeStep(batch: TensorBatch, stepSeed: number, ctx: StepContext, wantMetrics: boolean): StepResult {
    const heads = this.heads;
    const T = heads.length;
    const strategy = this.strategy;
    const balancer = strategy.kind === 'loss' ? strategy : undefined;
    const aggregator = strategy.kind === 'gradient' ? strategy : undefined;
    const wantNorms = balancer?.requires?.sharedGradNorms ?? false;
    const fanOut = !!aggregator || wantNorms || (this.options.diagnostics ?? false);
    const capture: LastBlockCapture | undefined = wantNorms ? {} : undefined;
    let kept: tf.Tensor[] = [];
    let lossTensors: tf.Scalar[] = [];
    let weightTensor: tf.Tensor1D | undefined;
    let aggWeights: Float64Array | undefined;
    let gram: Float64Array | undefined;
    // Loss-based strategies: each head's weighted gradient at the trunk output, kept for measurements.
    let repGrads: tf.Tensor[] = [];

    // Gradient-based: every head's gradient w.r.t. the trunk output, as the rows of a T×(n·k) matrix.
    const aggregateRepGradients = (rows: Float32Array, n: number, k: number): tf.Tensor => {
      const d = n * k;
      const strategy = aggregator as GradientBalancer;
      this.checkGradientRows(rows, T, d);
      gram = gramOf(rows, T, d);
      const losses = lossTensors.map((t) => t.dataSync()[0]);
      const { direction, weights } = strategy.combineGradients(rows, T, d, losses, ctx);
      aggWeights = weights;
      return tf.tensor2d(direction, [n, k]);
    };

    /**
     * One identity op per head on the trunk output. Their gradients arrive one
     * by one during the backward pass; each is stored, and the op that
     * completes the set returns the combined direction while the others return
     * zeros (gradients into the trunk output are summed). Loss-based
     * strategies pass on the plain sum (slice t is already wₜ·gₜ) and keep the
     * slices for the measurements made after the step.
     */
    const fanOutOps = (rep: tf.Tensor2D): tf.Tensor2D[] => {
      const [n, k] = rep.shape;
      const rows = aggregator ? new Float32Array(T * n * k) : undefined;
      const slices: tf.Tensor[] = [];
      let pending = T;
      return heads.map((_, t) =>
        tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
          value: tf.clone(args[0] as tf.Tensor),
          gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
            const g = Array.isArray(dy) ? dy[0] : dy;
            if (rows) rows.set(g.dataSync() as Float32Array, t * n * k);
            else slices[t] = g;
            if (--pending > 0) return tf.zerosLike(g);
            if (rows) return aggregateRepGradients(rows, n, k);
            repGrads = slices.map((x) => tf.keep(x));
            return tf.addN(slices);
          },
        }))(rep) as tf.Tensor2D,
      );
    };

    const packed = tf.tidy(() => {
      const variables = [...this.network.trainableVariables, ...(balancer?.variables() ?? [])];
      const { value, grads } = tf.variableGrads(() => {
        const rep = this.network.forwardTrunk(batch.x, true, new Rng(stepSeed), capture);
        if (capture?.input) capture.input = tf.keep(capture.input);
        if (capture?.pre) capture.pre = tf.keep(capture.pre);
        const reps: tf.Tensor2D[] = fanOut ? fanOutOps(rep) : heads.map(() => rep);
        const raw = reps.map((r, t) => this.network.forwardHead(t, r));
        const losses = raw.map((r, t) => reduceLoss(heads[t].loss.perSample(batch.y[t], r), batch.w[t]));
        lossTensors = losses.map((l) => tf.keep(l));
        let total: tf.Scalar;
        if (balancer) {
          const combined = balancer.combine(losses, ctx);
          total = combined.total;
          weightTensor = tf.keep(combined.weights);
        } else {
          total = tf.addN(losses) as tf.Scalar;
        }
        const outputs = wantMetrics ? this.network.activate(raw).map((o) => tf.reshape(o, [-1])) : [];
        kept = outputs.map((t) => tf.keep(t));
        return total;
      }, variables);
      this.optimizer.apply(this.clip(grads), variables);
      return tf.concat([tf.reshape(value, [1]), ...lossTensors.map((t) => tf.reshape(t, [1])), ...(weightTensor ? [weightTensor] : []), ...kept]);
    });
    const stats = packed.dataSync() as Float32Array;
    let sharedGradNorms: number[] | undefined;
    if (repGrads.length === T) {
      const measured = this.measureRepGradients(repGrads, stats.subarray(1 + T, 1 + 2 * T), capture, wantNorms);
      gram = measured.gram;
      sharedGradNorms = measured.norms;
    }
    tf.dispose([packed, ...kept, ...lossTensors, ...repGrads, ...(weightTensor ? [weightTensor] : []), ...(capture?.input ? [capture.input] : []), ...(capture?.pre ? [capture.pre] : [])]);

    const losses = stats.slice(1, 1 + T);
    let offset = 1 + T;
    let weights: Float32Array;
    let total: number;
    if (balancer) {
      weights = stats.slice(offset, offset + T);
      offset += T;
      total = stats[0];
    } else {
      weights = aggWeights ? Float32Array.from(aggWeights) : new Float32Array(T).fill(1);
      total = losses.reduce((s, l, t) => s + weights[t] * l, 0);
    }
    return { total, losses, weights, outputs: this.splitOutputs(stats, offset, batch.x.shape[0], wantMetrics), gram, sharedGradNorms };
  }

  /**
   * From the heads' weighted gradients at the trunk output (slice t = wₜ·gₜ,
   * wₜ = ∂total/∂Lₜ): the Gram matrix of the unweighted gₜ (diagnostics) and,
   * for GradNorm, ‖∇ Lₜ‖ over the last shared layer. A head whose weight is 0
   * has no recoverable gradient and reports 0.
   */
  private measureRepGradients(slices: tf.Tensor[], weights: Float32Array, capture: LastBlockCapture | undefined, wantNorms: boolean): { gram?: Float64Array; norms?: number[] } {
    const T = slices.length;
    return tidyValue(() => {
      const inverse = tf.tensor1d(Array.from(weights, (w) => (w !== 0 && Number.isFinite(w) ? 1 / w : 0)));
      const [n, k] = slices[0].shape;
      const g = tf.mul(tf.stack(slices), tf.reshape(inverse, [T, 1, 1])) as tf.Tensor3D;
      let gram: Float64Array | undefined;
      if (this.options.diagnostics) {
        const flat = tf.reshape(g, [T, n * k]) as tf.Tensor2D;
        gram = Float64Array.from(tf.matMul(flat, flat, false, true).dataSync());
        for (let t = 0; t < T; t++) {
          if (!Number.isFinite(gram[t * T + t])) {
            throw new MultilossError('training', `head "${this.heads[t].name}": gradient became non-finite at epoch ${this.epoch + 1}, step ${this.step + 1}; lower the learning rate or set training.clipNorm`);
          }
        }
      }
      return {
        gram,
        norms: wantNorms && capture ? this.network.lastBlockGradNorms(capture, g) : undefined,
      };
    });
  }

  /** Exact per-head gradients w.r.t. the shared parameters: one pass per head. */
  private paramStep(strategy: GradientBalancer, batch: TensorBatch, stepSeed: number, ctx: StepContext, wantMetrics: boolean): StepResult {
    const heads = this.heads;
    const T = heads.length;
    const n = batch.x.shape[0];
    const shared = this.network.sharedVariables;
    const headVars = this.network.headVariables;
    const d = shared.reduce((s, v) => s + v.size, 0);
    const rows = new Float32Array(T * d);
    const losses = new Float32Array(T);
    const headGrads: tf.NamedTensorMap = {};
    const outputs: Float32Array[] = [];
    let afterFirstPass: tf.Tensor[] | undefined;
    try {
      for (let t = 0; t < T; t++) {
        const pass = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const raw = this.network.forwardHead(t, this.network.forwardTrunk(batch.x, true, new Rng(stepSeed)));
            if (wantMetrics) outputs[t] = Float32Array.from(this.network.activate([raw])[0].dataSync());
            return reduceLoss(heads[t].loss.perSample(batch.y[t], raw), batch.w[t]);
          }, [...shared, ...headVars[t]]);
          headVars[t].forEach((v) => (headGrads[v.name] = tf.keep(grads[v.name])));
          return { loss: value, flat: tf.concat(shared.map((v) => tf.reshape(grads[v.name], [-1]))) };
        });
        rows.set(pass.flat.dataSync() as Float32Array, t * d);
        losses[t] = pass.loss.dataSync()[0];
        tf.dispose([pass.flat, pass.loss]);
        // Batch-norm statistics move once per step, not once per head.
        if (t === 0) afterFirstPass = this.network.saveBatchNormState();
        else if (afterFirstPass) this.network.restoreBatchNormState(afterFirstPass.map((s) => tf.clone(s)));
      }
    } catch (e) {
      tf.dispose(Object.values(headGrads));
      throw e;
    } finally {
      if (afterFirstPass) tf.dispose(afterFirstPass);
    }
    this.checkGradientRows(rows, T, d);
    const gram = gramOf(rows, T, d);
    const { direction, weights } = strategy.combineGradients(rows, T, d, Array.from(losses), ctx);
    tf.tidy(() => {
      const grads: tf.NamedTensorMap = { ...headGrads };
      let offset = 0;
      for (const v of shared) {
        grads[v.name] = tf.tensor(direction.subarray(offset, offset + v.size), v.shape);
        offset += v.size;
      }
      this.optimizer.apply(this.clip(grads), [...shared, ...headVars.flat()]);
    });
    tf.dispose(Object.values(headGrads));
    const w = Float32Array.from(weights);
    return {
      total: losses.reduce((s, l, t) => s + w[t] * l, 0),
      losses,
      weights: w,
      outputs: wantMetrics ? outputs.map((o, t) => o.subarray(0, n * heads[t].units)) : [],
      gram,
    };
  }

  /** Each head's loss on the batch after the update, with the same dropout masks (FAMO). */
  private lossesAfterStep(batch: TensorBatch, stepSeed: number): number[] {
    const saved = this.network.saveBatchNormState();
    try {
      return tf.tidy(() => {
        const { losses } = headLosses(this.network, this.heads, batch, true, new Rng(stepSeed));
        return Array.from(tf.stack(losses).dataSync());
      });
    } finally {
      this.network.restoreBatchNormState(saved);
    }
  }

  private splitOutputs(stats: Float32Array, offset: number, n: number, wantMetrics: boolean): Float32Array[] {
    if (!wantMetrics) return [];
    return this.heads.map((h) => {
      const out = stats.slice(offset, offset + n * h.units);
      offset += n * h.units;
      return out;
    });
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
