import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import * as tfLayers from '@tensorflow/tfjs-layers';
import { MultilossError } from '../errors.js';
import { layerGradNormsAvailable, layerGradNormsSquared } from '../engine/native/layer-norms.js';
import { Rng } from '../util/rng.js';
import type { DenseBlockSpec } from './blocks.js';
import type { HeadActivation } from './heads/head.js';
import type { LastBlockCapture, OutputSpec, TrainableNetwork } from './trainable-network.js';
import { replayGradNorms } from './replay-grad-norms.js';
import { HeadPart, headSeed } from './architectures/head-part.js';
import { layerSafeName, loadedInputShape, shapeBatch, Stack, unitVariables } from './architectures/stack.js';

export type { LastBlockCapture, OutputSpec } from './trainable-network.js';
export { layerSafeName } from './architectures/stack.js';

function unique(names: string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new MultilossError('config', `two heads map to the same layer name "${n}"; rename one`);
    seen.add(n);
  }
}

/** Per-head tower specifications, or none. */
export type TowerSpecs = readonly (readonly DenseBlockSpec[])[];

/**
 * Hard parameter sharing: a trunk (dense blocks, or image layers then dense
 * blocks) shared by all heads, optionally a tower of dense blocks per head,
 * and one dense output layer per head. `model` is a standard multi-output tfjs
 * LayersModel (what is saved and what plain tfjs loads); training runs the same
 * layer objects eagerly through `forwardTrunk`/`forwardHead`, which expose the
 * shared representation (the trunk output, flattened) and the heads' raw
 * (pre-activation) outputs, and draws dropout masks from our seeded RNG
 * (tfjs-layers' Dropout with a seed repeats one mask at every step).
 */
export class MultiHeadNetwork implements TrainableNetwork {
  readonly model: tfl.LayersModel;
  /** Tower dropout: the training flag and seed of the last `forwardTrunk` (heads run after it). */
  private headTraining = false;
  private headSeedBase?: number;

  private constructor(
    readonly inputShape: readonly number[],
    readonly trunk: readonly DenseBlockSpec[],
    readonly outputs: readonly OutputSpec[],
    model: tfl.LayersModel,
    private readonly stack: Stack,
    private readonly heads: HeadPart[],
  ) {
    this.model = model;
  }

  /** Values per input row. */
  get inputSize(): number {
    return this.inputShape.reduce((a, b) => a * b, 1);
  }

  /** Builds a new network with seeded Glorot-uniform kernels and zero biases. `input`: features per row, or the row shape (H×W×C for images). */
  static create(input: number | readonly number[], trunk: readonly DenseBlockSpec[], outputs: readonly OutputSpec[], rng: Rng, towers?: TowerSpecs): MultiHeadNetwork {
    unique(outputs.map((o) => layerSafeName(o.name)));
    const inputShape = typeof input === 'number' ? [input] : [...input];
    const stack = Stack.create(trunk, inputShape, { prefix: 'trunk', where: 'model.trunk', flattenEnd: true, dataInput: true }, rng);
    const heads = outputs.map((o, t) => HeadPart.create(o, towers?.[t] ?? [], stack.outputShape, rng, towerWhere(o)));
    const x = tfLayers.input({ shape: inputShape, name: 'features' });
    const rep = stack.symbolic(x);
    const model = tfLayers.model({ inputs: x, outputs: heads.map((h) => h.symbolic(rep)), name: 'multiloss' });
    return new MultiHeadNetwork(inputShape, trunk, outputs, model, stack, heads);
  }

  /** Re-attaches to a loaded LayersModel built by `create` with the same specs. */
  static fromModel(model: tfl.LayersModel, input: number | readonly number[], trunk: readonly DenseBlockSpec[], outputs: readonly OutputSpec[], towers?: TowerSpecs): MultiHeadNetwork {
    const inputShape = loadedInputShape(model, typeof input === 'number' ? [input] : input);
    const stack = Stack.attach(model, trunk, inputShape, { prefix: 'trunk', where: 'model.trunk', flattenEnd: true, dataInput: true });
    const heads = outputs.map((o, t) => HeadPart.attach(model, o, towers?.[t] ?? [], stack.outputShape, towerWhere(o)));
    if (model.outputs.length !== outputs.length) {
      throw new MultilossError('model', `model.json has ${model.outputs.length} outputs, multiloss.json describes ${outputs.length} heads`);
    }
    return new MultiHeadNetwork(inputShape, trunk, outputs, model, stack, heads);
  }

  /** Trainable variables of the shared trunk. */
  get sharedVariables(): tf.Variable[] {
    return this.stack.variables;
  }

