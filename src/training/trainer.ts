import * as tf from '@tensorflow/tfjs-core';
import type { BalancingStrategy, GradientBalancer, StepContext } from '../balancing/strategy.js';
import { isGramBalancer, isTensorBalancer } from '../balancing/gradient-balancer.js';
import { deltaMNeedsBaseline, isDeltaMMonitor } from '../compare/delta-m-monitor.js';
import { MultilossError } from '../errors.js';
import { reduceLoss } from '../losses/index.js';
import type { StreamingMetric } from '../metrics/metric.js';
import type { Head } from '../model/heads/head.js';
import type { LastBlockCapture, TrainableNetwork } from '../model/trainable-network.js';
import { combineRows, DiagnosticsAccumulator, gramOf, UpdateAccumulator } from './diagnostics.js';
import type { UpdateStep } from './diagnostics.js';
import { gramOfTensors } from '../engine/native/gram.js';
import { weightedSum } from '../engine/weighted-sum.js';
import { tidyValue, untaped } from '../engine/tidy.js';
import { inputShapeOf, type EncodedData } from './data.js';
import { memoryEvaluationSource, MemoryBatchSource, sliceEncoded, type BatchSource, type EvaluationSource } from './batch-source.js';
import { headEpochLogs, type BatchLog, type EpochLog, type HeadLog, type History, type SplitLog } from './history.js';
import type { TrainerOptions } from './options.js';
import type { CheckpointReason, EpochSums, InterruptFlag, NamedTensor, TrainerState, TrainingCallbacks, TrainingControl } from './types.js';
import { DEFAULT_MONITOR, DEFAULT_PATIENCE, type EarlyStoppingMonitor, type EarlyStoppingSpec, type StopReason, type TrainingStop } from './early-stopping.js';
import { createOptimizer, type TrainingOptimizer } from './optimizers.js';
import { Rng } from './rng.js';
import { learningRateAt } from './schedules.js';

/** A non-finite loss or gradient found during a step (before its update when skipping). */
class NonFiniteStep extends Error {
  constructor(
    readonly head: string,
    readonly what: 'loss' | 'gradient',
    readonly value: number,
  ) {
    super(`head "${head}": ${what} became ${value}`);
  }
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
  /** Gradient methods: the step's coefficients (and d's measured dots) for the per-head figures. */
  update?: UpdateStep;
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
 * gradient w.r.t. the shared parameters is computed exactly: one forward pass,
 * one backward pass per head (see `paramStep`).
 */
export class Trainer {
  history: History = [];
  private rng: Rng;
  private readonly optimizer: TrainingOptimizer;
  private step = 0;
  private epoch = 0;
  private batchInEpoch = 0;
  private order?: number[];
  private partial?: EpochSums;
  private stopping?: { best: number; bestEpoch: number; wait: number };
  private bestWeights?: tf.Tensor[];
  private stopRecord?: TrainingStop;
  /** Rows per epoch of a streaming source (saved in checkpoints), else undefined. */
  private streamRows?: number;
  /** True when the last `fit` ended because of an interrupt (a checkpoint was offered). */
  interrupted = false;

