// What every training front door shares with the trainer: the callbacks, the control they get,
// the interrupt flag, and the one checkpoint and resume shapes.
import type * as tf from '@tensorflow/tfjs-core';
import type { EpochSums } from './epoch-accounting.js';
import type { BatchLog, History, TrainingEpochLog } from './history.js';

/** A named tensor, as tfjs optimizers save and restore their slots. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** Why a checkpoint is offered. */
export type CheckpointReason = 'every' | 'best' | 'interrupt';

export type { EpochSums };

/** Everything besides the network weights that a resumed run needs to continue exactly. */
export interface TrainerState {
  version: 1;
  /** Completed epochs. */
  epoch: number;
  /** Completed steps in the whole run. */
  step: number;
  /** Completed batches of the current epoch (0 at an epoch boundary). */
  batch: number;
  /** The current epoch's row order, when stopped inside an epoch. */
  order?: number[];
  /**
   * Set when the run reads a streaming source (a file with --stream, a
   * dataset): rows per epoch. A resume inside an epoch skips the batches done.
   */
  stream?: { rows: number };
  /** Sums of the current epoch's training figures so far, when stopped inside an epoch. */
  partial?: EpochSums;
  rng: object;
  strategy: Record<string, unknown>;
  history: History;
  earlyStopping?: { best: number; bestEpoch: number; wait: number };
}

/**
 * A checkpoint, as `onCheckpoint` (and `fitModel`'s checkpoint writer)
 * receives it. The tensors are only valid during the call.
 */
export interface TrainingCheckpoint<Model = unknown> {
  reason: CheckpointReason;
  state: TrainerState;
  /** The optimizer's slots (Adam moments, iteration count), in the optimizer's own order. */
  optimizer: NamedTensor[];
  /** The network's weights now (`model.getWeights()` order). */
  weights: tf.Tensor[];
  /**
   * A loadable model of the current weights (what a checkpoint directory
   * saves), when the run trains a MultilossModel (`fitModel`,
   * `fitModelStream`, `fitSeparate`, `trainFromConfig`: there `Model` is
   * MultilossModel); absent for `trainLayersModel`, `trainFunctionModel` and
   * a bare `Trainer`. A type parameter because the trained model is a layer
   * above the training loop (docs/architecture.md).
   */
  model?: Model;
}

/** Where a resumed run continues from (what a checkpoint held). */
export interface ResumePoint {
  state: TrainerState;
  optimizer: NamedTensor[];
  /**
   * Weights to put back first (`model.getWeights()` order). Required when the
   * front door builds the network (a configuration); omit when your model
   * already holds them.
   */
  weights?: tf.Tensor[];
  /** The best epoch's weights, when early stopping restores them. */
  bestWeights?: tf.Tensor[];
  /** A configuration run's feature preprocessing: must equal the one fitted now (same data, same configuration). */
  preprocessing?: unknown;
}

/** Set `interrupted` (e.g. from a signal handler) to stop after the current step with a checkpoint. */
export interface InterruptFlag {
  interrupted: boolean;
}

/** Lets a callback end training after the current epoch. */
export interface TrainingControl {
  stop(): void;
  readonly stopped: boolean;
}

/**
 * Callbacks with typed logs, called by the trainer itself, whatever the front
 * door: `onTrainBegin` once before the first step (also when resuming);
 * `onEpochBegin` before an epoch's first batch is read (awaited; not when
 * resuming inside an epoch); `onBatchBegin` right before each step and
 * `onBatchEnd` right after it; `onEpochEnd` after the epoch's validation;
 * `onTrainEnd` once training has ended (not after an interrupt), before the
 * final metrics are computed. `control.stop()` ends training after the
 * current epoch.
 */
export interface TrainingCallbacks<Model = unknown> {
  onTrainBegin?(info: { epochs: number; batchesPerEpoch: number; heads: string[] }): void;
  onEpochBegin?(info: { epoch: number }, control: TrainingControl): void | Promise<void>;
  onBatchBegin?(info: { epoch: number; batch: number; batches: number }, control: TrainingControl): void;
  /** Per-batch: total and every head's unweighted loss. */
  onBatchEnd?(log: BatchLog, control: TrainingControl): void;
  onEpochEnd?(log: TrainingEpochLog, control: TrainingControl): void | Promise<void>;
  onTrainEnd?(info: { history: History; epochs: number; stopped: boolean }): void | Promise<void>;
  /** Awaited before training goes on (save `weights`, `state` and `optimizer` to resume later). */
  onCheckpoint?(checkpoint: TrainingCheckpoint<Model>): Promise<void>;
}
