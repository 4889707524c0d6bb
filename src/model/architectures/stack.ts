/**
 * A stack of trunk layers (dense blocks, conv blocks, pooling, flatten, global
 * pooling) that exists twice over the same tfjs-layers objects: applied to a
 * SymbolicTensor it becomes part of the saved LayersModel; applied eagerly it
 * is what training runs. The eager path runs dense and conv layers as plain
 * ops on the layers' own variables (the Layer call path is slow for small
 * networks) and draws dropout masks from a seeded Rng (tfjs-layers' Dropout
 * with a seed repeats one mask at every step).
 *
 * Every architecture builds its trunks, experts, columns and towers from
 * stacks; layer names are `${prefix}_${kind}_${index}` with `index` the
 * position of the entry in its specification list.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../../errors.js';
import type { Rng } from '../../util/rng.js';
import type { DenseBlockSpec, PoolSpec } from '../blocks.js';
import { convBlock, type ConvBlockActivation } from './conv-block.js';

export type Activation = (x: tf.Tensor) => tf.Tensor;

/** Activations run as plain ops; any other one runs through its Layer. */
export const ACTIVATIONS: Partial<Record<string, Activation>> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  tanh: (x) => tf.tanh(x),
  sigmoid: (x) => tf.sigmoid(x),
  softplus: (x) => tf.softplus(x),
};

/** Activations a conv unit runs as one tape node with its bias and max pooling (./conv-block.ts). */
const CONV_BLOCK: Partial<Record<string, ConvBlockActivation>> = { linear: 'linear', relu: 'relu' };

/** Activations tf.fused.conv2d applies itself (inference only; under a gradient tape it falls back to separate ops). */
const FUSED: Partial<Record<string, tf.fused.Activation>> = { linear: 'linear', relu: 'relu', relu6: 'relu6', elu: 'elu', sigmoid: 'sigmoid' };

export interface DenseOps {
  kernel: tf.Variable;
  bias: tf.Variable;
  /** undefined: the activation is not one of ACTIVATIONS; use the layer itself. */
  activation?: Activation;
  /** Set when matmul, bias and activation run as one kernel (see `fusedDense`). */
  fused?: FusedDenseActivation;
}

/** Activations whose derivative follows from the output alone: dense layers with them run fused. */
export type FusedDenseActivation = 'linear' | 'relu';
const FUSED_DENSE: Partial<Record<string, FusedDenseActivation>> = { linear: 'linear', relu: 'relu' };

/**
 * act(x·W + b) as one _FusedMatMul kernel, and under a gradient tape as one
 * tape node whose backward pass is dz = dy ⊙ act′ (from the saved output),
 * ∂W = xᵀdz, ∂b = Σ_rows dz and, when `inputGradient`, ∂x = dz·Wᵀ. tfjs's
 * own fused matMul runs as separate ops under a tape (matmul, add, relu and
 * their gradients: about three times the kernel calls, each with its
 * bookkeeping, which dominates small dense layers). `inputGradient` false is
 * for layers whose input is data (the trunk's first layer): no ∂x matmul.
 */
