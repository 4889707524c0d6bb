/**
 * Image inputs (browser-safe part): ImageSet, the IDX parser, MultiMNIST
 * composition. Training on images is training/fit-images.ts (fitImageModel,
 * evaluateImages), prediction model/images.ts (predictImages). File loaders
 * (IDX files, PNG/JPEG folders, the `mnist` package's digits) are Node-only,
 * in ./node.ts.
 */
export * from './dataset.js';
export * from './idx.js';
export * from './multimnist.js';
export * from './pixels.js';
export * from './augment.js';