  /** Trainable variables owned by each head (its tower, then its output layer), in head order. */
  get headVariables(): tf.Variable[][] {
    return this.heads.map((h) => h.variables);
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.sharedVariables, ...this.headVariables.flat()];
  }

  countParams(): number {
    return this.model.countParams();
  }

  /**
   * Shared representation (trunk output, flattened). Dropout masks come from
   * `rng` when training, so a replay with an equally seeded Rng draws the same
   * masks. `capture`, when given, receives the input of the last trunk block
   * and its dropout seed (for `lastBlockGradNorms`).
   */
  forwardTrunk(x: tf.Tensor, training: boolean, rng?: Rng, capture?: LastBlockCapture): tf.Tensor2D {
    let h: tf.Tensor = shapeBatch(x, this.inputShape);
    const units = this.stack.units;
    const last = this.stack.lastParamIndex;
    units.forEach((u, i) => {
      const isLast = i === last;
      if (isLast && capture) capture.input = h as tf.Tensor2D;
      const seed = training && Stack.drawsMask(u) ? nextSeed(rng) : undefined;
      if (isLast && capture) capture.seed = seed;
      h = this.stack.applyUnit(u, h, training, seed, isLast && capture ? (z) => (capture.pre = z) : undefined);
    });
    h = this.stack.finish(h);
    this.headTraining = training;
    this.headSeedBase = training && this.heads.some((p) => p.tower.hasDropout) ? nextSeed(rng) : undefined;
    return (h.rank === 2 ? h : tf.reshape(h, [h.shape[0], -1])) as tf.Tensor2D;
  }

  /** Trainable variables of the last trunk block (GradNorm's "last shared layer"). */
  get lastSharedVariables(): tf.Variable[] {
    return this.stack.lastVariables;
  }

  /**
   * ‖∇_W Lₜ‖ over the last trunk block's parameters W, for each head, given
   * each head's gradient w.r.t. the trunk output (`grads`: one n×k per head, unweighted).
   * For a dense block without batch norm that ends the trunk this is exact and
   * cheap: with z = XW + b the pre-activation, δₜ = gₜ ⊙ act′(z) ⊙ dropout
   * mask, ∇_W = Xᵀδₜ and ∇_b = Σ_rows δₜ — one matmul for all heads.
   * Otherwise the block (and the parameter-free layers after it) is replayed
   * (same dropout mask, batch-norm statistics restored).
   */
  lastBlockGradNorms(capture: LastBlockCapture, grads: readonly tf.Tensor2D[]): number[] {
    const T = grads.length;
    const li = this.stack.lastParamIndex;
    const b = this.stack.units[li];
    if (!b || !capture.input) return new Array<number>(T).fill(NaN);
    const input = capture.input;
    const pre = capture.pre;
    const act = b.kind === 'dense' ? this.stack.denseOps(b).activation : undefined;
    if (pre && act && !b.batchNorm && li === this.stack.units.length - 1) {
      const activationName = b.kind === 'dense' ? b.activationName : '';
      const native = nativeLastBlockNorms(input, pre, grads, activationName, act, capture.seed, b.dropout);
      if (native) return native;
      return tf.tidy(() => {
        const [n, k] = pre.shape;
        const kin = input.shape[1];
        let deriv = activationDerivative(activationName, act, pre);
        if (capture.seed !== undefined) deriv = tf.mul(deriv, dropoutMask(pre, b.dropout, capture.seed));
        // ‖Xᵀδₜ‖² + ‖1ᵀδₜ‖² (kernel and bias) for every head, the cheaper way: Σ_c δₜ,cᵀ (XXᵀ + 11ᵀ) δₜ,c
        // (XXᵀ, then [δ₁ … δ_T]ᵀ(XXᵀ + 11ᵀ): n²(kin + Tk) multiply-adds, one matmul for all heads),
        // or from Xᵀ[δ₁ … δ_T] directly (n·kin·Tk, plus the bias sums).
        // Same-shape products and a concat: a broadcasting product over a stack is over 10× slower on wasm.
        const delta = (T === 1 ? tf.mul(grads[0], deriv) : tf.concat(grads.map((g) => tf.mul(g, deriv)), 1)) as tf.Tensor2D;
        let sq: tf.Tensor;
        if (n * (kin + T * k) < kin * T * k) {
          // Explicit transposes, and the n×n matrix as the right operand: wasm's XNNPACK packs the
          // right operand on every call (new tensors every step), and transposed operands cost more.
          const rows = tf.add(tf.matMul(input, tf.transpose(input)), 1);
          const deltaT = tf.transpose(delta);
          // Rows of the product are (head, unit): one last-axis sum per head.
          sq = tf.sum(tf.reshape(tf.mul(tf.matMul(deltaT, rows), deltaT), [T, k * n]), 1);
        } else {
          const wGrad = tf.matMul(input, delta, true, false);
          const wSq = tf.sum(tf.reshape(tf.square(wGrad), [kin, T, k]), [0, 2]);
          sq = tf.add(wSq, tf.sum(tf.square(tf.sum(tf.reshape(delta, [n, T, k]), 0)), 1));
        }
        // Σ (XXᵀ + 11ᵀ) ⊙ (δδᵀ) can round to a tiny negative number where the norm is 0.
        return Array.from(tf.sqrt(tf.relu(sq)).dataSync());
      });
    }
    const vars = unitVariables(b);
    const replay = (): tf.Tensor => {
      let h = this.stack.applyUnit(b, input, true, capture.seed);
      for (let i = li + 1; i < this.stack.units.length; i++) h = this.stack.applyUnit(this.stack.units[i], h, true);
      h = this.stack.finish(h);
      return h.rank === 2 ? h : tf.reshape(h, [h.shape[0], -1]);
    };
    const saved = this.saveBatchNormState();
    try {
      return replayGradNorms(grads, vars, replay);
    } finally {
      this.restoreBatchNormState(saved);
    }
  }

  /**
   * Batch-norm moving statistics of the trunk (copies), to undo the updates of
   * a replayed forward pass. Towers' batch norms are not included: a head's
   * tower runs once per step in either mode.
   */
  saveBatchNormState(): tf.Tensor[] {
    return this.stack.batchNormVariables.map((v) => tf.clone(v));
  }

  restoreBatchNormState(saved: tf.Tensor[]): void {
    this.stack.batchNormVariables.forEach((v, i) => v.assign(saved[i]));
    tf.dispose(saved);
  }

  /** One head's raw output from the shared representation. */
  forwardHead(head: number, rep: tf.Tensor2D, _input?: tf.Tensor): tf.Tensor2D {
    return this.heads[head].apply(rep, this.headTraining, headSeed(this.headSeedBase, head));
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

function towerWhere(o: OutputSpec): string {
  return `architecture.towers (head "${o.name}")`;
}

function nextSeed(rng?: Rng): number {
  if (!rng) throw new Error('forwardTrunk: training with dropout needs an rng');
  return rng.seed();
}

export function activateOutput(raw: tf.Tensor2D, activation: HeadActivation): tf.Tensor2D {
  if (activation === 'softmax') return tf.softmax(raw);
  if (activation === 'sigmoid') return tf.sigmoid(raw);
  return raw;
}

/**
 * `lastBlockGradNorms`'s exact case in one native call (src/engine/native/layer-norms.ts):
 * δₜ = gₜ ⊙ act′(z) ⊙ mask is formed inside it (relu: as step(z) of the pre-activation, no tfjs
 * op; the other activations: their derivative by tfjs ops), and ‖Xᵀδₜ‖² + ‖Σ_rows δₜ‖² come back
 * as numbers (no read-back). Undefined when the native path is inactive.
 */
function nativeLastBlockNorms(input: tf.Tensor2D, pre: tf.Tensor2D, grads: readonly tf.Tensor2D[], activation: string, act: (z: tf.Tensor) => tf.Tensor, seed: number | undefined, rate: number | undefined): number[] | undefined {
  if (!layerGradNormsAvailable()) return undefined;
  const created: tf.Tensor[] = [];
  try {
    const relu = activation === 'relu';
    const deriv = relu || activation === 'linear' ? (relu ? pre : undefined) : tf.tidy(() => activationDerivative(activation, act, pre));
    if (deriv && deriv !== pre) created.push(deriv);
    const mask = seed !== undefined ? tf.tidy(() => dropoutMask(pre, rate, seed)) : undefined;
    if (mask) created.push(mask);
    const sq = layerGradNormsSquared({ x: input, grads, deriv, step: relu, mask });
    if (sq === undefined) return undefined;
    const T = grads.length;
    // Σ (XXᵀ) ⊙ (δδᵀ) can round to a tiny negative number where the norm is 0.
    return Array.from({ length: T }, (_, t) => Math.sqrt(Math.max(0, sq[t] + sq[T + t])));
  } finally {
    tf.dispose(created);
  }
}

/**
 * act′(z): for the activations whose derivative is one cheap op, the same ops tfjs's own
 * gradients use; for the others, by tf.grad of `act`.
 */
function activationDerivative(name: string, act: (z: tf.Tensor) => tf.Tensor, z: tf.Tensor): tf.Tensor {
  return cheapActivationDerivative(name, z) ?? tf.grad((x: tf.Tensor) => tf.sum(act(x)))(z);
}

/** The dropout mask (0 or 1/(1 − rate)) a training pass drew from `seed`, as a tensor of z's shape. */
function dropoutMask(z: tf.Tensor, rate: number | undefined, seed: number): tf.Tensor {
  return tf.dropout(tf.onesLike(z), rate ?? 0, undefined, seed);
}

function cheapActivationDerivative(name: string, z: tf.Tensor): tf.Tensor | undefined {
  switch (name) {
    case 'linear':
      return tf.onesLike(z);
    case 'relu':
      return tf.step(z);
    case 'relu6':
      return tf.mul(tf.cast(tf.lessEqual(z, 6), 'float32'), tf.step(z));
    case 'tanh':
      return tf.sub(1, tf.square(tf.tanh(z)));
    case 'sigmoid': {
      const y = tf.sigmoid(z);
      return tf.mul(y, tf.sub(1, y));
    }
    default:
      return undefined;
  }
}