export function fusedDense(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D, activation: FusedDenseActivation, inputGradient: boolean): tf.Tensor2D {
  const engine = tf.engine();
  if (!engine.isTapeOn()) return tf.fused.matMul({ a: x, b: kernel, bias, activation }) as tf.Tensor2D;
  const attrs = { transposeA: false, transposeB: false, activation };
  const forward = (save: tf.GradSaveFunc): { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] } => {
    const value = engine.runKernel(tf._FusedMatMul, { a: x, b: kernel, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
    save([x, value]);
    return {
      value,
      gradFunc: (dy, [input, output]) => {
        const dz = activation === 'relu' ? tf.mul(dy, tf.step(output)) : dy;
        const dW = tf.matMul(input as tf.Tensor2D, dz as tf.Tensor2D, true, false);
        const db = tf.sum(dz, 0);
        return inputGradient ? [tf.matMul(dz as tf.Tensor2D, kernel, false, true), dW, db] : [dW, db];
      },
    };
  };
  const op = inputGradient
    ? tf.customGrad((_x, _w, _b, save) => forward(save as tf.GradSaveFunc))
    : tf.customGrad((_w, _b, save) => forward(save as tf.GradSaveFunc));
  return (inputGradient ? op(x, kernel, bias) : op(kernel, bias)) as tf.Tensor2D;
}

/** The trainable variables of a tfjs layer (after it is built). */
export function layerVariables(layer: tfl.layers.Layer): tf.Variable[] {
  return layer.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** A dense layer's kernel, bias and activation as plain ops. */
export function denseOps(layer: tfl.layers.Layer, activation: string): DenseOps {
  const [kernel, bias] = layerVariables(layer);
  return { kernel, bias, activation: ACTIVATIONS[activation], fused: FUSED_DENSE[activation] };
}

/** A dense layer on x; `inputGradient` false: x is data, no gradient w.r.t. it is ever taken. */
export function applyDense(layer: tfl.layers.Layer, ops: DenseOps, x: tf.Tensor, inputGradient = true): tf.Tensor {
  if (!ops.activation) return layer.apply(x) as tf.Tensor;
  if (ops.fused && x.rank === 2) return fusedDense(x as tf.Tensor2D, ops.kernel as tf.Tensor2D, ops.bias as tf.Tensor1D, ops.fused, inputGradient);
  return ops.activation(tf.add(tf.matMul(x as tf.Tensor2D, ops.kernel as tf.Tensor2D), ops.bias));
}

/**
 * Layer-name-safe form of a head name; the output layer is called exactly
 * this. tfjs tensor names must start with a letter or digit, so other names
 * get an "h" in front ("<b>x" → "h_b_x").
 */
export function layerSafeName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z0-9]/.test(safe) ? safe : `h${safe}`;
}

/** Seeded Glorot-uniform kernel initializer (what every multiloss layer starts from). */
export function glorot(rng: Rng): ReturnType<typeof tfl.initializers.glorotUniform> {
  return tfl.initializers.glorotUniform({ seed: rng.seed() });
}

/** Where layers come from: new ones (create) or a loaded LayersModel's, by name (attach). */
export interface LayerSource {
  /** The loaded model, when attaching. */
  readonly model?: tfl.LayersModel;
  readonly rng?: Rng;
}

/** `make()` when creating, the loaded model's layer `name` when attaching. */
export function sourceLayer(src: LayerSource, name: string, make: (rng: Rng) => tfl.layers.Layer): tfl.layers.Layer {
  if (src.model) return modelLayer(src.model, name);
  if (!src.rng) throw new Error('sourceLayer: creating layers needs an rng');
  return make(src.rng);
}

export function modelLayer(model: tfl.LayersModel, name: string): tfl.layers.Layer {
  try {
    return model.getLayer(name);
  } catch {
    throw new MultilossError('model', `model.json has no layer "${name}" that multiloss.json describes`);
  }
}

/** The type of a trunk entry (`dense` when absent). */
export function layerType(spec: DenseBlockSpec): NonNullable<DenseBlockSpec['type']> {
  return spec.type ?? 'dense';
}

/** Whether a block needs image-shaped (H×W×C) input. */
export function isImageLayer(spec: DenseBlockSpec): boolean {
  return layerType(spec) === 'conv';
}

function pair(v: number | readonly number[] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  return [v[0], v[1]];
}

function outSize(size: number, window: number, stride: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.ceil((size - window + 1) / stride);
}

export const shapeText = (s: readonly number[]): string => (s.length === 1 ? `flat rows of ${s[0]}` : s.join('×'));

interface DenseUnit {
  kind: 'dense';
  index: number;
  /** Flatten an image-shaped input first (a dense block after conv blocks). */
  flattenFirst?: tfl.layers.Layer;
  dense: tfl.layers.Layer;
  activationName: string;
  batchNorm?: tfl.layers.Layer;
  activation?: tfl.layers.Layer;
  dropout: number;
  dropoutLayer?: tfl.layers.Layer;
}

interface ConvUnit {
  kind: 'conv';
  index: number;
  conv: tfl.layers.Layer;
  kernel: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
  activationName: string;
  batchNorm?: tfl.layers.Layer;
  activation?: tfl.layers.Layer;
  pool?: { mode: 'max' | 'avg'; layer: tfl.layers.Layer; size: [number, number]; strides: [number, number]; padding: 'same' | 'valid' };
  globalPool?: { mode: 'max' | 'avg'; layer: tfl.layers.Layer };
  dropout: number;
  dropoutLayer?: tfl.layers.Layer;
}

