import type * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import type { SolverReport } from './aggregation/types.js';

/** Where the trainer is when it asks a strategy for weights. */
export interface StepContext {
  /** 0-based epoch. */
  epoch: number;
  /** 0-based step within the run. */
  step: number;
  rng: Rng;
}

/** What the trainer tells a strategy about each head once, before training. */
export interface BalancedHead {
  name: string;
  kind: string;
  /** The head's static loss weight from its configuration (1 when not set). */
  weight: number;
}

/** What the trainer reports to a strategy after each optimizer step. */
export interface StepFeedback {
  /** Each head's unweighted loss on this step's batch, before the update. */
  losses: readonly number[];
  /** Each head's loss on the same batch after the update (same dropout masks), when `requires.lossesAfterStep`. */
  lossesAfter?: readonly number[];
  /**
   * L2 norm of the gradient of each head's unweighted loss w.r.t. the last
   * shared layer's parameters, when `requires.sharedGradNorms`.
   */
  sharedGradNorms?: readonly number[];
}

/** Extra measurements a strategy asks the trainer to make at every step. */
export interface BalancerRequirements {
  lossesAfterStep?: boolean;
  sharedGradNorms?: boolean;
}

/**
 * A loss-based strategy: turns the heads' unweighted losses into the total
 * loss inside the gradient tape (one backward pass per step).
 */
export interface LossBalancer {
  readonly kind: 'loss';
  readonly name: string;
  readonly requires?: BalancerRequirements;
  /** Called after every optimizer step (learned weights update here: FAMO, GradNorm). */
  afterStep?(feedback: StepFeedback, ctx: StepContext): void;
  /**
   * Total loss from the per-head losses (scalars, same order as the heads) and
   * the weights applied to them, as a length-T tensor for the history.
   * Called inside the gradient tape: may use the strategy's own variables.
   */
  combine(losses: tf.Scalar[], ctx: StepContext): { total: tf.Scalar; weights: tf.Tensor1D };
  /** Variables the strategy learns together with the model (e.g. log-variances). */
  variables(): tf.Variable[];
  /** Called after each epoch with the heads' mean training losses. */
  endEpoch?(meanLosses: readonly number[], epoch: number): void;
  /** JSON-serialisable state for checkpoints and multiloss.json. */
  getState(): Record<string, unknown>;
  setState(state: Record<string, unknown>): void;
  dispose?(): void;
}

/**
 * A gradient strategy's loss half (IMTL's learned loss scales): each head's
 * loss is transformed inside the tape before its gradient is taken, so the
 * rows the strategy combines are the gradients of the transformed losses. Its
 * variables are trained by the model's optimizer, each head's backward pass
 * contributing its part of their gradient.
 */
export interface LossTransform {
  /** One transformed loss per head (scalars, same order as the heads). */
  transform(losses: tf.Scalar[]): tf.Scalar[];
  variables(): tf.Variable[];
}

/**
 * A gradient-based strategy: given each head's gradient on the shared part
 * (rows of a T×d matrix), returns the direction to apply there. Head-owned
 * parameters always receive their own head's gradient.
 */
export interface GradientBalancer {
  readonly kind: 'gradient';
  readonly name: string;
  /** 'param': gradients w.r.t. the shared parameters; 'rep': w.r.t. the shared representation. */
  readonly mode: 'param' | 'rep';
  combineGradients(grads: Float32Array, tasks: number, dim: number, losses: readonly number[], ctx: StepContext): { direction: Float32Array; weights: Float64Array };
  /** Iterations and final residual of the solver behind the last combine call, if it ran one (per-epoch diagnostics). */
  solverReport?(): SolverReport | undefined;
  /** The loss half, when the method has one: the per-head losses are transformed before their gradients are taken. */
  readonly lossTransform?: LossTransform;
  /**
   * Independent mini-batches each step takes (default 1): the trainer hands the param step that many
   * consecutive batches of the epoch's order, and `combineGram` gets their joint Gram matrix.
   */
  readonly batchesPerStep?: number;
  getState(): Record<string, unknown>;
  setState(state: Record<string, unknown>): void;
  /** Frees the strategy's own tensors (the loss half's variables). */
  dispose?(): void;
}

export type BalancingStrategy = LossBalancer | GradientBalancer;
