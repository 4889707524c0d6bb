// What the two step paths (tape-step.ts, param-step.ts) share: the batch as
// tensors, the forward pass with every head's loss, and what a step returns.
import * as tf from '@tensorflow/tfjs-core';
import type { StepContext } from '../../balancing/strategy.js';
import { reduceLoss } from '../../losses/index.js';
import type { Head } from '../../model/heads/head.js';
import type { TrainableNetwork } from '../../model/trainable-network.js';
import type { ClipOptions } from '../clipping.js';
import type { UpdateStep } from '../diagnostics.js';
import type { NonFinitePolicy } from '../non-finite.js';
import type { TrainingOptimizer } from '../optimizers.js';
import { Rng } from '../../util/rng.js';

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

/** What a step works with: the model, its heads, the optimizer and the options that change a step. */
export interface StepEnv {
  network: TrainableNetwork;
  heads: readonly Head[];
  optimizer: TrainingOptimizer;
  options: ClipOptions & { onNonFinite?: NonFinitePolicy; diagnostics?: boolean };
}

/** One step's input: the batch, the seed of its dropout masks, where training stands, and whether to return outputs for the metrics. */
export interface StepInput {
  batch: TensorBatch;
  /** Every forward pass of this step (replays included) draws its dropout masks from this seed. */
  stepSeed: number;
  ctx: StepContext;
  wantMetrics: boolean;
  /**
   * The step's earlier independent batches, for a strategy that takes several per step
   * (`batchesPerStep`, param mode); `batch` is the last, the one the direction is formed on.
   */
  earlier?: readonly { batch: TensorBatch; stepSeed: number }[];
}

/** What a step measured on one of its earlier batches (for the epoch's figures). */
export interface EarlierBatchResult {
  total: number;
  losses: Float32Array;
  outputs: Float32Array[];
}

/** What one optimizer step produced, in plain numbers. */
export interface StepResult {
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
  /** The losses and outputs on `StepInput.earlier`'s batches, in their order. */
  earlier?: EarlierBatchResult[];
}

/** Each head's loss on the batch after the update, with the same dropout masks (for `requires.lossesAfterStep`). */
export function lossesAfterStep(env: StepEnv, batch: TensorBatch, stepSeed: number): number[] {
  const saved = env.network.saveBatchNormState();
  try {
    return tf.tidy(() => {
      const { losses } = headLosses(env.network, env.heads, batch, true, new Rng(stepSeed));
      return Array.from(tf.stack(losses).dataSync());
    });
  } finally {
    env.network.restoreBatchNormState(saved);
  }
}

/** The heads' activated outputs (n×units each) packed from `offset` on, when training metrics are on. */
export function splitOutputs(heads: readonly Head[], stats: Float32Array, offset: number, n: number, wantMetrics: boolean): Float32Array[] {
  if (!wantMetrics) return [];
  return heads.map((h) => {
    const out = stats.slice(offset, offset + n * h.units);
    offset += n * h.units;
    return out;
  });
}