export type Unit = DenseUnit | ConvUnit;

export interface StackOptions {
  /** Layer name prefix, e.g. `trunk` → `trunk_dense_0`. */
  prefix: string;
  /** Config path for error messages, e.g. `model.trunk`. */
  where: string;
  /** Flatten an image-shaped output at the end (layer `${prefix}_flatten`), so the stack yields n×k. */
  flattenEnd?: boolean;
  /** The stack's input is data (a network input): its first layer computes no gradient w.r.t. it. */
  dataInput?: boolean;
  /** Momentum of the batch-norm moving statistics (default tfjs's 0.99). */
  batchNormMomentum?: number;
}

/**
 * A built stack of layers. `create` makes new layers (kernels seeded from the
 * rng in layer order), `attach` takes them from a loaded model by name; both
 * check the specification against the input shape. `symbolic` wires the layers
 * into a functional model, `apply` runs them eagerly.
 */
export class Stack {
  private cache = new Map<tfl.layers.Layer, { kernel: tf.Variable; bias: tf.Variable }>();

  private constructor(
    readonly units: readonly Unit[],
    readonly inputShape: readonly number[],
    readonly outputShape: readonly number[],
    /** Each unit's output shape (before the final flatten), in unit order. */
    readonly unitShapes: readonly (readonly number[])[],
    private readonly endFlatten?: tfl.layers.Layer,
    private readonly dataInput = false,
  ) {}

  static create(specs: readonly DenseBlockSpec[], inputShape: readonly number[], options: StackOptions, rng: Rng): Stack {
    return Stack.assemble(specs, inputShape, options, { rng });
  }

  static attach(model: tfl.LayersModel, specs: readonly DenseBlockSpec[], inputShape: readonly number[], options: StackOptions): Stack {
    return Stack.assemble(specs, inputShape, options, { model });
  }

