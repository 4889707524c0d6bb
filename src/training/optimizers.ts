import * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
// Native fused Adam (issue 7, src/engine/native/adam.ts): used when the native kernels are active.
import { createNativeAdam, nativeAdamActive, NativeAdamOptimizer, type WeightedGradient } from '../engine/native/adam.js';

export const OPTIMIZERS = ['adam', 'adamw', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface OptimizerSpec {
  name: OptimizerName;
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** SGD momentum (0 = plain SGD). */
  momentum?: number;
  nesterov?: boolean;
  /** AdamW decoupled weight decay (default 0.01), applied to kernels, not biases or batch-norm parameters. */
  weightDecay?: number;
}

/** One saved piece of optimizer state, as tfjs optimizers save and restore their slots. */
export interface OptimizerSlot {
  name: string;
  tensor: tf.Tensor;
}

/** An optimizer whose learning rate can change between steps (for schedules). */
export interface TrainingOptimizer {
  readonly optimizer: tf.Optimizer;
  setLearningRate(lr: number): void;
  apply(grads: tf.NamedTensorMap, variables: readonly tf.Variable[]): void;
  /**
   * A step with gradients given as weighted sums of tensors, formed inside the optimizer's own
   * step (native Adam); false, with no step taken, when it cannot: the caller then forms the sums
   * and calls `apply`.
   */
  applyWeighted(entries: readonly WeightedGradient[]): boolean;
  /**
   * The optimizer's state for a checkpoint: its slots (Adam's moments, the
   * iteration count) in its own order, plus the running values it keeps that
   * a restore could not recompute exactly. Valid until `releaseSlots`.
   */
  getSlots(): Promise<OptimizerSlot[]>;
  /** Frees what `getSlots` created (the slot variables themselves stay live). */
  releaseSlots(slots: readonly OptimizerSlot[]): void;
  /** Puts back the state `getSlots` returned (e.g. read from a checkpoint). */
  setSlots(slots: readonly OptimizerSlot[]): Promise<void>;
  dispose(): void;
}

/** Optimizer state saved beside tfjs's own slots (see `getSlots`). */
const EXACT_SLOT_PREFIX = 'multiloss.exact/';
/**
 * tfjs recomputes Adam's β₁ᵗ, β₂ᵗ as powers on restore, which differ in the last bit
 * from the running products it keeps while training: these are saved and put back as they are.
 */
const EXACT_SLOTS = ['accBeta1', 'accBeta2'];

// Adam reads `learningRate` on every step; SGD and momentum cache it in a
// scalar that only their `setLearningRate` refreshes.
interface HasLearningRate {
  learningRate: number;
  setLearningRate?: (lr: number) => void;
}

export function createOptimizer(spec: OptimizerSpec): TrainingOptimizer {
  if (!(spec.learningRate > 0) || !Number.isFinite(spec.learningRate)) {
    throw new MultilossError('config', `training.learningRate must be a finite number > 0, got ${spec.learningRate}`);
  }
  let lr = spec.learningRate;
  let optimizer: tf.Optimizer;
  switch (spec.name) {
    case 'adam':
    case 'adamw':
      // Native (issue 7): one fused in-place step, the same numbers as tf.train.adam.
      optimizer = (nativeAdamActive() ? createNativeAdam : tf.train.adam)(lr, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.epsilon ?? 1e-7);
      break;
    case 'sgd':
      optimizer = spec.momentum ? tf.train.momentum(lr, spec.momentum, spec.nesterov ?? false) : tf.train.sgd(lr);
      break;
    default:
      throw new MultilossError('config', `training.optimizer: unknown optimizer "${String(spec.name)}"; valid: ${OPTIMIZERS.join(', ')}`);
  }
  const decay = spec.name === 'adamw' ? (spec.weightDecay ?? 0.01) : 0;
  return {
    optimizer,
    setLearningRate(next: number) {
      if (next === lr) return;
      lr = next;
      const o = optimizer as unknown as HasLearningRate;
      if (o.setLearningRate) o.setLearningRate(next);
      else o.learningRate = next;
    },
    apply(grads, variables) {
      if (decay > 0) {
        // Decoupled weight decay (Loshchilov & Hutter): w ← w − lr·λ·w, before the Adam step as in PyTorch.
        tf.tidy(() => {
          for (const v of variables) if (/kernel/.test(v.name)) v.assign(tf.mul(v, 1 - lr * decay));
        });
      }
      optimizer.applyGradients(grads);
    },
    applyWeighted(entries) {
      return decay === 0 && optimizer instanceof NativeAdamOptimizer && optimizer.applyWeightedGradients(entries);
    },
    async getSlots() {
      const slots: OptimizerSlot[] = await optimizer.getWeights();
      const fields = optimizer as unknown as Partial<Record<string, tf.Variable>>;
      for (const name of EXACT_SLOTS) {
        const v = fields[name];
        if (v instanceof tf.Variable) slots.push({ name: EXACT_SLOT_PREFIX + name, tensor: v });
      }
      return slots;
    },
    releaseSlots(slots) {
      // getWeights returns the live slot variables plus a fresh iteration scalar: free only the latter.
      for (const w of slots) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
    },
    async setSlots(saved) {
      const exact = saved.filter((w) => w.name.startsWith(EXACT_SLOT_PREFIX));
      const slots = saved.filter((w) => !w.name.startsWith(EXACT_SLOT_PREFIX));
      if (slots.length) await optimizer.setWeights(slots);
      const fields = optimizer as unknown as Partial<Record<string, tf.Variable>>;
      for (const w of exact) fields[w.name.slice(EXACT_SLOT_PREFIX.length)]?.assign(w.tensor);
    },
    dispose() {
      optimizer.dispose();
    },
  };
}
