import * as tfl from '@tensorflow/tfjs-layers';

/** A seeded LayersModel with two outputs on a shared dense layer: `value` (regression) and `cls` (3 classes). */
export function tinyModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [2] });
  const trunk = tfl.layers.dense({ units: 4, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tfl.SymbolicTensor;
  const value = tfl.layers.dense({ units: 1, name: 'value', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }).apply(trunk) as tfl.SymbolicTensor;
  const cls = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'cls', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }).apply(trunk) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: [value, cls] });
}
