import { cgcArchitecture } from './cgc.js';
import { crossStitchArchitecture } from './cross-stitch.js';
import { dselectKArchitecture } from './dselect-k.js';
import { mmoeArchitecture } from './mmoe.js';
import { mtanArchitecture } from './mtan.js';
import { pleArchitecture } from './ple.js';
import { registerArchitecture } from './registry.js';
import { sharedArchitecture } from './shared.js';

export * from './registry.js';
export { sharedArchitecture } from './shared.js';
export { mmoeArchitecture } from './mmoe.js';
export { cgcArchitecture } from './cgc.js';
export { pleArchitecture, ExtractionNetwork, type ExtractionOptions } from './ple.js';
export { crossStitchArchitecture, CrossStitchNetwork, type CrossStitchOptions } from './cross-stitch.js';
export { mtanArchitecture, MtanNetwork, type MtanOptions } from './mtan.js';
export { dselectKArchitecture, DSelectKNetwork, selectorBits, type DSelectKOptions } from './dselect-k.js';

// Built-in kinds; one file per kind.
registerArchitecture(sharedArchitecture);
registerArchitecture(mmoeArchitecture);
registerArchitecture(cgcArchitecture);
registerArchitecture(pleArchitecture);
registerArchitecture(crossStitchArchitecture);
registerArchitecture(mtanArchitecture);
registerArchitecture(dselectKArchitecture);