  private static assemble(specs: readonly DenseBlockSpec[], inputShape: readonly number[], o: StackOptions, src: LayerSource): Stack {
    let shape = [...inputShape];
    const units: Unit[] = [];
    const unitShapes: number[][] = [];
    const p = o.prefix;
    specs.forEach((spec, i) => {
      const where = `${o.where}[${i}]`;
      const type = layerType(spec);
      const act = spec.activation ?? 'relu';
      const activationName = spec.batchNorm ? 'linear' : act;
      if (type === 'dense') {
        for (const k of ['kernel', 'stride', 'padding', 'pool', 'globalPool'] as const) {
          if (spec[k] !== undefined) throw new MultilossError('config', `${where}.${k}: only conv blocks take "${k}" (this is a dense block; set type: conv)`);
        }
        const unit: DenseUnit = { kind: 'dense', index: i, dense: undefined as unknown as tfl.layers.Layer, activationName, dropout: spec.dropout ?? 0 };
        if (shape.length > 1) {
          unit.flattenFirst = sourceLayer(src, `${p}_flatten_${i}`, () => tfl.layers.flatten({ name: `${p}_flatten_${i}` }));
          shape = [shape.reduce((a, b) => a * b, 1)];
        }
        unit.dense = sourceLayer(src, `${p}_dense_${i}`, (rng) =>
          tfl.layers.dense({ units: spec.units, activation: activationName as 'relu', kernelInitializer: glorot(rng), name: `${p}_dense_${i}` }),
        );
        Stack.blockTail(unit, spec, act, src, p, i, o.batchNormMomentum);
        shape = [spec.units];
        units.push(unit);
        unitShapes.push(shape);
        return;
      }
      if (type !== 'conv') throw new MultilossError('config', `${where}.type: unknown block type "${String(type)}"; expected dense or conv`);
      if (shape.length !== 3) {
        throw new MultilossError('config', `${where}: a conv block needs image input of shape H×W×C, but its input is ${shapeText(shape)}${inputShape.length === 1 ? ' (tabular features)' : ''}`);
      }
      const kernel = pair(spec.kernel, 3);
      const strides = pair(spec.stride, 1);
      const padding = spec.padding ?? 'same';
      let [h, w] = [outSize(shape[0], kernel[0], strides[0], padding), outSize(shape[1], kernel[1], strides[1], padding)];
      if (h < 1 || w < 1) throw new MultilossError('config', `${where}: a ${kernel.join('×')} 'valid' convolution does not fit its ${shapeText(shape)} input`);
      const unit: ConvUnit = { kind: 'conv', index: i, conv: undefined as unknown as tfl.layers.Layer, kernel, strides, padding, activationName, dropout: spec.dropout ?? 0 };
      unit.conv = sourceLayer(src, `${p}_conv_${i}`, (rng) =>
        tfl.layers.conv2d({ filters: spec.units, kernelSize: kernel, strides, padding, activation: activationName as 'relu', kernelInitializer: glorot(rng), name: `${p}_conv_${i}` }),
      );
      if (spec.batchNorm) {
        unit.batchNorm = sourceLayer(src, `${p}_bn_${i}`, () => tfl.layers.batchNormalization({ momentum: o.batchNormMomentum, name: `${p}_bn_${i}` }));
        unit.activation = sourceLayer(src, `${p}_act_${i}`, () => tfl.layers.activation({ activation: act as 'relu', name: `${p}_act_${i}` }));
      }
      const channels = spec.units;
      if (spec.pool !== undefined && spec.globalPool !== undefined) throw new MultilossError('config', `${where}: give pool or globalPool, not both`);
      if (spec.pool !== undefined) {
        const ps: PoolSpec = typeof spec.pool === 'string' ? { type: spec.pool } : spec.pool;
        const size = pair(ps.size, 2);
        const pstrides: [number, number] = ps.stride === undefined ? [size[0], size[1]] : pair(ps.stride, 1);
        const ppad = ps.padding ?? 'valid';
        [h, w] = [outSize(h, size[0], pstrides[0], ppad), outSize(w, size[1], pstrides[1], ppad)];
        if (h < 1 || w < 1) throw new MultilossError('config', `${where}.pool: a ${size.join('×')} window does not fit the block's output`);
        const name = `${p}_pool_${i}`;
        const layer = sourceLayer(src, name, () =>
          ps.type === 'max' ? tfl.layers.maxPooling2d({ poolSize: size, strides: pstrides, padding: ppad, name }) : tfl.layers.averagePooling2d({ poolSize: size, strides: pstrides, padding: ppad, name }),
        );
        unit.pool = { mode: ps.type, layer, size, strides: pstrides, padding: ppad };
      }
      if (spec.globalPool !== undefined) {
        const name = `${p}_gpool_${i}`;
        const mode = spec.globalPool;
        unit.globalPool = { mode, layer: sourceLayer(src, name, () => (mode === 'avg' ? tfl.layers.globalAveragePooling2d({ name }) : tfl.layers.globalMaxPooling2d({ name }))) };
      }
      if (unit.dropout > 0) unit.dropoutLayer = sourceLayer(src, `${p}_dropout_${i}`, () => tfl.layers.dropout({ rate: unit.dropout, name: `${p}_dropout_${i}` }));
      shape = unit.globalPool ? [channels] : [h, w, channels];
      units.push(unit);
      unitShapes.push(shape);
    });
    let endFlatten: tfl.layers.Layer | undefined;
    if (o.flattenEnd && shape.length > 1) {
      endFlatten = sourceLayer(src, `${p}_flatten`, () => tfl.layers.flatten({ name: `${p}_flatten` }));
      shape = [shape.reduce((a, b) => a * b, 1)];
    }
    return new Stack(units, inputShape, shape, unitShapes, endFlatten, o.dataInput);
  }

  private static blockTail(unit: DenseUnit | ConvUnit, s: { batchNorm?: boolean; dropout?: number }, act: string, src: LayerSource, p: string, i: number, momentum?: number): void {
    if (s.batchNorm) {
      unit.batchNorm = sourceLayer(src, `${p}_bn_${i}`, () => tfl.layers.batchNormalization({ momentum, name: `${p}_bn_${i}` }));
      unit.activation = sourceLayer(src, `${p}_act_${i}`, () => tfl.layers.activation({ activation: act as 'relu', name: `${p}_act_${i}` }));
    }
    if (unit.dropout > 0) unit.dropoutLayer = sourceLayer(src, `${p}_dropout_${i}`, () => tfl.layers.dropout({ rate: unit.dropout, name: `${p}_dropout_${i}` }));
  }

