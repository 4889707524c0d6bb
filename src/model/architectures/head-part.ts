/**
 * What every architecture puts on top of a head's input: an optional tower
 * (dense blocks owned by that head) and the head's output layer
 * (`head_<name>_dense`, then an activation layer named like the head, which is
 * the saved model's output name).
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import type { DenseBlockSpec } from '../blocks.js';
import type { OutputSpec } from '../trainable-network.js';
import { applyDense, denseOps, glorot, isImageLayer, layerVariables, modelLayer, Stack, layerSafeName, type DenseOps } from './stack.js';

export class HeadPart {
  private ops?: DenseOps;

  private constructor(
    readonly output: OutputSpec,
    readonly tower: Stack,
    readonly dense: tfl.layers.Layer,
    readonly activation: tfl.layers.Layer,
  ) {}

  /** `towerSpecs` are dense blocks; `inputShape` is the flat width the head reads. */
  static create(output: OutputSpec, towerSpecs: readonly DenseBlockSpec[], inputShape: readonly number[], rng: Rng, where: string): HeadPart {
    const safe = layerSafeName(output.name);
    checkTower(towerSpecs, where);
    const tower = Stack.create(towerSpecs, inputShape, { prefix: `tower_${safe}`, where, flattenEnd: true }, rng);
    const dense = tfl.layers.dense({ units: output.units, kernelInitializer: glorot(rng), name: `head_${safe}_dense` });
    const activation = tfl.layers.activation({ activation: output.activation, name: safe });
    return new HeadPart(output, tower, dense, activation);
  }

  static attach(model: tfl.LayersModel, output: OutputSpec, towerSpecs: readonly DenseBlockSpec[], inputShape: readonly number[], where: string): HeadPart {
    const safe = layerSafeName(output.name);
    const tower = Stack.attach(model, towerSpecs, inputShape, { prefix: `tower_${safe}`, where, flattenEnd: true });
    const dense = modelLayer(model, `head_${safe}_dense`);
    const units = dense.getConfig().units;
    if (units !== output.units) throw new MultilossError('model', `head "${output.name}": model.json has ${String(units)} output units, multiloss.json expects ${output.units}`);
    return new HeadPart(output, tower, dense, modelLayer(model, safe));
  }

  symbolic(x: tfl.SymbolicTensor): tfl.SymbolicTensor {
    return this.activation.apply(this.dense.apply(this.tower.symbolic(x))) as tfl.SymbolicTensor;
  }

  /** Raw (pre-activation) output. `seed`: dropout masks of the tower when training. */
  apply(x: tf.Tensor, training: boolean, seed?: number): tf.Tensor2D {
    let h = x;
    if (this.tower.units.length) h = this.tower.apply(h, training, training && seed !== undefined ? new Rng(seed) : undefined);
    // The raw output: a linear dense layer (the activation is the loss's or `activate`'s).
    this.ops ??= denseOps(this.dense, 'linear');
    return applyDense(this.dense, this.ops, h) as tf.Tensor2D;
  }

  get variables(): tf.Variable[] {
    return [...this.tower.variables, ...layerVariables(this.dense)];
  }

  get batchNormVariables(): tf.Variable[] {
    return this.tower.batchNormVariables;
  }
}

function checkTower(specs: readonly DenseBlockSpec[], where: string): void {
  specs.forEach((s, i) => {
    if (isImageLayer(s)) throw new MultilossError('config', `${where}[${i}]: a tower holds dense blocks only (it reads the flat shared representation), got a ${String(s.type)} layer`);
  });
}

/** A head's dropout seed: one per head, derived from the step's head seed. */
export function headSeed(base: number | undefined, head: number): number | undefined {
  return base === undefined ? undefined : new Rng(`${base}/${head}`).seed();
}
