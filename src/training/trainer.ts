import * as tf from '@tensorflow/tfjs-core';
import type { BalancingStrategy } from '../balancing/strategy.js';
import { isTensorBalancer } from '../balancing/gradient-balancer.js';
import { MultilossError } from '../errors.js';
import type { Head } from '../model/heads/head.js';
import type { TrainableNetwork } from '../model/trainable-network.js';
import type { EncodedData } from './data.js';
import { memoryEvaluationSource, MemoryBatchSource, type BatchSource, type EvaluationSource } from './batch-source.js';
import { headEpochLogs, type BatchLog, type History } from './history.js';
import { EarlyStopping, resolveMonitor, type EarlyStoppingMonitor, type StopReason, type TrainingStop } from './early-stopping.js';
import { EpochRecorder, type EpochSums } from './epoch-accounting.js';
import { evaluateSource, isEvaluationSource } from './evaluation.js';
import { createOptimizer, type TrainingOptimizer } from './optimizers.js';
import type { TrainerOptions } from './options.js';
import type { CheckpointReason, InterruptFlag, NamedTensor, TrainerState, TrainingCallbacks, TrainingControl } from './types.js';
import { Rng } from '../util/rng.js';
import { learningRateAt } from './schedules.js';
import { runStep } from './steps/run-step.js';
import type { StepEnv } from './steps/step.js';

// The loop's parts live in their own modules; these are re-exported here for the callers of the trainer.
export { resolveMonitor, type EarlyStoppingMonitor, type EarlyStoppingSpec } from './early-stopping.js';
export type { EpochSums } from './epoch-accounting.js';
export { EvaluationAccumulator, evaluateEncoded, evaluateSource } from './evaluation.js';
export { headLosses, type TensorBatch } from './steps/step.js';

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
 * one backward pass per head (see steps/param-step.ts).
 */