  /** Wires units [from, to) (and the final flatten when `to` is the end) into a functional model. */
  symbolic(x: tfl.SymbolicTensor, from = 0, to = this.units.length): tfl.SymbolicTensor {
    let h = x;
    const ap = (l: tfl.layers.Layer | undefined): void => {
      if (l) h = l.apply(h) as tfl.SymbolicTensor;
    };
    for (const u of this.units.slice(from, to)) {
      if (u.kind === 'dense') {
        ap(u.flattenFirst);
        ap(u.dense);
        ap(u.batchNorm);
        ap(u.activation);
        ap(u.dropoutLayer);
      } else {
        ap(u.conv);
        ap(u.batchNorm);
        ap(u.activation);
        ap(u.pool?.layer);
        ap(u.globalPool?.layer);
        ap(u.dropoutLayer);
      }
    }
    if (to === this.units.length) ap(this.endFlatten);
    return h;
  }

  private weights(layer: tfl.layers.Layer): { kernel: tf.Variable; bias: tf.Variable } {
    let w = this.cache.get(layer);
    if (!w) {
      const [kernel, bias] = layerVariables(layer);
      w = { kernel, bias };
      this.cache.set(layer, w);
    }
    return w;
  }

  /** Dense unit's kernel, bias and activation as plain ops. */
  denseOps(u: DenseUnit): DenseOps {
    return { ...this.weights(u.dense), activation: ACTIVATIONS[u.activationName], fused: FUSED_DENSE[u.activationName] };
  }

  /** Whether unit `u` draws a dropout mask when training. */
  static drawsMask(u: Unit): boolean {
    return u.dropout > 0;
  }

  /**
   * Runs units [from, to) eagerly. When training, each unit with dropout takes
   * the next seed of `rng` for its mask, in unit order.
   */
  apply(x: tf.Tensor, training: boolean, rng?: Rng, from = 0, to = this.units.length): tf.Tensor {
    let h = x;
    for (let i = from; i < to; i++) {
      const u = this.units[i];
      const seed = training && Stack.drawsMask(u) ? nextSeed(rng) : undefined;
      h = this.applyUnit(u, h, training, seed);
    }
    if (to === this.units.length) h = this.finish(h);
    return h;
  }

  /** The final flatten, if any. */
  finish(h: tf.Tensor): tf.Tensor {
    return this.endFlatten ? tf.reshape(h, [h.shape[0], -1]) : h;
  }

