import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../errors.js';
import type { Rng } from '../training/rng.js';
import type { HeadActivation } from './heads/head.js';
import type { LastBlockCapture, OutputSpec, TrainableNetwork } from './trainable-network.js';

export type { LastBlockCapture, OutputSpec } from './trainable-network.js';

export const TRUNK_ACTIVATIONS = ['relu', 'relu6', 'elu', 'selu', 'gelu', 'swish', 'mish', 'tanh', 'sigmoid', 'softplus', 'linear'] as const;
export type TrunkActivation = (typeof TRUNK_ACTIVATIONS)[number];

/** One dense block of the shared trunk: dense → [batch norm] → activation → [dropout]. */
export interface DenseBlockSpec {
  units: number;
  activation?: TrunkActivation;
  dropout?: number;
  batchNorm?: boolean;
}

interface Block {
  dense: tfl.layers.Layer;
  /** The dense layer's kernel, bias and activation as plain ops (see `denseOps`). */
  ops: DenseOps;
  batchNorm?: tfl.layers.Layer;
  activation?: tfl.layers.Layer;
  dropout: number;
}

interface OutputLayers {
  dense: tfl.layers.Layer;
  ops: DenseOps;
  activation: tfl.layers.Layer;
}

type Activation = (x: tf.Tensor) => tf.Tensor;

const ACTIVATIONS: Partial<Record<string, Activation>> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  tanh: (x) => tf.tanh(x),
  sigmoid: (x) => tf.sigmoid(x),
  softplus: (x) => tf.softplus(x),
};

interface DenseOps {
  kernel: tf.Variable;
  bias: tf.Variable;
  /** undefined: the activation is not one of ACTIVATIONS; use the layer itself. */
  activation?: Activation;
}

/**
 * Eager calls of a tfjs-layers Layer go through its symbolic-input checks,
 * name scopes and config lookups on every step; for a dense layer that is a
 * measurable share of a small network's step. Training therefore runs
 * matMul + bias + activation on the layer's own variables (same weights,
 * same result), and keeps the layer for everything else.
 */
function denseOps(layer: tfl.layers.Layer, activation: string): DenseOps {
  const [kernel, bias] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  return { kernel, bias, activation: ACTIVATIONS[activation] };
}

function applyDense(layer: tfl.layers.Layer, ops: DenseOps, x: tf.Tensor): tf.Tensor {
  if (!ops.activation) return layer.apply(x) as tf.Tensor;
  return ops.activation(tf.add(tf.matMul(x as tf.Tensor2D, ops.kernel as tf.Tensor2D), ops.bias));
}

/** Layer-name-safe form of a head name; the output layer is called exactly this. */
export function layerSafeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

function unique(names: string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new MultilossError('config', `two heads map to the same layer name "${n}"; rename one`);
    seen.add(n);
  }
}

/**
 * Hard parameter sharing: a dense trunk shared by all heads, one dense output
 * layer per head. `model` is a standard multi-output tfjs LayersModel (what is
 * saved and what plain tfjs loads); training runs the same layer objects
 * eagerly through `forward`, which exposes the shared representation and the
 * heads' raw (pre-activation) outputs, and draws dropout masks from our seeded
 * RNG (tfjs-layers' Dropout with a seed repeats one mask at every step).
 */
export class MultiHeadNetwork implements TrainableNetwork {
  readonly model: tfl.LayersModel;
  private constructor(
    readonly inputSize: number,
    readonly trunk: readonly DenseBlockSpec[],
    readonly outputs: readonly OutputSpec[],
    model: tfl.LayersModel,
    private readonly blocks: Block[],
    private readonly heads: OutputLayers[],
  ) {
    this.model = model;
  }

