/**
 * The gradient-based methods the trainer offers (the aggregators minus
 * sum/mean/static) and what each declares about training with it: the modes
 * it is valid in, its default mode, the options it refuses in training, and a
 * tensor path when it keeps tensors between steps. The generic balancer
 * (gradient-balancer.ts) reads these declarations; it never tests a name.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import type { AggregatorOptions, AggregatorState, DbmtlState } from './aggregation/index.js';
import { validateAggregatorOptions } from './aggregation/index.js';
import { DbmtlTensorBuffers } from './dbmtl-tensors.js';

export type GradientMode = 'param' | 'rep';

/**
 * A method's per-head gradient state kept as tensors between steps (param
 * mode): `combine` returns the weights and the direction (one new tensor per
 * shared variable, the caller's to dispose); `toState` is the JSON state.
 */
export interface TensorCombiner {
  combine(perHead: readonly (readonly (tf.Tensor | undefined)[])[], shapes: readonly (readonly number[])[]): { weights: Float64Array; direction: tf.Tensor[] };
  toState(): AggregatorState;
  dispose(): void;
}

/** What a gradient method declares about training with it. */
export interface GradientMethodTraining {
  /**
   * The modes it is valid in, the default first. 'rep' aggregates gradients
   * w.r.t. the trunk output, whose rows are this batch's samples: fine for
   * methods that look at one step's gradients, meaningless for a method whose
   * state is a running average of gradient vectors across steps.
   */
  readonly modes: readonly GradientMode[];
  /** The default mode for these options, when it depends on them. */
  defaultMode?(options: Record<string, unknown>): GradientMode | undefined;
  /** Refuses options that make no sense in training (or in `mode`); throws MultilossError('config'). */
  checkOptions?(options: Record<string, unknown>, mode: GradientMode): void;
  /** Param mode: the method on the per-head gradient tensors, continuing from `state`. */
  tensors?(options: AggregatorOptions, state: AggregatorState, shapes: readonly (readonly number[])[], tasks: number): TensorCombiner;
}

const BOTH: readonly GradientMode[] = ['param', 'rep'];

/** Every gradient method and its training declaration, in the order `balance.method` lists them. */
export const GRADIENT_METHOD_TRAINING = {
  mgda: {
    modes: BOTH,
    // MGDA-UB works on the shared representation: `ub: true` alone picks it.
    defaultMode: (options) => (options.ub === true ? 'rep' : undefined),
    checkOptions: (options, mode) => {
      if (options.ub === true && mode !== 'rep') throw new MultilossError('config', 'balance: MGDA-UB (ub: true) works on the shared representation; set mode: rep');
    },
  },
  pcgrad: {
    modes: BOTH,
    checkOptions: (options) => {
      if (Array.isArray(options.order)) {
        throw new MultilossError('config', 'balance.order: a fixed PCGrad order is for the standalone aggregate(); training draws a new order per step from the seed');
      }
    },
  },
  gradvac: { modes: BOTH },
  cagrad: { modes: BOTH },
  imtl: { modes: BOTH },
  nash: { modes: BOTH },
  aligned: { modes: BOTH },
  upgrad: { modes: BOTH },
  // DB-MTL's state is an EMA of gradient vectors across steps: param mode only; its buffers stay tensors.
  dbmtl: {
    modes: ['param'],
    tensors: (options, state, shapes, tasks) => new DbmtlTensorBuffers(validateAggregatorOptions('dbmtl', options), state as DbmtlState, shapes, tasks),
  },
  dualproj: { modes: BOTH },
  config: { modes: BOTH },
  fairgrad: { modes: BOTH },
  // ExcessMTL and MoCo keep per-parameter rows across steps: param mode only.
  excessmtl: { modes: ['param'] },
  moco: { modes: ['param'] },
  // In rep mode only over an inner method that keeps no rows (the balancer checks what the options need).
  crmogm: { modes: BOTH },
} satisfies Record<string, GradientMethodTraining>;

export type GradientMethod = keyof typeof GRADIENT_METHOD_TRAINING;

/** The gradient-based methods the trainer offers. */
export const GRADIENT_METHODS = Object.keys(GRADIENT_METHOD_TRAINING) as GradientMethod[];

/** Which modes each method is valid in (the default first). */
export const VALID_MODES = Object.fromEntries(GRADIENT_METHODS.map((m) => [m, GRADIENT_METHOD_TRAINING[m].modes])) as Record<GradientMethod, readonly GradientMode[]>;

export function isGradientMethod(name: string): name is GradientMethod {
  return Object.prototype.hasOwnProperty.call(GRADIENT_METHOD_TRAINING, name);
}

/** The training declaration of `method`. */
export function gradientMethodTraining(method: GradientMethod): GradientMethodTraining {
  return GRADIENT_METHOD_TRAINING[method];
}
