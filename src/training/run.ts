/**
 * The one orchestration of a training run, whatever the front door (a
 * configuration and tables, a stream, images, separate models, the library
 * API on a LayersModel or plain functions): the balancing strategy from the
 * heads, the trainer's lifecycle (resume, fit, interrupt), disposal of the
 * strategy and trainer, and the final metrics of the weights training ended
 * with. Front doors prepare data and a network and turn the outcome into
 * what they return.
 */
import { createStrategy, type BalanceSpec, type BalancedHead, type BalancingStrategy } from '../balancing/index.js';
import { MultilossError } from '../errors.js';
import type { Head } from '../model/heads/head.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import type { TrainableNetwork } from '../model/trainable-network.js';
import type { BatchSource, EvaluationSource } from './batch-source.js';
import type { EncodedData } from './data.js';
import type { TrainingStop } from './early-stopping.js';
import { labelTotals, type History, type SplitLog } from './history.js';
import type { TrainerOptions } from './options.js';
import { evaluateSource, Trainer } from './trainer.js';
import type { InterruptFlag, ResumePoint, TrainingCallbacks, TrainingCheckpoint } from './types.js';

/** The data a run trains on, with the heads fitted to it. */
export interface RunData {
  heads: readonly Head[];
  /** Rows in memory (shuffled each epoch) or a source read epoch by epoch. */
  train: EncodedData | BatchSource;
  /** Evaluated after every epoch and for the final metrics (none when it has no rows). */
  validation?: EncodedData | EvaluationSource;
  /** The training rows for the final metrics (default: `train` when it is in memory, else its `evaluation`; none for a stream). */
  trainEvaluation?: EncodedData | EvaluationSource;
}

/** Loss and metrics of the final weights, exact over each split. */
export interface FinalMetrics {
  train?: SplitLog;
  validation?: SplitLog;
}

/** What a front door hands to `runTraining`. */
export interface TrainingRun {
  network: TrainableNetwork;
  /** The front door built the network: it is disposed when the run fails. A caller's own model is left alone. */
  ownsNetwork: boolean;
  balance: BalanceSpec;
  /** The losses the strategy balances, in the heads' order. */
  balanced: readonly BalancedHead[];
  options: TrainerOptions;
  /** Checks that need the strategy, before the data is read (e.g. what the network offers the method). */
  check?(strategy: BalancingStrategy): void;
  /** The data and heads, read once the strategy exists and passed its checks. */
  data(): RunData | Promise<RunData>;
  callbacks?: TrainingCallbacks<MultilossModel>;
  interrupt?: InterruptFlag;
  /**
   * An interrupt ends the run with an 'interrupted' error (the configuration
   * front doors: their checkpoint holds the rest); otherwise the run returns
   * what it has.
   */
  interruptIsError?: boolean;
  resume?: ResumePoint;
  /** The loadable model each checkpoint carries (`TrainingCheckpoint.model`), given the strategy's current head weights and its name. */
  checkpointModel?(checkpoint: TrainingCheckpoint, weights: number[], method: string): MultilossModel;
  /** The final metrics, when the front door computes them itself (a stream reads its file once for both splits). */
  finalMetrics?(network: TrainableNetwork, heads: readonly Head[], weights: readonly number[]): Promise<FinalMetrics>;
}

/** What a run produced. The network holds the weights training ended with. */
export interface TrainingOutcome {
  heads: readonly Head[];
  history: History;
  /** The strategy's last head weights, in the heads' order. */
  weights: number[];
  balance: { method: string; state: Record<string, unknown> };
  metrics: FinalMetrics;
  /** Why training ended. */
  stop: TrainingStop;
  /** True when a callback or early stopping ended training before the configured epochs. */
  stopped: boolean;
  /** With early stopping: the best epoch. */
  bestEpoch?: number;
  /** True when an interrupt ended the run (a checkpoint was offered). */
  interrupted: boolean;
}

/** Trains a prepared network (see the module comment). */
export async function runTraining(run: TrainingRun): Promise<TrainingOutcome> {
  const { network, options } = run;
  let strategy: BalancingStrategy | undefined;
  let trainer: Trainer | undefined;
  const release = () => {
    trainer?.dispose();
    trainer = undefined;
    strategy?.dispose?.();
  };
  try {
    strategy = createStrategy(run.balance, run.balanced);
    run.check?.(strategy);
    const data = await run.data();
    const { heads } = data;
    trainer = new Trainer(network, heads, strategy, options);
    if (run.resume) {
      const r = run.resume;
      if (r.weights) network.model.setWeights(r.weights);
      await trainer.restore(r.state, r.optimizer, r.bestWeights);
    }
    const t = trainer;
    const method = strategy.name;
    await t.fit(data.train, data.validation, withCheckpointModel(run, (ck) => run.checkpointModel?.(ck, t.currentWeights(), method)), run.interrupt);
    const state = strategy.getState();
    if (t.interrupted && run.interruptIsError) {
      throw new MultilossError('interrupted', `training interrupted after epoch ${t.epochsDone} (a checkpoint was written)`);
    }
    const weights = t.currentWeights();
    const history = t.history;
    const stop = t.stop as TrainingStop;
    const totalKind = t.totalKind;
    const interrupted = t.interrupted;
    const stopped = history.length < options.epochs && !interrupted;
    const bestEpoch = t.earlyStoppingState?.bestEpoch || undefined;
    release();
    const trainRows = data.trainEvaluation ?? (isInMemory(data.train) ? data.train : data.train.evaluation);
    const batch = options.evaluationBatchSize;
    const metrics: FinalMetrics = run.finalMetrics
      ? await run.finalMetrics(network, heads, weights)
      : {
          train: trainRows ? await evaluateSource(network, heads, trainRows, weights, batch) : undefined,
          validation: data.validation && rowsOf(data.validation) > 0 ? await evaluateSource(network, heads, data.validation, weights, batch) : undefined,
        };
    labelTotals([metrics.train, metrics.validation], totalKind);
    return { heads, history, weights, balance: { method, state }, metrics, stop, stopped, bestEpoch, interrupted };
  } catch (e) {
    release();
    if (run.ownsNetwork) network.dispose();
    throw e;
  }
}

/** The run's callbacks, with the loadable model added to each checkpoint when the front door makes one. */
function withCheckpointModel(run: TrainingRun, model: (checkpoint: TrainingCheckpoint) => MultilossModel | undefined): TrainingCallbacks<MultilossModel> {
  const cb = run.callbacks ?? {};
  if (!run.checkpointModel || !cb.onCheckpoint) return cb;
  const write = cb.onCheckpoint.bind(cb);
  // Bound, not spread: callbacks may be an object whose methods use `this`.
  return {
    onTrainBegin: cb.onTrainBegin?.bind(cb),
    onEpochBegin: cb.onEpochBegin?.bind(cb),
    onBatchBegin: cb.onBatchBegin?.bind(cb),
    onBatchEnd: cb.onBatchEnd?.bind(cb),
    onEpochEnd: cb.onEpochEnd?.bind(cb),
    onTrainEnd: cb.onTrainEnd?.bind(cb),
    onCheckpoint: (ck) => write({ ...ck, model: model(ck) }),
  };
}

function isInMemory(data: EncodedData | BatchSource): data is EncodedData {
  return typeof (data as BatchSource).epoch !== 'function';
}

function rowsOf(data: EncodedData | EvaluationSource): number {
  return 'batches' in data ? data.rows : data.n;
}