export class Trainer {
  history: History = [];
  private rng: Rng;
  private readonly optimizer: TrainingOptimizer;
  private readonly env: StepEnv;
  private step = 0;
  private epoch = 0;
  private batchInEpoch = 0;
  private order?: ArrayLike<number>;
  private partial?: EpochSums;
  private readonly stopping: EarlyStopping;
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
    this.env = { network, heads, optimizer: this.optimizer, options };
    this.stopping = new EarlyStopping(options.earlyStopping);
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
      order: this.batchInEpoch > 0 && this.order ? Array.from(this.order) : undefined,
      partial: this.batchInEpoch > 0 ? this.partial : undefined,
      stream: this.streamRows !== undefined ? { rows: this.streamRows } : undefined,
      rng: this.rng.getState(),
      strategy: this.strategy.getState(),
      history: this.history,
      earlyStopping: this.stopping.state,
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
    this.stopping.state = state.earlyStopping;
    if (bestWeights) this.stopping.keepBest(bestWeights);
    await this.optimizer.setSlots(optimizer);
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
    const perStep = this.strategy.kind === 'gradient' ? (this.strategy.batchesPerStep ?? 1) : 1;
    const lrBase = this.options.optimizer.learningRate;
    const schedule = this.options.schedule ?? { kind: 'constant' };
    const wantMetrics = this.options.trainMetrics ?? true;
    const hasValidation = !!validationSource && validationSource.rows > 0;
    // The monitor: the caller's (e.g. a comparison's Δm), else the figure `earlyStopping.monitor` names.
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
      const recorder = new EpochRecorder(this.heads, wantMetrics, this.totalKind, this.partial);
      let lr = lrBase;
      try {
        this.order = epochBatches.order;
        // A step takes `perStep` consecutive batches of the epoch's order (MoDo's independent batches):
        // an epoch stays one pass over the rows, in fewer steps; the position stays counted in batches.
        for (let b = this.batchInEpoch; b < batches; b += perStep) {
          const group: EncodedData[] = [];
          for (let j = b; j < Math.min(b + perStep, batches); j++) {
            const batch = await epochBatches.next();
            if (batch === null || batch.n === 0) {
              throw new MultilossError('data', `the training data gave ${j * batchSize} rows in epoch ${this.epoch + 1}, ${source.rows} in the first pass: it must give the same rows every epoch`);
            }
            group.push(batch);
          }
          lr = learningRateAt(schedule, lrBase, this.epoch + b / batches, this.options.epochs);
          this.optimizer.setLearningRate(lr);
          const last = b + group.length;
          callbacks.onBatchBegin?.({ epoch: this.epoch + 1, batch: last, batches }, control);
          const batchLog = this.trainStep(group, perStep, recorder, wantMetrics);
          this.batchInEpoch = last;
          callbacks.onBatchEnd?.({ ...batchLog, epoch: this.epoch + 1, batch: last, batches }, control);
          // Give signal handlers and timers a chance to run, without a cost per step.
          if (performance.now() - lastYield > 50) {
            await yieldToEventLoop();
            lastYield = performance.now();
          }
          if (interrupt?.interrupted && last < batches) {
            this.partial = recorder.sums();
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
      const log = recorder.log(this.epoch + 1, lr, this.options.onNonFinite === 'skip-batch');
      const trainLog = log.train;
      // Loss-based strategies that adapt per epoch (DWA) see the epoch's mean training losses.
      if (this.strategy.kind === 'loss') this.strategy.endEpoch?.(this.heads.map((h) => trainLog.heads[h.name].loss), this.epoch);
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
        const result = this.stopping.epochEnd(monitor, log, this.history, () => this.network.model.getWeights());
        improved = result.improved;
        if (result.exhausted && !stopped) {
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
    const best = this.stopping.bestWeights;
    if (best && this.stopping.restoresBest) this.network.model.setWeights(best);
    this.recordStop(reason, monitor);
    await callbacks.onTrainEnd?.({ history: this.history, epochs: this.history.length, stopped: this.history.length < this.options.epochs });
    return this.history;
  }

  /** The best epoch's weights kept by early stopping (undefined when none). */
  get bestEpochWeights(): tf.Tensor[] | undefined {
    return this.stopping.bestWeights;
  }

  /** How the last `fit` ended (undefined before one ran). */
  get stop(): TrainingStop | undefined {
    return this.stopRecord;
  }

  private recordStop(reason: StopReason, monitor: EarlyStoppingMonitor | undefined): void {
    this.stopRecord = this.stopping.record(reason, monitor, this.history.length, this.options.epochs);
  }

  /** The early-stopping summary: best monitored value and its epoch. */
  get earlyStoppingState(): { best: number; bestEpoch: number; wait: number } | undefined {
    return this.stopping.state;
  }

  private async offerCheckpoint(reason: CheckpointReason, callbacks: TrainingCallbacks): Promise<void> {
    if (!callbacks.onCheckpoint) return;
    const optimizer: NamedTensor[] = await this.optimizer.getSlots();
    try {
      await callbacks.onCheckpoint({ reason, state: this.getState(), optimizer, weights: this.network.model.getWeights() });
    } finally {
      this.optimizer.releaseSlots(optimizer);
    }
  }

  /**
   * One step on `group` (one batch, or `perStep` consecutive ones), recorded into the epoch's figures.
   * An epoch's last group may be short: its batches are reused in turn to make up `perStep`, and
   * each is recorded once.
   */
  private trainStep(group: readonly EncodedData[], perStep: number, recorder: EpochRecorder, wantMetrics: boolean): Omit<BatchLog, 'epoch' | 'batch' | 'batches'> {
    const datas = Array.from({ length: perStep }, (_, j) => group[j % group.length]);
    const result = runStep(this.env, this.strategy, perStep === 1 ? group[0] : datas, { epoch: this.epoch, step: this.step, rng: this.rng }, wantMetrics);
    this.step++;
    if (!result) {
      recorder.skip();
      return { loss: NaN, headLosses: Object.fromEntries(this.heads.map((h) => [h.name, NaN])) };
    }
    const solver = this.strategy.kind === 'gradient' ? this.strategy.solverReport?.() : undefined;
    // Every batch of the group counts once in the epoch's figures: the last one given with the step's
    // update and diagnostics, the others with what the step measured on them.
    const final = (perStep - 1) % group.length;
    group.forEach((data, j) => {
      const earlier = result.earlier?.[j];
      recorder.add(data, j === final || !earlier ? result : { ...earlier, weights: result.weights }, j === final ? solver : undefined);
    });
    return { loss: result.total, headLosses: Object.fromEntries(this.heads.map((h, i) => [h.name, result.losses[i]])) };
  }

  dispose(): void {
    this.optimizer.dispose();
    // A strategy's tensors kept across steps (DB-MTL's buffers) move into its JSON state.
    if (this.strategy.kind === 'gradient' && isTensorBalancer(this.strategy)) this.strategy.releaseTensors();
    this.stopping.dispose();
  }
}

/** Lets the event loop run (signals, timers) in Node and in browsers. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => void };
  return new Promise((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}

function isBatchSource(v: EncodedData | BatchSource): v is BatchSource {
  return typeof (v as BatchSource).epoch === 'function';
}