  constructor(
    private readonly network: TrainableNetwork,
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

  /** What the totals of this run's logs add up (a gradient method's head weights are 1: the plain sum). */
  get totalKind(): 'sum' | 'weighted' {
    return this.strategy.kind === 'gradient' ? 'sum' : 'weighted';
  }

  /** Completed epochs so far. */
  get epochsDone(): number {
    return this.epoch;
  }

  /** Where training stands, for a checkpoint (the network weights are saved separately). */
  getState(): TrainerState {
    return {
      version: 1,
      epoch: this.epoch,
      step: this.step,
      batch: this.batchInEpoch,
      order: this.batchInEpoch > 0 ? this.order : undefined,
      partial: this.batchInEpoch > 0 ? this.partial : undefined,
      stream: this.streamRows !== undefined ? { rows: this.streamRows } : undefined,
      rng: this.rng.getState(),
      strategy: this.strategy.getState(),
      history: this.history,
      earlyStopping: this.stopping,
    };
  }

  /**
   * Continues from a checkpoint: the caller has put the network weights back;
   * this restores the loop position, RNG, strategy and optimizer state.
   * `bestWeights` are the best epoch's weights when early stopping restores them.
   */
  async restore(state: TrainerState, optimizer: NamedTensor[], bestWeights?: tf.Tensor[]): Promise<void> {
    this.epoch = state.epoch;
    this.step = state.step;
    this.batchInEpoch = state.batch;
    this.order = state.order;
    this.partial = state.partial;
    this.rng = Rng.fromState(state.rng);
    this.strategy.setState(state.strategy);
    this.history = state.history;
    this.stopping = state.earlyStopping;
    if (bestWeights) this.bestWeights = bestWeights.map((t) => tf.keep(tf.clone(t)));
    const exact = optimizer.filter((w) => w.name.startsWith(EXACT_SLOT_PREFIX));
    const slots = optimizer.filter((w) => !w.name.startsWith(EXACT_SLOT_PREFIX));
    if (slots.length) await this.optimizer.optimizer.setWeights(slots);
    // tfjs recomputes Adam's β₁ᵗ, β₂ᵗ as powers on restore, which differ in the last bit
    // from the running products it keeps while training: put the saved values back.
    const adam = this.optimizer.optimizer as unknown as Partial<Record<string, tf.Variable>>;
    for (const w of exact) adam[w.name.slice(EXACT_SLOT_PREFIX.length)]?.assign(w.tensor);
  }

  /**
   * Trains for the configured epochs. `train` is rows in memory (shuffled
   * each epoch with the trainer's RNG) or a `BatchSource` (streamed epoch by
   * epoch); `validation` likewise, evaluated after every epoch.
   */
  async fit(
    train: EncodedData | BatchSource,
    validation?: EncodedData | EvaluationSource,
    callbacks: TrainingCallbacks = {},
    interrupt?: InterruptFlag,
  ): Promise<History> {
    const units = this.heads.map((h) => h.units);
    const source: BatchSource = isBatchSource(train) ? train : new MemoryBatchSource(train, units);
    const validationSource: EvaluationSource | undefined =
      validation === undefined ? undefined : isEvaluationSource(validation) ? validation : memoryEvaluationSource(validation, units);
    if (source.rows === 0) throw new MultilossError('data', 'no training rows left after dropping rows with every target missing');
    const batchSize = this.options.batchSize;
    const batches = Math.ceil(source.rows / batchSize);
    const lrBase = this.options.optimizer.learningRate;
    const schedule = this.options.schedule ?? { kind: 'constant' };
    const wantMetrics = this.options.trainMetrics ?? true;
    const hasValidation = !!validationSource && validationSource.rows > 0;
    const monitor = this.options.earlyStopping ? (this.options.monitor ?? resolveMonitor(this.options.earlyStopping, this.heads, hasValidation)) : undefined;
    this.streamRows = source.kind === 'stream' ? source.rows : undefined;
    this.interrupted = false;
    let stopped = false;
    let reason: StopReason = 'epoch-cap';
    const control: TrainingControl = {
      stop: () => {
        if (!stopped) reason = 'callback';
        stopped = true;
      },
      get stopped() {
        return stopped;
      },
    };
    callbacks.onTrainBegin?.({ epochs: this.options.epochs, batchesPerEpoch: batches, heads: this.heads.map((h) => h.name) });
    let lastYield = performance.now();
    while (this.epoch < this.options.epochs && !stopped) {
      const started = performance.now();
      if (this.batchInEpoch === 0 || (source.kind === 'memory' && !this.order)) {
        this.order = undefined;
        this.batchInEpoch = 0;
        this.partial = undefined;
      }
      if (this.batchInEpoch === 0) await callbacks.onEpochBegin?.({ epoch: this.epoch + 1 }, control);
      const epochBatches = await source.epoch({ epoch: this.epoch, rng: this.rng, batchSize, skip: this.batchInEpoch, order: this.order });
      const acc = new EpochAccumulator(this.heads, wantMetrics, this.totalKind, this.partial);
      const diagnostics = new DiagnosticsAccumulator(this.heads.map((h) => h.name));
      const updates = new UpdateAccumulator(this.heads.map((h) => h.name), this.partial?.update);
      let lr = lrBase;
      try {
        this.order = epochBatches.order;
        for (let b = this.batchInEpoch; b < batches; b++) {
          const batch = await epochBatches.next();
          if (batch === null || batch.n === 0) {
            throw new MultilossError('data', `the training data gave ${b * batchSize} rows in epoch ${this.epoch + 1}, ${source.rows} in the first pass: it must give the same rows every epoch`);
          }
          lr = learningRateAt(schedule, lrBase, this.epoch + b / batches, this.options.epochs);
          this.optimizer.setLearningRate(lr);
          callbacks.onBatchBegin?.({ epoch: this.epoch + 1, batch: b + 1, batches }, control);
          const batchLog = this.trainStep(batch, acc, diagnostics, updates, wantMetrics);
          this.batchInEpoch = b + 1;
          callbacks.onBatchEnd?.({ ...batchLog, epoch: this.epoch + 1, batch: b + 1, batches }, control);
          // Give signal handlers and timers a chance to run, without a cost per step.
          if (performance.now() - lastYield > 50) {
            await yieldToEventLoop();
            lastYield = performance.now();
          }
          if (interrupt?.interrupted && b + 1 < batches) {
            this.partial = { ...acc.sums(), ...(updates.empty ? {} : { update: updates.sums() }) };
            await this.offerCheckpoint('interrupt', callbacks);
            this.interrupted = true;
            this.recordStop('interrupted', monitor);
            return this.history;
          }
        }
        if (source.kind === 'stream' && (await epochBatches.next()) !== null) {
          throw new MultilossError('data', `the training data gave more than ${source.rows} rows in epoch ${this.epoch + 1} (${source.rows} in the first pass): it must give the same rows every epoch`);
        }
      } finally {
        epochBatches.close();
      }
      const trainLog = acc.result();
      if (this.strategy.kind === 'loss')
        this.strategy.endEpoch?.(
          this.heads.map((h) => trainLog.heads[h.name].loss),
          this.epoch,
        );
      const log: EpochLog = {
        epoch: this.epoch + 1,
        learningRate: lr,
        seconds: 0,
        train: trainLog,
      };
      if (!diagnostics.empty) log.diagnostics = diagnostics.result();
      if (!updates.empty) log.update = updates.result();
      if (this.options.onNonFinite === 'skip-batch') log.skippedBatches = acc.skipped;
      if (validationSource && hasValidation) {
        log.validation = await evaluateSource(
          this.network,
          this.heads,
          validationSource,
          this.heads.map((h) => trainLog.heads[h.name].weight),
          this.options.evaluationBatchSize,
        );
        log.validation.total = trainLog.total;
      }
      log.seconds = (performance.now() - started) / 1000;
      this.history.push(log);
      this.epoch++;
      this.batchInEpoch = 0;
      this.order = undefined;
      this.partial = undefined;
      let improved = false;
      if (monitor) {
        const value = monitor.read(log, this.history);
        const s = this.stopping ?? { best: monitor.mode === 'min' ? Infinity : -Infinity, bestEpoch: 0, wait: 0 };
        const delta = this.options.earlyStopping?.minDelta ?? 0;
        improved = Number.isFinite(value) && (monitor.mode === 'min' ? value < s.best - delta : value > s.best + delta);
        if (improved) {
          s.best = value;
          s.bestEpoch = log.epoch;
          s.wait = 0;
          if (this.options.earlyStopping?.restoreBest ?? true) {
            tf.dispose(this.bestWeights ?? []);
            this.bestWeights = this.network.model.getWeights().map((w) => tf.keep(tf.clone(w)));
          }
        } else {
          s.wait++;
        }
        this.stopping = s;
        if (s.wait >= (this.options.earlyStopping?.patience ?? DEFAULT_PATIENCE) && !stopped) {
          stopped = true;
          reason = 'patience';
        }
      }
      await callbacks.onEpochEnd?.({ ...log, heads: headEpochLogs(log) }, control);
      const every = this.options.checkpointEvery;
      if (improved) await this.offerCheckpoint('best', callbacks);
      if (every && this.epoch % every === 0 && this.epoch < this.options.epochs && !stopped) await this.offerCheckpoint('every', callbacks);
      if (interrupt?.interrupted && this.epoch < this.options.epochs && !stopped) {
        await this.offerCheckpoint('interrupt', callbacks);
        this.interrupted = true;
        this.recordStop('interrupted', monitor);
        return this.history;
      }
      await yieldToEventLoop();
      lastYield = performance.now();
    }
    if (this.bestWeights && (this.options.earlyStopping?.restoreBest ?? true)) {
      this.network.model.setWeights(this.bestWeights);
    }
    this.recordStop(reason, monitor);
    await callbacks.onTrainEnd?.({ history: this.history, epochs: this.history.length, stopped: this.history.length < this.options.epochs });
    return this.history;
  }

  /** The best epoch's weights kept by early stopping (undefined when none). */
  get bestEpochWeights(): tf.Tensor[] | undefined {
    return this.bestWeights;
  }

  /** How the last `fit` ended (undefined before one ran). */
  get stop(): TrainingStop | undefined {
    return this.stopRecord;
  }

  private recordStop(reason: StopReason, monitor: EarlyStoppingMonitor | undefined): void {
    const s = this.stopping;
    const restore = this.options.earlyStopping?.restoreBest ?? true;
    this.stopRecord = {
      reason,
      epochs: this.history.length,
      maxEpochs: this.options.epochs,
      ...(monitor
        ? {
            monitor: monitor.name ?? this.options.earlyStopping?.monitor ?? 'custom',
            patience: this.options.earlyStopping?.patience ?? DEFAULT_PATIENCE,
            ...(s && s.bestEpoch > 0 ? { bestEpoch: s.bestEpoch, best: s.best } : {}),
          }
        : {}),
      // An interrupted run keeps its current weights (the checkpoint resumes from them).
      restoredBest: reason !== 'interrupted' && restore && this.bestWeights !== undefined,
    };
  }

  /** The early-stopping summary: best monitored value and its epoch. */
  get earlyStoppingState(): { best: number; bestEpoch: number; wait: number } | undefined {
    return this.stopping;
  }

  private async offerCheckpoint(reason: CheckpointReason, callbacks: TrainingCallbacks): Promise<void> {
    if (!callbacks.onCheckpoint) return;
    const optimizer: NamedTensor[] = await this.optimizer.optimizer.getWeights();
    const adam = this.optimizer.optimizer as unknown as Partial<Record<string, tf.Variable>>;
    for (const name of ['accBeta1', 'accBeta2']) {
      const v = adam[name];
      if (v instanceof tf.Variable) optimizer.push({ name: EXACT_SLOT_PREFIX + name, tensor: v });
    }
    try {
      await callbacks.onCheckpoint({ reason, state: this.getState(), optimizer, weights: this.network.model.getWeights() });
    } finally {
      // getWeights returns the live slot variables plus a fresh iteration scalar: free only the latter.
      for (const w of optimizer) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
    }
  }

  private trainStep(
    data: EncodedData,
    acc: EpochAccumulator,
    diagnostics: DiagnosticsAccumulator,
    updates: UpdateAccumulator,
    wantMetrics: boolean,
  ): Omit<BatchLog, 'epoch' | 'batch' | 'batches'> {
    const heads = this.heads;
    const n = data.n;
    const T = heads.length;
    const ctx: StepContext = { epoch: this.epoch, step: this.step, rng: this.rng };
    // Every forward pass of this step (replays included) draws its dropout masks from this seed.
    const stepSeed = this.rng.seed();
    const weightsJs = data.targets.map((t) => t.weight.subarray(0, n));
    const batch: TensorBatch = {
      x: tf.tensor(data.x.subarray(0, n * data.inputSize), [n, ...inputShapeOf(data)]),
      y: data.targets.map((t, h) => tf.tensor2d(t.y.subarray(0, n * heads[h].units), [n, heads[h].units])),
      w: weightsJs.map((w) => tf.tensor1d(w)),
    };
    let result: StepResult;
    try {
      try {
        result =
          this.strategy.kind === 'gradient' && this.strategy.mode === 'param'
            ? this.paramStep(this.strategy, batch, stepSeed, ctx, wantMetrics)
            : this.tapeStep(batch, stepSeed, ctx, wantMetrics);
        for (let h = 0; h < T; h++) if (!Number.isFinite(result.losses[h])) throw new NonFiniteStep(heads[h].name, 'loss', result.losses[h]);
      } catch (e) {
        if (!(e instanceof NonFiniteStep)) throw e;
        if (this.options.onNonFinite !== 'skip-batch') {
          throw new MultilossError(
            'training',
            `${e.message} at epoch ${this.epoch + 1}, step ${this.step + 1}; lower the learning rate, set training.clipNorm, or set training.onNonFinite: skip-batch`,
          );
        }
        acc.skip();
        this.step++;
        return { loss: NaN, headLosses: Object.fromEntries(heads.map((h) => [h.name, NaN])) };
      }
      if (this.strategy.kind === 'loss' && this.strategy.afterStep) {
        const lossesAfter = this.strategy.requires?.lossesAfterStep ? this.lossesAfterStep(batch, stepSeed) : undefined;
        this.strategy.afterStep({ losses: Array.from(result.losses), lossesAfter, sharedGradNorms: result.sharedGradNorms }, ctx);
      }
    } finally {
      tf.dispose([batch.x, ...batch.y, ...batch.w]);
    }
    if (result.gram) diagnostics.add(result.gram);
    if (result.update) updates.add(result.update);
    const solver = this.strategy.kind === 'gradient' ? this.strategy.solverReport?.() : undefined;
    if (solver) diagnostics.addSolver(solver);
    acc.add(n, result.total, result.losses, result.weights, weightsJs, result.outputs, data);
    this.step++;
    const named: Record<string, number> = {};
    heads.forEach((h, i) => (named[h.name] = result.losses[i]));
    return { loss: result.total, headLosses: named };
  }

  /** Throws, naming the head, when a head's gradient has a NaN or an infinity. */
  private checkGradientRows(rows: Float32Array, T: number, d: number): void {
    for (let t = 0; t < T; t++) {
      for (let j = t * d; j < (t + 1) * d; j++) {
        if (!Number.isFinite(rows[j])) throw new NonFiniteStep(this.heads[t].name, 'gradient', rows[j]);
      }
    }
  }

  /**
   * With onNonFinite: 'skip-batch', checks the losses and the gradient before
   * the update is applied (one extra sync per step; the default policy reads
   * the losses after the step instead, at no cost).
   */
  private checkBeforeUpdate(losses: tf.Scalar[], grads: tf.NamedTensorMap): void {
    if (this.options.onNonFinite !== 'skip-batch') return;
    const values = tf.tidy(() => tf.concat([tf.stack(losses), tf.reshape(tf.addN(Object.values(grads).map((g) => tf.sum(g))), [1])]).dataSync());
    for (let t = 0; t < losses.length; t++) if (!Number.isFinite(values[t])) throw new NonFiniteStep(this.heads[t].name, 'loss', values[t]);
    if (!Number.isFinite(values[losses.length])) throw new NonFiniteStep('(all)', 'gradient', values[losses.length]);
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
    let gram: Float64Array | undefined;
    let update: UpdateStep | undefined;
    // Loss-based strategies: each head's weighted gradient at the trunk output, kept for measurements.
    let repGrads: tf.Tensor[] = [];

    // Gradient-based: every head's gradient w.r.t. the trunk output, as the rows of a T×(n·k) matrix.
    // Set inside the backward pass, thrown once it is over: an exception in the
    // middle of tfjs's backprop would strand the tensors it saved for later nodes.
    let nonFinite: NonFiniteStep | undefined;
    const aggregateRepGradients = (rows: Float32Array, n: number, k: number): tf.Tensor => {
      const d = n * k;
      const strategy = aggregator as GradientBalancer;
      // One Gram matrix (Float64) serves the finiteness check, the diagnostics and the aggregator.
      const g = gramOf(rows, T, d);
      try {
        // In Float64 a squared norm of float32 entries is finite iff every entry is.
        for (let t = 0; t < T; t++) if (!Number.isFinite(g[t * T + t])) this.checkGradientRows(rows, T, d);
      } catch (e) {
        if (!(e instanceof NonFiniteStep)) throw e;
        nonFinite = e;
        return tf.zeros([n, k]);
      }
      gram = g;
      const losses = lossTensors.map((t) => t.dataSync()[0]);
      const gramWeights = isGramBalancer(strategy) ? strategy.combineGram(g, T, d, losses, ctx) : undefined;
      if (gramWeights) {
        update = { gram: g, coefficients: gramWeights };
        return tf.tensor2d(combineRows(rows, T, d, gramWeights), [n, k]);
      }
      const { direction, weights } = strategy.combineGradients(rows, T, d, losses, ctx);
      update = { gram: g, coefficients: weights, measured: measureDirection(rows, T, d, direction) };
      return tf.tensor2d(direction, [n, k]);
    };

    /**
     * One identity op per head on the trunk output. Their gradients arrive one
     * by one during the backward pass; each is stored, and the op that
     * completes the set returns the combined direction while the others return
     * zeros (gradients into the trunk output are summed). Loss-based
     * strategies pass each slice on (slice t is already wₜ·gₜ; tfjs sums them)
     * and keep the slices for the measurements made after the step.
     */
    const fanOutOps = (rep: tf.Tensor2D): tf.Tensor2D[] => {
      const [n, k] = rep.shape;
      const rows = aggregator ? new Float32Array(T * n * k) : undefined;
      const slices: tf.Tensor[] = [];
      let pending = T;
      return heads.map(
        (_, t) =>
          tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
            value: tf.clone(args[0] as tf.Tensor),
            gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
              const g = Array.isArray(dy) ? dy[0] : dy;
              if (rows) {
                rows.set(g.dataSync() as Float32Array, t * n * k);
                return --pending > 0 ? tf.zerosLike(g) : aggregateRepGradients(rows, n, k);
              }
              // Loss-based: pass each gradient on (tfjs sums them into the trunk output's, as
              // without the fan-out); a clone, because tfjs frees what it has summed.
              slices[t] = g;
              if (--pending === 0) repGrads = slices.map((x) => tf.keep(x));
              return tf.clone(g);
            },
          }))(rep) as tf.Tensor2D,
      );
    };

    let packed: tf.Tensor;
    try {
      packed = tf.tidy(() => {
        const variables = [...this.network.trainableVariables, ...(balancer?.variables() ?? [])];
        const { value, grads } = tf.variableGrads(() => {
          const rep = this.network.forwardTrunk(batch.x, true, new Rng(stepSeed), capture);
          if (capture?.input) capture.input = tf.keep(capture.input);
          if (capture?.pre) capture.pre = tf.keep(capture.pre);
          const reps: tf.Tensor2D[] = fanOut ? fanOutOps(rep) : heads.map(() => rep);
          const raw = reps.map((r, t) => this.network.forwardHead(t, r, batch.x));
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
        if (nonFinite) throw nonFinite;
        this.checkBeforeUpdate(lossTensors, grads);
        this.optimizer.apply(this.clip(grads), variables);
        return tf.concat([tf.reshape(value, [1]), ...lossTensors.map((t) => tf.reshape(t, [1])), ...(weightTensor ? [weightTensor] : []), ...kept]);
      });
    } catch (e) {
      tf.dispose([
        ...kept,
        ...lossTensors,
        ...repGrads,
        ...(weightTensor ? [weightTensor] : []),
        ...(capture?.input ? [capture.input] : []),
        ...(capture?.pre ? [capture.pre] : []),
      ]);
      throw e;
    }
    const stats = packed.dataSync() as Float32Array;
    let sharedGradNorms: number[] | undefined;
    if (repGrads.length === T) {
      const measured = this.measureRepGradients(repGrads, stats.subarray(1 + T, 1 + 2 * T), capture, wantNorms);
      gram = measured.gram;
      sharedGradNorms = measured.norms;
    }
    tf.dispose([
      packed,
      ...kept,
      ...lossTensors,
      ...repGrads,
      ...(weightTensor ? [weightTensor] : []),
      ...(capture?.input ? [capture.input] : []),
      ...(capture?.pre ? [capture.pre] : []),
    ]);

    const losses = stats.slice(1, 1 + T);
    let offset = 1 + T;
    let weights: Float32Array;
    let total: number;
    if (balancer) {
      weights = stats.slice(offset, offset + T);
      offset += T;
      total = stats[0];
    } else {
      // Gradient methods weigh gradients, not losses: their total is the unweighted sum.
      weights = new Float32Array(T).fill(1);
      total = losses.reduce((s, l) => s + l, 0);
    }
    return { total, losses, weights, outputs: this.splitOutputs(stats, offset, batch.x.shape[0], wantMetrics), gram, sharedGradNorms, update };
  }

  /**
   * From the heads' weighted gradients at the trunk output (slice t = wₜ·gₜ,
   * wₜ = ∂total/∂Lₜ): the Gram matrix of the unweighted gₜ (diagnostics) and,
   * for GradNorm, ‖∇ Lₜ‖ over the last shared layer. A head whose weight is 0
   * has no recoverable gradient and reports 0.
   */
  private measureRepGradients(
    slices: tf.Tensor[],
    weights: Float32Array,
    capture: LastBlockCapture | undefined,
    wantNorms: boolean,
  ): { gram?: Float64Array; norms?: number[] } {
    const T = slices.length;
    // Everything below is linear in each slice: measure the weighted slices as they are and
    // undo the weights on the T×T and T numbers that come back (no T×n×k rescaling pass).
    const inverse = Array.from(weights, (w) => (w !== 0 && Number.isFinite(w) ? 1 / w : 0));
    return tidyValue(() => {
      let gram: Float64Array | undefined;
      if (this.options.diagnostics) {
        gram = new Float64Array(T * T);
        const dots: tf.Tensor[] = [];
        for (let a = 0; a < T; a++) for (let b = a; b < T; b++) dots.push(tf.sum(a === b ? tf.square(slices[a]) : tf.mul(slices[a], slices[b])));
        const values = tf.stack(dots).dataSync();
        let p = 0;
        for (let a = 0; a < T; a++) {
          for (let b = a; b < T; b++) {
            const v = values[p++] * inverse[a] * inverse[b];
            gram[a * T + b] = v;
            gram[b * T + a] = v;
          }
        }
        for (let t = 0; t < T; t++) {
          if (!Number.isFinite(gram[t * T + t])) {
            throw new MultilossError(
              'training',
              `head "${this.heads[t].name}": gradient became non-finite at epoch ${this.epoch + 1}, step ${this.step + 1}; lower the learning rate or set training.clipNorm`,
            );
          }
        }
      }
      const norms = wantNorms && capture ? this.network.lastBlockGradNorms(capture, slices as tf.Tensor2D[]).map((v, t) => v * Math.abs(inverse[t])) : undefined;
      return { gram, norms };
    });
  }

  /**
   * Exact per-head gradients w.r.t. the shared parameters from ONE forward
   * pass: the forward runs inside a gradient scope (`withTape`), so its tape
   * (and dropout masks, batch-norm updates) serves one backward pass per head.
   * Strategies that work from GGᵀ (`isGramBalancer`) keep the T per-head
   * gradients as tensors: the Gram matrix (which is also the finiteness check
   * and the diagnostics), and the direction Σₜ wₜgₜ are tensor ops, and only T
   * losses and T×T numbers are read back. Strategies that keep tensors across
   * steps (`isTensorBalancer`: DB-MTL's EMA buffers) get the per-head tensors
   * and return the direction as tensors. Other strategies (custom ones)
   * receive the T×d rows. A shared variable a head does not reach has a
   * zero gradient for that head.
   */
  private paramStep(strategy: GradientBalancer, batch: TensorBatch, stepSeed: number, ctx: StepContext, wantMetrics: boolean): StepResult {
    const heads = this.heads;
    const T = heads.length;
    const n = batch.x.shape[0];
    const shared = this.network.sharedVariables;
    const headVars = this.network.headVariables;
    const d = shared.reduce((s, v) => s + v.size, 0);
    const V = shared.length;
    const shapes = shared.map((v) => v.shape);
    // perHead[t][i]: head t's gradient w.r.t. shared[i] (undefined: the head does not reach it).
    const perHead: (tf.Tensor | undefined)[][] = [];
    const headGrads: tf.NamedTensorMap = {};
    const kept: tf.Tensor[] = [];
    const keep = <X extends tf.Tensor>(x: X): X => {
      kept.push(tf.keep(x));
      return x;
    };
    let lossVec: tf.Tensor | undefined;
    let outputs: tf.Tensor[] = [];
    try {
      this.withTape(() => {
        const rep = this.network.forwardTrunk(batch.x, true, new Rng(stepSeed));
        const raw = heads.map((_, t) => this.network.forwardHead(t, rep, batch.x));
        const losses = raw.map((r, t) => reduceLoss(heads[t].loss.perSample(batch.y[t], r), batch.w[t]));
        lossVec = keep(tf.stack(losses));
        if (wantMetrics) outputs = this.network.activate(raw).map((o) => keep(tf.reshape(o, [-1])));
        for (let t = 0; t < T; t++) {
          // Untaped: recorded onto the scope's tape, this backward pass would lengthen what the next head's filters.
          const { grads } = untaped(() => tf.variableGrads(() => losses[t], [...shared, ...headVars[t]]));
          for (const v of headVars[t]) headGrads[v.name] = keep(grads[v.name] ?? tf.zerosLike(v));
          perHead[t] = shared.map((v) => (grads[v.name] ? keep(grads[v.name]) : undefined));
        }
      });
      const gramBalancer = isGramBalancer(strategy) ? strategy : undefined;
      // One read-back: the losses, the Gram matrix's upper triangle per shared variable (elementwise
      // products and sums: far faster than a T×size by size×T matmul), the outputs.
      const pairs: [number, number][] = [];
      for (let a = 0; a < T; a++) for (let b = a; b < T; b++) pairs.push([a, b]);
      // Native path (Node, wasm backend): all pair dots of all shared variables in one addon call.
      const nativeGram = gramOfTensors(perHead);
      const stats = tidyValue(() => {
        const dots: tf.Tensor[] = [];
        for (let i = 0; i < V && !nativeGram; i++) {
          for (const [a, b] of pairs) {
            const ga = perHead[a][i];
            const gb = perHead[b][i];
            dots.push(ga && gb ? tf.sum(a === b ? tf.square(ga) : tf.mul(ga, gb)) : tf.scalar(0));
          }
        }
        return tf.concat([lossVec as tf.Tensor, ...(nativeGram ? [] : [tf.stack(dots)]), ...outputs]).dataSync() as Float32Array;
      });
      const losses = stats.slice(0, T);
      for (let t = 0; t < T; t++) if (!Number.isFinite(losses[t])) throw new NonFiniteStep(heads[t].name, 'loss', losses[t]);
      const gram = nativeGram ?? new Float64Array(T * T);
      for (let i = 0; i < V && !nativeGram; i++) {
        pairs.forEach(([a, b], p) => {
          const v = stats[T + i * pairs.length + p];
          gram[a * T + b] += v;
          if (a !== b) gram[b * T + a] += v;
        });
      }
      // ‖gₜ‖² is finite iff every entry of gₜ is (short of float32 overflow); only then look closer.
      for (let t = 0; t < T; t++) if (!Number.isFinite(gram[t * T + t])) this.explainNonFiniteGram(perHead, T, d);
      let direction: tf.Tensor[] | undefined;
      let measured: UpdateStep['measured'];
      let weights = gramBalancer?.combineGram(gram, T, d, Array.from(losses), ctx);
      // Strategies that keep tensors across steps (DB-MTL's EMA buffers): the direction as tensors.
      const tensorStep = !weights && isTensorBalancer(strategy) ? strategy.combineTensors(perHead, shapes, Array.from(losses), ctx) : undefined;
      if (tensorStep) {
        weights = tensorStep.weights;
        direction = tensorStep.direction;
        kept.push(...direction);
        measured = measureDirectionTensors(perHead, direction);
      } else if (!weights) {
        const rows = this.downloadGradientRows(perHead);
        this.checkGradientRows(rows, T, d);
        const combined = strategy.combineGradients(rows, T, d, Array.from(losses), ctx);
        weights = combined.weights;
        measured = measureDirection(rows, T, d, combined.direction);
        let offset = 0;
        direction = shared.map((v) => {
          const part = tf.tensor(combined.direction.subarray(offset, offset + v.size), v.shape);
          offset += v.size;
          return part;
        });
      }
      const w = weights;
      // Native Adam without clipping: Σₜ wₜgₜ is formed inside the optimizer's step, never written out.
      const fused =
        !direction &&
        !this.clips &&
        this.optimizer.applyWeighted([
          ...Object.keys(headGrads).map((name) => ({ name, terms: [headGrads[name]], weights: [1] })),
          ...shared.map((v, i) => ({ name: v.name, terms: perHead.map((row) => row[i]), weights: w })),
        ]);
      if (!fused) {
        tf.tidy(() => {
          const grads: tf.NamedTensorMap = { ...headGrads };
          shared.forEach((v, i) => {
            if (direction) {
              grads[v.name] = direction[i];
              return;
            }
            // Σₜ wₜgₜ; heads with weight 0 or no gradient here contribute nothing.
            grads[v.name] = weightedSum(perHead.map((row) => row[i]), w, v.shape);
          });
          this.optimizer.apply(this.clip(grads), [...shared, ...headVars.flat()]);
          if (direction) tf.dispose(direction);
        });
      }
      let offset = T + (nativeGram ? 0 : V * pairs.length);
      return {
        // Gradient methods weigh gradients, not losses: their total is the unweighted sum.
        total: losses.reduce((s, l) => s + l, 0),
        losses,
        weights: new Float32Array(T).fill(1),
        update: { gram, coefficients: w, ...(measured ? { measured } : {}) },
        outputs: wantMetrics
          ? heads.map((h) => {
              const out = stats.slice(offset, offset + n * h.units);
              offset += n * h.units;
              return out;
            })
          : [],
        gram,
      };
    } finally {
      tf.dispose(kept);
    }
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
  /**
   * Runs `fn` inside a gradient scope: while it runs, tfjs records one tape
   * and keeps the tensors saved for the backward pass, so several
   * `tf.variableGrads` calls inside `fn` can each backpropagate through the
   * same forward pass (tfjs frees a tape after its first backward pass only
   * at the outermost gradient level). The scope itself differentiates a
   * dummy 0·z. Tensors `fn` creates are released unless kept.
   */
  private withTape(fn: () => void): void {
    tf.tidy(() => {
      tf.grad((z: tf.Tensor) => {
        fn();
        return tf.mul(z, 0);
      })(tf.scalar(0));
    });
  }

  /**
   * Called when a diagonal entry of the per-head Gram matrix is not finite:
   * throws NonFiniteStep for the first head with a NaN or infinite gradient
   * entry, or (finite entries whose squares overflow float32) a training error.
   */
  private explainNonFiniteGram(perHead: (tf.Tensor | undefined)[][], T: number, d: number): never {
    this.checkGradientRows(this.downloadGradientRows(perHead), T, d);
    throw new MultilossError(
      'training',
      `the heads' gradients overflow (squared norms beyond float32) at epoch ${this.epoch + 1}, step ${this.step + 1}; lower the learning rate or set training.clipNorm`,
    );
  }

  /** The per-head gradients on the shared variables as a row-major T×d matrix (a missing gradient is zero). */
  private downloadGradientRows(perHead: (tf.Tensor | undefined)[][]): Float32Array {
    const shared = this.network.sharedVariables;
    return tidyValue(
      () =>
        tf
          .concat(perHead.flatMap((row) => shared.map((v, i) => (row[i] ? tf.reshape(row[i] as tf.Tensor, [-1]) : tf.zeros([v.size])))))
          .dataSync() as Float32Array,
    );
  }


  private splitOutputs(stats: Float32Array, offset: number, n: number, wantMetrics: boolean): Float32Array[] {
    if (!wantMetrics) return [];
    return this.heads.map((h) => {
      const out = stats.slice(offset, offset + n * h.units);
      offset += n * h.units;
      return out;
    });
  }

  /** Whether `clip` changes gradients (clipNorm or clipValue set). */
  private get clips(): boolean {
    return !!this.options.clipNorm || !!this.options.clipValue;
  }

  private clip(grads: tf.NamedTensorMap): tf.NamedTensorMap {
    const { clipNorm, clipValue } = this.options;
    if (!this.clips) return grads;
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
    // A strategy's tensors kept across steps (DB-MTL's buffers) move into its JSON state.
    if (this.strategy.kind === 'gradient' && isTensorBalancer(this.strategy)) this.strategy.releaseTensors();
    tf.dispose(this.bestWeights ?? []);
    this.bestWeights = undefined;
  }
}

/** Optimizer state saved beside tfjs's own slots (see `restore`). */
const EXACT_SLOT_PREFIX = 'multiloss.exact/';

/** Lets the event loop run (signals, timers) in Node and in browsers. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => void };
  return new Promise((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * Σₜ Lₜ(e) / Lₜ(1) / T over the heads whose first-epoch loss is finite and
 * positive (the weighted total when there is none): scale-free, and blind to
 * the balancing weights.
 */
function relativeLoss(split: SplitLog | undefined, first: SplitLog | undefined): number {
  if (!split) return NaN;
  let sum = 0;
  let count = 0;
  for (const [name, head] of Object.entries(split.heads)) {
    const ref = first?.heads[name]?.loss;
    if (ref === undefined || !Number.isFinite(ref) || ref <= 0) continue;
    sum += head.loss / ref;
    count++;
  }
  return count ? sum / count : split.loss;
}

/** Parses an early-stopping monitor against the heads and their metrics; errors name what exists. */
export function resolveMonitor(spec: EarlyStoppingSpec, heads: readonly Head[], hasValidation: boolean): EarlyStoppingMonitor {
  const text = spec.monitor ?? (hasValidation ? DEFAULT_MONITOR : 'train.loss');
  // Δm needs the separate models' metrics as a reference: only a comparison has them.
  if (isDeltaMMonitor(text)) throw deltaMNeedsBaseline(text);
  const parts = text.split('.');
  const split = parts[0];
  const valid = () => {
    const names = [`${hasValidation ? 'validation' : 'train'}.relativeLoss`, `${hasValidation ? 'validation' : 'train'}.loss`];
    for (const h of heads) {
      names.push(`validation.${h.name}.loss`);
      for (const m of h.createMetrics()) names.push(`validation.${h.name}.${m.name}`);
    }
    return names.slice(0, 40).join(', ');
  };
  if ((split !== 'train' && split !== 'validation') || parts.length < 2) {
    throw new MultilossError('config', `training.earlyStopping.monitor "${text}": expected train.… or validation.…, e.g. ${valid()}`);
  }
  if (split === 'validation' && !hasValidation) {
    throw new MultilossError(
      'config',
      `training.earlyStopping.monitor "${text}": there is no validation data (set validation.split or validation.data), or monitor train.loss`,
    );
  }
  const pick = (log: EpochLog | undefined) => (split === 'train' ? log?.train : log?.validation);
  if (parts.length === 2 && parts[1] === 'loss') {
    return { mode: spec.mode ?? 'min', name: text, read: (log) => pick(log)?.loss ?? NaN };
  }
  if (parts.length === 2 && parts[1] === 'relativeLoss') {
    return { mode: spec.mode ?? 'min', name: text, read: (log, history) => relativeLoss(pick(log), pick(history[0])) };
  }
  // Head names may contain dots: the head is everything between the split and the last part.
  const figure = parts[parts.length - 1];
  const headName = parts.slice(1, -1).join('.');
  const head = heads.find((h) => h.name === headName);
  if (!head) throw new MultilossError('config', `training.earlyStopping.monitor "${text}": no head "${headName}"; valid monitors: ${valid()}`);
  if (figure === 'loss') return { mode: spec.mode ?? 'min', name: text, read: (log) => pick(log)?.heads[head.name]?.loss ?? NaN };
  const metric = head.createMetrics().find((m) => m.name === figure);
  if (!metric) {
    throw new MultilossError(
      'config',
      `training.earlyStopping.monitor "${text}": head "${headName}" has no metric "${figure}"; it has: loss, ${head
        .createMetrics()
        .map((m) => m.name)
        .join(', ')}`,
    );
  }
  return { mode: spec.mode ?? (metric.higherIsBetter ? 'max' : 'min'), name: text, read: (log) => pick(log)?.heads[head.name]?.metrics[figure] ?? NaN };
}

/** A batch as tensors: features, each head's targets and per-row loss weights (0 = label missing). */
export interface TensorBatch {
  /** n × inputSize, or n × H × W × C for image inputs. */
  x: tf.Tensor;
  y: tf.Tensor2D[];
  w: tf.Tensor1D[];
}

/**
 * Forward pass and every head's masked, weighted mean loss: the quantity the
 * trainer differentiates. Exported so tests can take gradients of one head.
 */
export function headLosses(
  network: TrainableNetwork,
  heads: readonly Head[],
  batch: TensorBatch,
  training: boolean,
  rng?: Rng,
): { raw: tf.Tensor2D[]; losses: tf.Scalar[] } {
  const raw = network.forwardHeads(network.forwardTrunk(batch.x, training, rng), batch.x);
  const losses = raw.map((r, h) => reduceLoss(heads[h].loss.perSample(batch.y[h], r), batch.w[h]));
  return { raw, losses };
}

/** Sums one epoch's batch results into per-head means and metrics. */
/**
 * Sums one epoch's batch results into per-head means and metrics. After a
 * resume inside an epoch, the sums continue; the training metrics cover the
 * batches after the resume (streaming metric states are not checkpointed).
 */
/** gₜ·d per row t of a row-major T×dim matrix, and ‖d‖², in Float64. */
function measureDirection(rows: Float32Array, T: number, dim: number, direction: ArrayLike<number>): { dots: Float64Array; normSq: number } {
  const dots = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let i = 0, o = t * dim; i < dim; i++) s += rows[o + i] * direction[i];
    dots[t] = s;
  }
  let normSq = 0;
  for (let i = 0; i < dim; i++) normSq += direction[i] * direction[i];
  return { dots, normSq };
}

