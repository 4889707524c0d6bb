import { MultiHeadNetwork } from '../network.js';
import { MultilossError } from '../../errors.js';
import type { ArchitectureFactory } from './registry.js';

/**
 * Hard parameter sharing: the dense `model.trunk` shared by all heads, one
 * output layer per head. The shared representation is the trunk's output.
 */
export const sharedArchitecture: ArchitectureFactory = {
  kind: 'shared',
  validate(spec) {
    const extra = Object.keys(spec).filter((k) => k !== 'kind');
    if (extra.length) throw new MultilossError('config', `architecture.${extra[0]}: not an option of architecture "shared" (its layers are model.trunk)`);
  },
  create(_spec, trunk, inputShape, outputs, rng) {
    if (inputShape.length !== 1) throw new MultilossError('config', `architecture "shared" takes flat inputs; got rows of shape [${inputShape.join(', ')}]`);
    return MultiHeadNetwork.create(inputShape[0], trunk, outputs, rng);
  },
  fromModel(model, _spec, trunk, inputShape, outputs) {
    return MultiHeadNetwork.fromModel(model, inputShape.reduce((a, b) => a * b, 1), trunk, outputs);
  },
};
