import { MultiHeadNetwork } from '../network.js';
import { checkKeys, towersOption } from './options.js';
import type { ArchitectureFactory } from './registry.js';

/**
 * Hard parameter sharing (Caruana 1997): the `model.trunk` blocks (dense, or
 * conv blocks on image input then dense) shared by all heads, optionally a
 * tower of dense blocks per head (`towers: [50]` for every head, or
 * `towers: { left: [50], right: [] }`), then one output layer per head.
 * The shared representation is the trunk's output (flattened).
 */
export const sharedArchitecture: ArchitectureFactory = {
  kind: 'shared',
  validate(spec) {
    checkKeys(spec, ['towers']);
    towersOption(spec);
  },
  create(spec, trunk, inputShape, outputs, rng) {
    return MultiHeadNetwork.create(inputShape, trunk, outputs, rng, towersOption(spec, outputs));
  },
  fromModel(model, spec, trunk, inputShape, outputs) {
    return MultiHeadNetwork.fromModel(model, inputShape, trunk, outputs, towersOption(spec, outputs));
  },
};
