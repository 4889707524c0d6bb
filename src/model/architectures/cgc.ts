/**
 * Customized Gate Control (Tang et al., "Progressive Layered Extraction (PLE):
 * A Novel Multi-Task Learning (MTL) Model for Personalized Recommendations",
 * RecSys 2020): shared experts plus experts of each head; head t's softmax
 * gate mixes its own experts and the shared ones. It is PLE with one level
 * (same layers, same layer names): see ./ple.ts.
 *
 * `architecture: { kind: cgc, sharedExperts: 2, taskExperts: 1 | { head: n }, expertLayers: [...], towers: [...] }`
 */
import { EXTRACTION_OPTIONS, extractionFactory } from './ple.js';

export const cgcArchitecture = extractionFactory('cgc', [...EXTRACTION_OPTIONS, 'sharedExperts', 'taskExperts']);