/** The same for per-head gradient tensors (perHead[t][i], undefined: zero) and a direction per shared variable. */
function measureDirectionTensors(perHead: readonly (readonly (tf.Tensor | undefined)[])[], direction: readonly tf.Tensor[]): { dots: Float64Array; normSq: number } {
  const T = perHead.length;
  // Native path: d as one more row of the Gram matrix, in one addon call (no kernels, no read-back).
  const gram = gramOfTensors([...perHead, direction]);
  if (gram) return { dots: Float64Array.from({ length: T }, (_, t) => gram[t * (T + 1) + T]), normSq: gram[T * (T + 1) + T] };
  const values = tidyValue(() => {
    const sums = perHead.map((row) => tf.addN([tf.scalar(0), ...row.flatMap((g, i) => (g ? [tf.sum(tf.mul(g, direction[i]))] : []))]));
    sums.push(tf.addN([tf.scalar(0), ...direction.map((x) => tf.sum(tf.square(x)))]));
    return tf.stack(sums).dataSync() as Float32Array;
  });
  return { dots: Float64Array.from(values.subarray(0, perHead.length)), normSq: values[perHead.length] };
}

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
 * Losses and metrics summed batch by batch in inference mode, exact over
 * everything added (not an average of batch averages).
 */
export class EvaluationAccumulator {
  private readonly lossSum: Float64Array;
  private readonly weightSum: Float64Array;
  private readonly metrics: StreamingMetric[][];

