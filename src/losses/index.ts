import * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import { binaryCrossentropy } from './binary-crossentropy.js';
import { categoricalCrossentropy } from './categorical-crossentropy.js';
import { focal } from './focal.js';
import type { LossFunction } from './loss.js';
import { huber, logCosh, meanAbsoluteError, meanSquaredError, poisson } from './regression.js';

export type { LossFunction } from './loss.js';
export { reduceLoss } from './loss.js';
export { binaryCrossentropy, categoricalCrossentropy, focal, huber, logCosh, meanAbsoluteError, meanSquaredError, poisson };

/**
 * Options for a loss. The built-in losses take the four named ones (each only
 * those listed in {@link BUILT_IN_LOSS_OPTIONS}); a loss registered with
 * {@link registerLoss} receives whatever keys the config gives it.
 */
export interface LossOptions {
  labelSmoothing?: number;
  gamma?: number;
  alpha?: number | null;
  delta?: number;
  readonly [option: string]: unknown;
}

/** The options each built-in loss accepts; any other key is a configuration error. */
export const BUILT_IN_LOSS_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  crossentropy: ['labelSmoothing'],
  binary_crossentropy: ['labelSmoothing'],
  focal: ['gamma', 'alpha'],
  mse: [],
  mae: [],
  huber: ['delta'],
  log_cosh: [],
  poisson: [],
};

type LossFactory = (options: LossOptions) => LossFunction;

const BUILT_IN: Record<string, LossFactory> = {
  crossentropy: (o) => categoricalCrossentropy(o),
  binary_crossentropy: (o) => binaryCrossentropy(o),
  focal: (o) => focal(o),
  mse: () => meanSquaredError(),
  mae: () => meanAbsoluteError(),
  huber: (o) => huber(o),
  log_cosh: () => logCosh(),
  poisson: () => poisson(),
};

/**
 * A user-defined per-sample loss: `yTrue` and `yPred` are n×units (`yPred` is
 * the head's raw output: logits for softmax/sigmoid heads, the standardized
 * value for regression); returns the n per-sample losses (shape [n] or [n, 1]).
 * multiloss applies the label mask, the weights and the reduction.
 */
export type CustomLossFn = (yTrue: tf.Tensor2D, yPred: tf.Tensor2D, options: Readonly<Record<string, unknown>>) => tf.Tensor;

export interface RegisterLossOptions {
  /** Check every batch's per-sample losses for NaN/±Infinity (one sync per step; default true). */
  checkFinite?: boolean;
  /**
   * Validates the `lossOptions` a head gives this loss (config files pass any
   * JSON object through): return a message saying what is wrong, or undefined
   * when they are fine. Without it any options are accepted.
   */
  validateOptions?: (options: Readonly<Record<string, unknown>>) => string | undefined;
}

const REGISTERED = new Map<string, { fn: CustomLossFn; options: RegisterLossOptions }>();

/**
 * Registers a custom loss under `name`, usable by every head kind (a config's
 * `loss:` or the library API's head `loss`). Registering a name again replaces it.
 */
export function registerLoss(name: string, fn: CustomLossFn, options: RegisterLossOptions = {}): void {
  if (BUILT_IN[name]) throw new MultilossError('config', `registerLoss: "${name}" is a built-in loss; pick another name`);
  REGISTERED.set(name, { fn, options });
}

/** Names of the losses registered with `registerLoss`. */
export function registeredLosses(): string[] {
  return [...REGISTERED.keys()];
}

/**
 * Wraps a custom per-sample loss: a result that is not n values, or that holds
 * NaN/±Infinity, is an error naming `where` (the head) and the loss.
 */
export function customLoss(name: string, fn: CustomLossFn, where: string, options: RegisterLossOptions = {}, lossOptions: LossOptions = {}): LossFunction {
  const problem = options.validateOptions?.(lossOptions);
  if (problem !== undefined) throw new MultilossError('config', `${where}: lossOptions for loss "${name}": ${problem}`);
  return {
    name,
    perSample(yTrue, raw) {
      const n = raw.shape[0];
      const out = fn(yTrue, raw, lossOptions);
      if (!(out instanceof tf.Tensor)) throw new MultilossError('config', `${where}: custom loss "${name}" must return a tensor of ${n} per-sample losses, got ${typeof out}`);
      if (!((out.rank === 1 && out.shape[0] === n) || (out.rank === 2 && out.shape[0] === n && out.shape[1] === 1))) {
        throw new MultilossError('config', `${where}: custom loss "${name}" returned shape [${out.shape.join(', ')}]; expected [${n}] (one loss per sample of the batch)`);
      }
      const perSample = (out.rank === 1 ? out : tf.reshape(out, [n])) as tf.Tensor1D;
      if (options.checkFinite ?? true) {
        const values = perSample.dataSync();
        const bad = values.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) {
          throw new MultilossError(
            'training',
            `${where}: custom loss "${name}" returned ${values[bad]} for row ${bad} of the batch; it must be finite for every row (rows with a missing label get yTrue = 0 and are masked out after the loss)`,
          );
        }
      }
      return perSample;
    },
  };
}

/** Builds a loss by name, checking it is one the head kind accepts (registered custom losses fit every kind). */
export function createLoss(name: string, allowed: readonly string[], options: LossOptions, where: string): LossFunction {
  const custom = REGISTERED.get(name);
  if (custom) return customLoss(name, custom.fn, where, custom.options, options);
  if (!allowed.includes(name)) {
    throw new MultilossError('config', `${where}: unknown loss "${name}"; valid losses for this head kind: ${[...allowed, ...REGISTERED.keys()].join(', ')}`);
  }
  const factory = BUILT_IN[name];
  if (!factory) throw new MultilossError('config', `${where}: loss "${name}" is not implemented`);
  const accepted = BUILT_IN_LOSS_OPTIONS[name] ?? [];
  const unknown = Object.keys(options).filter((k) => options[k] !== undefined && !accepted.includes(k));
  if (unknown.length) {
    throw new MultilossError('config', `${where}: lossOptions.${unknown[0]} is not an option of loss "${name}"; it takes ${accepted.length ? accepted.join(', ') : 'no options'}`);
  }
  return factory(options);
}