  /**
   * One unit; `dropoutSeed` given means training with a dropout mask from it. `pre`, when given,
   * receives a dense unit's pre-activation output, or for relu and linear units (which run fused)
   * their output, from which act′ is the same (step(relu(z)) = step(z)).
   */
  applyUnit(u: Unit, x: tf.Tensor, training: boolean, dropoutSeed?: number, pre?: (z: tf.Tensor2D) => void): tf.Tensor {
    let h: tf.Tensor;
    if (u.kind === 'dense') {
      const input = u.flattenFirst ? tf.reshape(x, [x.shape[0], -1]) : x;
      const ops = this.denseOps(u);
      const inputGradient = !(this.dataInput && u === this.units[0]);
      if (pre && ops.activation && !u.batchNorm && !ops.fused) {
        const z = tf.add(tf.matMul(input as tf.Tensor2D, ops.kernel as tf.Tensor2D), ops.bias) as tf.Tensor2D;
        pre(z);
        h = ops.activation(z);
      } else {
        h = applyDense(u.dense, ops, input, inputGradient);
        // relu and linear: the output has the derivative's information (step(relu(z)) = step(z)).
        if (pre && ops.fused && !u.batchNorm) pre(h as tf.Tensor2D);
      }
    } else {
      const { kernel, bias } = this.weights(u.conv);
      const fused = FUSED[u.activationName];
      const act = ACTIVATIONS[u.activationName];
      const block = CONV_BLOCK[u.activationName];
      const pl = u.pool;
      if (block && !u.batchNorm && !u.activation && (pl === undefined || pl.mode === 'max')) {
        h = convBlock(x as tf.Tensor4D, kernel as tf.Tensor4D, bias as tf.Tensor1D, {
          strides: u.strides,
          padding: u.padding,
          activation: block,
          pool: pl && { size: pl.size, strides: pl.strides, padding: pl.padding },
          inputGradient: !(this.dataInput && u === this.units[0]),
        });
      } else {
        if (fused) {
          h = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: kernel as tf.Tensor4D, strides: u.strides, pad: u.padding, bias, activation: fused });
        } else if (act) {
          h = act(tf.add(tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, u.strides, u.padding), bias));
        } else {
          h = u.conv.apply(x) as tf.Tensor;
        }
        if (u.batchNorm) h = u.batchNorm.apply(h, { training }) as tf.Tensor;
        if (u.activation) h = u.activation.apply(h) as tf.Tensor;
        if (pl) h = pl.mode === 'max' ? tf.maxPool(h as tf.Tensor4D, pl.size, pl.strides, pl.padding) : tf.avgPool(h as tf.Tensor4D, pl.size, pl.strides, pl.padding);
      }
      if (u.globalPool) h = u.globalPool.mode === 'avg' ? tf.mean(h, [1, 2]) : tf.max(h, [1, 2]);
      if (dropoutSeed !== undefined) h = tf.dropout(h, u.dropout, undefined, dropoutSeed);
      return h;
    }
    if (u.batchNorm) h = u.batchNorm.apply(h, { training }) as tf.Tensor;
    if (u.activation) h = u.activation.apply(h) as tf.Tensor;
    if (dropoutSeed !== undefined) h = tf.dropout(h, u.dropout, undefined, dropoutSeed);
    return h;
  }

  /** Trainable variables, in unit order (kernel, bias, then batch-norm gamma and beta). */
  get variables(): tf.Variable[] {
    return this.units.flatMap((u) => unitVariables(u));
  }

  /** The last block (GradNorm's "last shared layer" when this is a trunk); -1 when empty. */
  get lastParamIndex(): number {
    return this.units.length - 1;
  }

  get lastVariables(): tf.Variable[] {
    const i = this.lastParamIndex;
    return i < 0 ? [] : unitVariables(this.units[i]);
  }

  /** Moving statistics of the batch-norm layers. */
  get batchNormVariables(): tf.Variable[] {
    return this.units.flatMap((u) => (u.batchNorm ? u.batchNorm.nonTrainableWeights.map((w) => w.read() as tf.Variable) : []));
  }

  /** Whether any unit draws a dropout mask when training. */
  get hasDropout(): boolean {
    return this.units.some((u) => Stack.drawsMask(u));
  }

}

export function unitVariables(u: Unit): tf.Variable[] {
  return [u.kind === 'dense' ? u.dense : u.conv, u.batchNorm].filter((l): l is tfl.layers.Layer => !!l).flatMap(layerVariables);
}

export function nextSeed(rng?: Rng): number {
  if (!rng) throw new Error('forwardTrunk: training with dropout needs an rng');
  return rng.seed();
}

/** [n, ...shape] for a batch of flat rows or of rows already shaped; throws on a mismatch. */
export function shapeBatch(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
  const row = x.shape.slice(1);
  if (row.length === shape.length && row.every((d, i) => d === shape[i])) return x;
  const size = shape.reduce((a, b) => a * b, 1);
  if (row.length === 1 && row[0] === size) return tf.reshape(x, [x.shape[0], ...shape]);
  throw new MultilossError('data', `input rows of shape ${shapeText(row)} do not fit the network's input ${shapeText(shape)}`);
}

/** The input shape of a loaded model (one input), checked against what multiloss.json implies (same size). */
export function loadedInputShape(model: tfl.LayersModel, expected: readonly number[]): number[] {
  const shape = model.inputs[0]?.shape.slice(1) as number[] | undefined;
  const size = expected.reduce((a, b) => a * b, 1);
  if (model.inputs.length !== 1 || !shape || shape.some((d) => typeof d !== 'number') || shape.reduce((a, b) => a * b, 1) !== size) {
    throw new MultilossError('model', `model.json input shape ${JSON.stringify(model.inputs[0]?.shape)} does not match the ${size} input values per row in multiloss.json`);
  }
  return shape;
}
