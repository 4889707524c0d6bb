import { registerArchitecture } from './registry.js';
import { sharedArchitecture } from './shared.js';

export * from './registry.js';
export { sharedArchitecture } from './shared.js';

// Built-in kinds; one file per kind.
registerArchitecture(sharedArchitecture);
