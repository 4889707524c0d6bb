/**
 * The gradient-based methods the trainer offers (the aggregators minus
 * sum/mean/static) and what each declares about training with it: the modes
 * it is valid in, its default mode, the options it refuses in training, and a
 * tensor path when it keeps tensors between steps. The generic balancer
 * (gradient-balancer.ts) reads these declarations; it never tests a name.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import type { AggregatorOptions, AggregatorState, DbmtlState, ExcessmtlState, MocoState } from './aggregation/index.js';
import { validateAggregatorOptions } from './aggregation/index.js';
import { DbmtlTensorBuffers } from './dbmtl-tensors.js';
import { ExcessmtlTensorState } from './excessmtl-tensors.js';
import { MocoTensorState } from './moco-tensors.js';
import { OptionReader } from './options.js';
import { ImtlLBalancer } from './strategies/imtl-l.js';
import type { BalancedHead, LossTransform } from './strategy.js';

export type GradientMode = 'param' | 'rep';

/** A loss half the balancer owns: transforms the losses in the tape, has a JSON state, frees its variables. */
export interface LossHalf extends LossTransform {
  getState(): Record<string, unknown>;
  setState(state: Record<string, unknown>): void;
  dispose(): void;
}

/**
 * A method's per-head gradient state kept as tensors between steps (param
 * mode): `combine` (given this step's losses) returns the weights and the direction (one new
 * tensor per shared variable, the caller's to dispose); `toState` is the JSON state.
 */
export interface TensorCombiner {
  combine(perHead: readonly (readonly (tf.Tensor | undefined)[])[], shapes: readonly (readonly number[])[], losses: readonly number[]): { weights: Float64Array; direction: tf.Tensor[] };
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
  /**
   * The method's loss half, when it has one (the full IMTL's learned loss scales): the options it
   * reads (taken out before the aggregator sees the rest) and the transform it builds from them
   * (undefined: these options turn it off).
   */
  lossHalf?: { options: readonly string[]; create(heads: readonly BalancedHead[], options: Record<string, unknown>): LossHalf | undefined };
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
  // The full IMTL (Liu et al., ICLR 2021): IMTL-L's learned loss scales, then IMTL-G on the scaled losses' gradients.
  imtl: {
    modes: BOTH,
    lossHalf: {
      options: ['lossScales', 'initialScale'],
      create(heads, options) {
        const r = new OptionReader('imtl', options, ['lossScales', 'initialScale']);
        if (!r.boolean('lossScales', true)) {
          if (options.initialScale !== undefined) r.fail('initialScale', 'left out when lossScales is false (IMTL-G alone has no loss scales)', options.initialScale);
          return undefined;
        }
        return new ImtlLBalancer(heads, options.initialScale === undefined ? {} : { initialScale: options.initialScale as number }, 'imtl');
      },
    },
  },
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
  // ExcessMTL and MoCo keep per-parameter rows across steps: param mode only; their rows stay tensors.
  excessmtl: {
    modes: ['param'],
    tensors: (options, state, shapes, tasks) => new ExcessmtlTensorState(validateAggregatorOptions('excessmtl', options), state as ExcessmtlState, shapes, tasks),
  },
  moco: {
    modes: ['param'],
    // The losses are the step's (passed to combine); a placeholder lets the options resolve.
    tensors: (options, state, shapes, tasks) =>
      new MocoTensorState(validateAggregatorOptions('moco', { ...(options as Record<string, unknown>), losses: new Array<number>(tasks).fill(0) }), state as MocoState, shapes, tasks),
  },
  // In rep mode only over an inner method that keeps no rows (the balancer checks what the options need).
  crmogm: { modes: BOTH },
  // GradDrop works at the shared representation (the paper's and LibMTL's): its purity is per activation entry.
  graddrop: { modes: ['rep'] },
  // MoDo and SDMGrad take three batches' gradients per step (their declared needs): param mode only.
  modo: { modes: ['param'] },
  sdmgrad: { modes: ['param'] },
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
