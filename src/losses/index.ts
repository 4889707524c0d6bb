import { MultilossError } from '../errors.js';
import { binaryCrossentropy } from './binary-crossentropy.js';
import { categoricalCrossentropy } from './categorical-crossentropy.js';
import { focal } from './focal.js';
import type { LossFunction } from './loss.js';
import { huber, logCosh, meanAbsoluteError, meanSquaredError, poisson } from './regression.js';

export type { LossFunction } from './loss.js';
export { reduceLoss } from './loss.js';
export { binaryCrossentropy, categoricalCrossentropy, focal, huber, logCosh, meanAbsoluteError, meanSquaredError, poisson };

/** Options a config may give to a built-in loss. Unused keys are rejected by the config schema. */
export interface LossOptions {
  labelSmoothing?: number;
  gamma?: number;
  alpha?: number | null;
  delta?: number;
}

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

/** Builds a loss by name, checking it is one the head kind accepts. */
export function createLoss(name: string, allowed: readonly string[], options: LossOptions, where: string): LossFunction {
  if (!allowed.includes(name)) {
    throw new MultilossError('config', `${where}: unknown loss "${name}"; valid losses for this head kind: ${allowed.join(', ')}`);
  }
  const factory = BUILT_IN[name];
  if (!factory) throw new MultilossError('config', `${where}: loss "${name}" is not implemented`);
  return factory(options);
}