  /** Builds a new network with seeded Glorot-uniform kernels and zero biases. */
  static create(inputSize: number, trunk: readonly DenseBlockSpec[], outputs: readonly OutputSpec[], rng: Rng): MultiHeadNetwork {
    unique(outputs.map((o) => layerSafeName(o.name)));
    const input = tfl.input({ shape: [inputSize], name: 'features' });
    let h: tfl.SymbolicTensor = input;
    const blocks: Block[] = [];
    trunk.forEach((spec, i) => {
      const act = spec.activation ?? 'relu';
      const dense = tfl.layers.dense({
        units: spec.units,
        activation: spec.batchNorm ? 'linear' : act,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: rng.seed() }),
        name: `trunk_dense_${i}`,
      });
      h = dense.apply(h) as tfl.SymbolicTensor;
      const block: Block = { dense, ops: denseOps(dense, spec.batchNorm ? 'linear' : act), dropout: spec.dropout ?? 0 };
      if (spec.batchNorm) {
        block.batchNorm = tfl.layers.batchNormalization({ name: `trunk_bn_${i}` });
        h = block.batchNorm.apply(h) as tfl.SymbolicTensor;
        block.activation = tfl.layers.activation({ activation: act, name: `trunk_act_${i}` });
        h = block.activation.apply(h) as tfl.SymbolicTensor;
      }
      if (block.dropout > 0) h = tfl.layers.dropout({ rate: block.dropout, name: `trunk_dropout_${i}` }).apply(h) as tfl.SymbolicTensor;
      blocks.push(block);
    });
    const heads: OutputLayers[] = [];
    const symbolicOutputs = outputs.map((o) => {
      const safe = layerSafeName(o.name);
      const dense = tfl.layers.dense({
        units: o.units,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: rng.seed() }),
        name: `head_${safe}_dense`,
      });
      const activation = tfl.layers.activation({ activation: o.activation, name: safe });
      const out = activation.apply(dense.apply(h)) as tfl.SymbolicTensor;
      heads.push({ dense, ops: denseOps(dense, 'linear'), activation });
      return out;
    });
    const model = tfl.model({ inputs: input, outputs: symbolicOutputs, name: 'multiloss' });
    return new MultiHeadNetwork(inputSize, trunk, outputs, model, blocks, heads);
  }

  /** Re-attaches to a loaded LayersModel built by `create` with the same specs. */
  static fromModel(model: tfl.LayersModel, inputSize: number, trunk: readonly DenseBlockSpec[], outputs: readonly OutputSpec[]): MultiHeadNetwork {
    const layer = (name: string): tfl.layers.Layer => {
      try {
        return model.getLayer(name);
      } catch {
        throw new MultilossError('model', `model.json has no layer "${name}" that multiloss.json describes`);
      }
    };
    const inShape = model.inputs[0]?.shape;
    if (model.inputs.length !== 1 || inShape?.[1] !== inputSize) {
      throw new MultilossError('model', `model.json input shape ${JSON.stringify(inShape)} does not match the ${inputSize} features in multiloss.json`);
    }
    const blocks: Block[] = trunk.map((spec, i) => ({
      dense: layer(`trunk_dense_${i}`),
      ops: denseOps(layer(`trunk_dense_${i}`), spec.batchNorm ? 'linear' : (spec.activation ?? 'relu')),
      batchNorm: spec.batchNorm ? layer(`trunk_bn_${i}`) : undefined,
      activation: spec.batchNorm ? layer(`trunk_act_${i}`) : undefined,
      dropout: spec.dropout ?? 0,
    }));
    const heads = outputs.map((o) => {
      const safe = layerSafeName(o.name);
      const dense = layer(`head_${safe}_dense`);
      const out = { dense, ops: denseOps(dense, 'linear'), activation: layer(safe) };
      const units = out.dense.getConfig().units;
      if (units !== o.units) throw new MultilossError('model', `head "${o.name}": model.json has ${String(units)} output units, multiloss.json expects ${o.units}`);
      return out;
    });
    if (model.outputs.length !== outputs.length) {
      throw new MultilossError('model', `model.json has ${model.outputs.length} outputs, multiloss.json describes ${outputs.length} heads`);
    }
    return new MultiHeadNetwork(inputSize, trunk, outputs, model, blocks, heads);
  }

  /** Trainable variables of the shared trunk. */
  get sharedVariables(): tf.Variable[] {
    return this.blocks.flatMap((b) => [b.dense, b.batchNorm].filter((l): l is tfl.layers.Layer => !!l)).flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
  }

  /** Trainable variables owned by each head, in head order. */
  get headVariables(): tf.Variable[][] {
    return this.heads.map((h) => h.dense.trainableWeights.map((w) => w.read() as tf.Variable));
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.sharedVariables, ...this.headVariables.flat()];
  }

  countParams(): number {
    return this.model.countParams();
  }

  /**
   * Shared representation (trunk output). Dropout masks come from `rng` when
   * training, so a replay with an equally seeded Rng draws the same masks.
   * `capture`, when given, receives the input of the last trunk block and its
   * dropout seed (for `lastBlockGradNorms`).
   */
  forwardTrunk(x: tf.Tensor, training: boolean, rng?: Rng, capture?: LastBlockCapture): tf.Tensor2D {
    let h: tf.Tensor = x;
    this.blocks.forEach((b, i) => {
      const last = i === this.blocks.length - 1;
      if (last && capture) capture.input = h as tf.Tensor2D;
      const seed = training && b.dropout > 0 ? this.dropoutSeed(rng) : undefined;
      if (last && capture) capture.seed = seed;
      h = this.applyBlock(b, h, training, seed, last ? capture : undefined);
    });
    return h as tf.Tensor2D;
  }

  private dropoutSeed(rng?: Rng): number {
    if (!rng) throw new Error('forwardTrunk: training with dropout needs an rng');
    return rng.seed();
  }

  private applyBlock(b: Block, x: tf.Tensor, training: boolean, dropoutSeed?: number, capture?: LastBlockCapture): tf.Tensor {
    let h: tf.Tensor;
    if (capture && b.ops.activation && !b.batchNorm) {
      const pre = tf.add(tf.matMul(x as tf.Tensor2D, b.ops.kernel as tf.Tensor2D), b.ops.bias) as tf.Tensor2D;
      capture.pre = pre;
      h = b.ops.activation(pre);
    } else {
      h = applyDense(b.dense, b.ops, x);
    }
    if (b.batchNorm) h = b.batchNorm.apply(h, { training }) as tf.Tensor;
    if (b.activation) h = b.activation.apply(h) as tf.Tensor;
    if (dropoutSeed !== undefined) h = tf.dropout(h, b.dropout, undefined, dropoutSeed);
    return h;
  }

  /** Trainable variables of the last trunk block (GradNorm's "last shared layer"). */
  get lastSharedVariables(): tf.Variable[] {
    const b = this.blocks.at(-1);
    if (!b) return [];
    return [b.dense, b.batchNorm].filter((l): l is tfl.layers.Layer => !!l).flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
  }

  /**
   * ‖∇_W Lₜ‖ over the last trunk block's parameters W, for each head, given
   * each head's gradient w.r.t. the trunk output (`grads`: T×n×k, unweighted).
   * For a dense block without batch norm this is exact and cheap: with
   * z = XW + b the pre-activation, δₜ = gₜ ⊙ act′(z) ⊙ dropout mask,
   * ∇_W = Xᵀδₜ and ∇_b = Σ_rows δₜ — one matmul for all heads. Otherwise the
   * block is replayed (same dropout mask, batch-norm statistics restored).
   */
  lastBlockGradNorms(capture: LastBlockCapture, grads: tf.Tensor3D): number[] {
    const T = grads.shape[0];
    const b = this.blocks.at(-1);
    if (!b || !capture.input) return new Array<number>(T).fill(NaN);
    const input = capture.input;
    const pre = capture.pre;
    const act = b.ops.activation;
    if (pre && act && !b.batchNorm) {
      return tf.tidy(() => {
        const [n, k] = pre.shape;
        const kin = input.shape[1];
        let deriv = tf.grad((z: tf.Tensor) => tf.sum(act(z)))(pre);
        if (capture.seed !== undefined) deriv = tf.mul(deriv, tf.dropout(tf.onesLike(deriv), b.dropout, undefined, capture.seed));
        const delta = tf.mul(grads, deriv);
        const columns = tf.reshape(tf.transpose(delta, [1, 0, 2]), [n, T * k]);
        const wGrad = tf.matMul(input, columns as tf.Tensor2D, true, false);
        const wSq = tf.sum(tf.reshape(tf.square(wGrad), [kin, T, k]), [0, 2]);
        const bSq = tf.sum(tf.square(tf.sum(delta, 1)), 1);
        return Array.from(tf.sqrt(tf.add(wSq, bSq)).dataSync());
      });
    }
    const vars = this.lastSharedVariables;
    const saved = this.saveBatchNormState();
    try {
      return Array.from({ length: T }, (_, t) =>
        tf.tidy(() => {
          const g = tf.squeeze(tf.slice(grads, [t, 0, 0], [1, -1, -1]), [0]);
          const { grads: vg } = tf.variableGrads(() => tf.sum(tf.mul(this.applyBlock(b, input, true, capture.seed), g)) as tf.Scalar, vars);
          const sq = tf.addN(Object.values(vg).map((v) => tf.sum(tf.square(v))));
          return Math.sqrt(sq.dataSync()[0]);
        }),
      );
    } finally {
      this.restoreBatchNormState(saved);
    }
  }

  /** Batch-norm moving statistics (copies), to undo the updates of a replayed forward pass. */
  saveBatchNormState(): tf.Tensor[] {
    return this.batchNormVariables().map((v) => tf.clone(v));
  }

  restoreBatchNormState(saved: tf.Tensor[]): void {
    this.batchNormVariables().forEach((v, i) => v.assign(saved[i]));
    tf.dispose(saved);
  }

  private batchNormVariables(): tf.Variable[] {
    return this.blocks.flatMap((b) => (b.batchNorm ? b.batchNorm.nonTrainableWeights.map((w) => w.read() as tf.Variable) : []));
  }

  /** One head's raw output from the shared representation. */
  forwardHead(head: number, rep: tf.Tensor2D, _input?: tf.Tensor): tf.Tensor2D {
    const h = this.heads[head];
    return applyDense(h.dense, h.ops, rep) as tf.Tensor2D;
  }

  /** Each head's raw (pre-activation) output from the shared representation. */
  forwardHeads(rep: tf.Tensor2D, _input?: tf.Tensor): tf.Tensor2D[] {
    return this.heads.map((_, i) => this.forwardHead(i, rep));
  }

  /** Applies each head's output activation (softmax / sigmoid / identity) to its raw output. */
  activate(raw: tf.Tensor2D[]): tf.Tensor2D[] {
    return raw.map((r, i) => activateOutput(r, this.outputs[i].activation));
  }

  /** Inference: the saved network's outputs, one n×units tensor per head. */
  predict(x: tf.Tensor): tf.Tensor2D[] {
    return tf.tidy(() => this.activate(this.forwardHeads(this.forwardTrunk(x, false))));
  }

  dispose(): void {
    this.model.dispose();
  }
}

export function activateOutput(raw: tf.Tensor2D, activation: HeadActivation): tf.Tensor2D {
  if (activation === 'softmax') return tf.softmax(raw);
  if (activation === 'sigmoid') return tf.sigmoid(raw);
  return raw;
}