  constructor(
    private readonly network: TrainableNetwork,
    private readonly heads: readonly Head[],
  ) {
    this.lossSum = new Float64Array(heads.length);
    this.weightSum = new Float64Array(heads.length);
    this.metrics = heads.map((h) => h.createMetrics());
  }

  /** One forward pass over the batch's rows. */
  add(data: EncodedData): void {
    const { network, heads } = this;
    const T = heads.length;
    const n = data.n;
    if (n === 0) return;
    const packed = tf.tidy(() => {
      const x = tf.tensor(data.x.subarray(0, n * data.inputSize), [n, ...inputShapeOf(data)]);
      const raw = network.forwardHeads(network.forwardTrunk(x, false), x);
      const parts: tf.Tensor[] = [];
      raw.forEach((r, h) => {
        const y = tf.tensor2d(data.targets[h].y.subarray(0, n * heads[h].units), [n, heads[h].units]);
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
        const w = t.weight[r];
        if (w > 0) {
          this.lossSum[h] += w * perSample[h][r];
          this.weightSum[h] += w;
        }
      }
      const yTrue = t.yMetric.subarray(0, len);
      const mask = t.mask.subarray(0, n);
      for (const m of this.metrics[h]) m.update(yTrue, yPred, mask);
    }
  }

  /** `weights` are the head weights for the total. */
  result(weights: readonly number[]): SplitLog {
    const out: Record<string, HeadLog> = {};
    let total = 0;
    this.heads.forEach((head, h) => {
      const loss = this.weightSum[h] > 0 ? this.lossSum[h] / this.weightSum[h] : 0;
      total += weights[h] * loss;
      out[head.name] = { loss, weight: weights[h], metrics: Object.fromEntries(this.metrics[h].map((m) => [m.name, m.result()])) };
    });
    return { loss: total, heads: out };
  }
}

/**
 * Losses and metrics over a whole data set in inference mode, exact (not an
 * average of batch averages). `weights` are the head weights for the total.
 */
export function evaluateEncoded(network: TrainableNetwork, heads: readonly Head[], data: EncodedData, weights: readonly number[], batchSize = 1024): SplitLog {
  const acc = new EvaluationAccumulator(network, heads);
  const units = heads.map((h) => h.units);
  for (let start = 0; start < data.n; start += batchSize) {
    acc.add(sliceEncoded(data, start, Math.min(data.n, start + batchSize), units));
  }
  return acc.result(weights);
}

/** `evaluateEncoded` over a source read batch by batch (a validation file streamed, a dataset). */
export async function evaluateSource(
  network: TrainableNetwork,
  heads: readonly Head[],
  source: EncodedData | EvaluationSource,
  weights: readonly number[],
  batchSize = 1024,
): Promise<SplitLog> {
  if (!isEvaluationSource(source)) return evaluateEncoded(network, heads, source, weights, batchSize);
  const acc = new EvaluationAccumulator(network, heads);
  for await (const batch of source.batches(batchSize)) acc.add(batch);
  return acc.result(weights);
}

function isBatchSource(v: EncodedData | BatchSource): v is BatchSource {
  return typeof (v as BatchSource).epoch === 'function';
}

function isEvaluationSource(v: EncodedData | EvaluationSource): v is EvaluationSource {
  return typeof (v as EvaluationSource).batches === 'function';
}
