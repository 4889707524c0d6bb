import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Rng } from '../util/rng.js';
import type { HeadActivation } from './heads/head.js';

/** What a network needs to know about each head to build its output layer. */
export interface OutputSpec {
  name: string;
  units: number;
  activation: HeadActivation;
}

/** Filled by `forwardTrunk` for a later replay of the last shared block (a strategy's `requires.sharedGradNorms`). */
export interface LastBlockCapture {
  input?: tf.Tensor2D;
  /**
   * The last block's dense output before its activation (no batch norm only); for relu and linear
   * blocks their output, which gives the same act′ (step(relu(z)) = step(z)).
   */
  pre?: tf.Tensor2D;
  seed?: number;
}

/**
 * The network contract the trainer works with. An architecture (hard sharing,
 * MMoE, cross-stitch, a user's own LayersModel …) splits its forward pass in
 * two: `forwardTrunk` computes the shared representation — what 'rep'-mode
 * gradient methods differentiate against — and `forwardHead` each head's raw
 * (pre-activation) output from it (and from the input, for heads that also
 * read it, e.g. MMoE gates). `model` is the standard LayersModel that is saved
 * and that plain tfjs loads, with one output per head.
 */
export interface TrainableNetwork {
  readonly model: tfl.LayersModel;
  readonly outputs: readonly OutputSpec[];
  /** Trainable variables used by more than one head (what gradient methods balance). */
  readonly sharedVariables: tf.Variable[];
  /** Trainable variables used by one head only, per head. */
  readonly headVariables: tf.Variable[][];
  readonly trainableVariables: tf.Variable[];
  /** The last shared layer's trainable variables (W of `requires.sharedGradNorms`). */
  readonly lastSharedVariables: tf.Variable[];
  /** Shared representation (n × k). Dropout masks come from `rng` when training. */
  forwardTrunk(x: tf.Tensor, training: boolean, rng?: Rng, capture?: LastBlockCapture): tf.Tensor2D;
  /** Head `head`'s raw output from the shared representation (and the input batch). */
  forwardHead(head: number, rep: tf.Tensor2D, input?: tf.Tensor): tf.Tensor2D;
  forwardHeads(rep: tf.Tensor2D, input?: tf.Tensor): tf.Tensor2D[];
  /** Each head's output activation (softmax / sigmoid / identity) applied to its raw output. */
  activate(raw: tf.Tensor2D[]): tf.Tensor2D[];
  /** Inference: the saved network's outputs, one n×units tensor per head. */
  predict(x: tf.Tensor): tf.Tensor2D[];
  /** ‖∇ Lₜ‖ over `lastSharedVariables`, from each head's gradient w.r.t. the representation (one n×k per head). */
  lastBlockGradNorms(capture: LastBlockCapture, grads: readonly tf.Tensor2D[]): number[];
  /** Copies of non-trainable state a training forward pass updates (batch-norm statistics), kept across a replay such as `requires.lossesAfterStep`'s. */
  saveBatchNormState(): tf.Tensor[];
  restoreBatchNormState(saved: tf.Tensor[]): void;
  countParams(): number;
  dispose(): void;
}
