/**
 * Multi-gate Mixture-of-Experts (Ma et al., "Modeling Task Relationships in
 * Multi-task Learning with Multi-gate Mixture-of-Experts", KDD 2018): N expert
 * networks on the input, one softmax gate per head (Dense + softmax on the
 * input) mixing all experts, then the head's tower and output. It is CGC
 * without head-specific experts: see ./ple.ts.
 *
 * `architecture: { kind: mmoe, experts: 4, expertLayers: [...], towers: [...] }`
 * (experts default to model.trunk's blocks). Shared representation: the
 * experts' outputs, concatenated (n × experts·d).
 */
import { EXTRACTION_OPTIONS, extractionFactory } from './ple.js';

export const mmoeArchitecture = extractionFactory('mmoe', [...EXTRACTION_OPTIONS, 'experts']);
