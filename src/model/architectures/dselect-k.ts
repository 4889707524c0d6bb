/**
 * DSelect-k (Hazimeh et al., "DSelect-k: Differentiable Selection in the
 * Mixture of Experts with Applications to Multi-Task Learning", NeurIPS 2021):
 * MMoE's experts, with each head's softmax gate replaced by a DSelect-k gate.
 *
 * A gate has k selectors over the n experts. Selector i holds m = ⌈log₂ n⌉
 * logits zᵢ; bit b of its choice is the smooth step S(zᵢᵦ) (0 below −γ/2, 1
 * above γ/2, the cubic −2z³/γ³ + 3z/(2γ) + ½ between), and its weight on
 * expert e is Πᵦ (S(zᵢᵦ) if bit b of e is 1, else 1 − S(zᵢᵦ)). The head's
 * weight on expert e is Σᵢ softmax(w)ᵢ · selectorᵢ(e): once the z leave
 * [−γ/2, γ/2] the gate selects at most k experts exactly (zero weight on the
 * others, zero gradient to its z). `perExample: true` computes z and w from
 * the (flattened) input by dense layers (the paper's per-example gate),
 * `perExample: false` learns them as parameters (the paper's static gate). With n not a power of two the codes ≥ n select
 * nothing; as in the paper a penalty Σᵢ 1/Σₑ selectorᵢ(e) keeps the selectors on
 * real experts. `entropy: λ` adds λ · Σᵢ H(selectorᵢ) (the paper's regulariser,
 * pushing each selector to one expert), averaged over the batch.
 *
 * The penalty and the entropy term depend on head t's gate only: they are
 * added to the gradient of that gate's variables (reported losses do not
 * include them), so every balancing method sees the heads' own losses.
 *
 * In the saved model (standard tfjs layers only): z and w are Dense layers
 * (static: bias-free Dense on a constant 1 made by a frozen Dense(1)); S is
 * Rescaling(5/γ) → Activation(hardSigmoid) = clip(z/γ + ½, 0, 1) = u, then
 * u · (u · (3 − 2u)) by Rescaling and Multiply layers (= 3u² − 2u³, the
 * cubic); each bit's factor is a frozen Dense (fixed ±1 kernel and 0/1 bias)
 * and the selectors their Multiply; Reshape to k × n and Dot with softmax(w)
 * give the expert weights, which mix the experts as in MMoE.
 *
 * Shared representation: the experts' outputs, concatenated (n × experts·d),
 * as for MMoE.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../../errors.js';
import type { Rng } from '../../util/rng.js';
import type { DenseBlockSpec } from '../blocks.js';
import type { OutputSpec } from '../trainable-network.js';
import { ComposedNetwork, expandSymbolic, flatRows, mix, mixSymbolic, splitColumns, uniqueHeadNames } from './base.js';
import { HeadPart } from './head-part.js';
import { blocksOption, booleanOption, checkKeys, intOption, signedOption, towersOption } from './options.js';
import type { ArchitectureFactory, ArchitectureSpec } from './registry.js';
import { layerSafeName, layerVariables, loadedInputShape, sourceLayer, Stack, type LayerSource } from './stack.js';

export interface DSelectKOptions {
  experts: number;
  /** Selectors per gate (at most k experts are selected). */
  k: number;
  /** Width of the smooth step's cubic part. */
  gamma: number;
  /** Weight λ of the selectors' entropy (0: none). */
  entropy: number;
  /** z and w from the input (per-example gate) or learned constants (static gate). */
  perExample: boolean;
  expertLayers: DenseBlockSpec[];
  towers: DenseBlockSpec[][];
}

/** Guards the logarithm of the entropy and the reciprocal of the non-power-of-two penalty. */
const EPSILON = 1e-6;

/** Bits of a selector: ⌈log₂ n⌉. */
export function selectorBits(experts: number): number {
  return Math.max(1, Math.ceil(Math.log2(experts)));
}

/**
 * Head t's DSelect-k gate. `z` and `w` are its trainable layers; `bits[b]`
 * are the frozen Dense layers giving, for every (selector, expert), bit b's
 * factor S or 1 − S; `one` makes the constant input of a static gate.
 */
class DSelectGate {
  private bitOps?: { kernel: tf.Tensor2D; bias: tf.Tensor1D }[];

  constructor(
    readonly o: DSelectKOptions,
    readonly z: tfl.layers.Layer,
    readonly w: tfl.layers.Layer,
    readonly bits: tfl.layers.Layer[],
    readonly one?: tfl.layers.Layer,
  ) {}

  static make(src: LayerSource, o: DSelectKOptions, name: string): DSelectGate {
    const m = selectorBits(o.experts);
    const { k, gamma } = o;
    const isStatic = !o.perExample;
    const uniform = (range: number) => (rng: Rng) => tfl.initializers.randomUniform({ minval: -range, maxval: range, seed: rng.seed() });
    // The paper's initialisation: z in ±γ/100 (every smooth step starts near ½: all experts weigh alike), w in ±0.05.
    const z = sourceLayer(src, `${name}_z`, (rng) => tfl.layers.dense({ units: k * m, useBias: !isStatic, kernelInitializer: uniform(gamma / 100)(rng), biasInitializer: uniform(gamma / 100)(rng), name: `${name}_z` }));
    const w = sourceLayer(src, `${name}_w`, (rng) => tfl.layers.dense({ units: k, useBias: !isStatic, activation: 'softmax', kernelInitializer: uniform(0.05)(rng), biasInitializer: uniform(0.05)(rng), name: `${name}_w` }));
    const bits = Array.from({ length: m }, (_, b) => sourceLayer(src, `${name}_bit_${b}`, () => tfl.layers.dense({ units: k * o.experts, trainable: false, name: `${name}_bit_${b}` })));
    const one = isStatic ? sourceLayer(src, `${name}_one`, () => tfl.layers.dense({ units: 1, trainable: false, kernelInitializer: 'zeros', biasInitializer: 'ones', name: `${name}_one` })) : undefined;
    return new DSelectGate(o, z, w, bits, one);
  }

  /** Bit b's factor for (selector i, expert e), as an affine map of the k·m smooth steps: S if bit b of e is 1, else 1 − S. */
  static bitWeights(o: DSelectKOptions, b: number): { kernel: number[][]; bias: number[] } {
    const m = selectorBits(o.experts);
    const n = o.experts;
    const kernel = Array.from({ length: o.k * m }, () => new Array<number>(o.k * n).fill(0));
    const bias = new Array<number>(o.k * n).fill(0);
    for (let i = 0; i < o.k; i++) {
      for (let e = 0; e < n; e++) {
        // Bit b counted from the most significant, as the paper's binary codes are written.
        const bit = (e >> (m - 1 - b)) & 1;
        kernel[i * m + b][i * n + e] = bit ? 1 : -1;
        bias[i * n + e] = bit ? 0 : 1;
      }
    }
    return { kernel, bias };
  }

  /** Writes the frozen bit layers' fixed weights (after the model is built). */
  initBits(): void {
    this.bits.forEach((layer, b) => {
      const { kernel, bias } = DSelectGate.bitWeights(this.o, b);
      const values = [tf.tensor2d(kernel), tf.tensor1d(bias)];
      layer.setWeights(values);
      tf.dispose(values);
    });
  }

  symbolic(flat: tfl.SymbolicTensor, name: string): tfl.SymbolicTensor {
    const { k, gamma, experts } = this.o;
    const source = this.one ? (this.one.apply(flat) as tfl.SymbolicTensor) : flat;
    const z = this.z.apply(source) as tfl.SymbolicTensor;
    const scaled = tfl.layers.rescaling({ scale: 5 / gamma, name: `${name}_scale` }).apply(z) as tfl.SymbolicTensor;
    // hardSigmoid(x) = clip(0.2x + ½, 0, 1): u = clip(z/γ + ½, 0, 1).
    const u = tfl.layers.activation({ activation: 'hardSigmoid', name: `${name}_clip` }).apply(scaled) as tfl.SymbolicTensor;
    // tfjs frees a tensor fed twice to one layer too early: u · u is u · (u · (3 − 2u)) through distinct tensors.
    const a = tfl.layers.rescaling({ scale: -2, offset: 3, name: `${name}_cubic_a` }).apply(u) as tfl.SymbolicTensor;
    const b = tfl.layers.multiply({ name: `${name}_cubic_b` }).apply([u, a]) as tfl.SymbolicTensor;
    const s = tfl.layers.multiply({ name: `${name}_step` }).apply([u, b]) as tfl.SymbolicTensor;
    const factors = this.bits.map((l) => l.apply(s) as tfl.SymbolicTensor);
    const selectors = factors.length === 1 ? factors[0] : (tfl.layers.multiply({ name: `${name}_selectors` }).apply(factors) as tfl.SymbolicTensor);
    const byExpert = tfl.layers.reshape({ targetShape: [k, experts], name: `${name}_selectors_k` }).apply(selectors) as tfl.SymbolicTensor;
    const w = this.w.apply(source) as tfl.SymbolicTensor;
    return tfl.layers.dot({ axes: [1, 1], name: `${name}_weights` }).apply([w, byExpert]) as tfl.SymbolicTensor;
  }

  /** The selectors' outputs, rows × (k·n) (rows: 1 for a static gate). */
  selectors(flat: tf.Tensor2D): tf.Tensor2D {
    const [zKernel, zBias] = layerVariables(this.z);
    const z = this.one ? zKernel : tf.add(tf.matMul(flat, zKernel as tf.Tensor2D), zBias);
    // The saved model's ops, in its order: clip(0.2 · (5/γ) z + ½, 0, 1), then u · (u · (3 − 2u)).
    const u = tf.clipByValue(tf.add(tf.mul(tf.mul(z, 5 / this.o.gamma), 0.2), 0.5), 0, 1);
    const s = tf.mul(u, tf.mul(u, tf.add(tf.mul(u, -2), 3))) as tf.Tensor2D;
    this.bitOps ??= this.bits.map((l) => {
      const [kernel, bias] = l.getWeights();
      return { kernel: kernel as tf.Tensor2D, bias: bias as tf.Tensor1D };
    });
    const factors = this.bitOps.map(({ kernel, bias }) => tf.add(tf.matMul(s, kernel), bias) as tf.Tensor2D);
    return factors.reduce((p, f) => tf.mul(p, f));
  }

  /** Selector mixture weights softmax(w), rows × k. */
  selectorWeights(flat: tf.Tensor2D): tf.Tensor2D {
    const [kernel, bias] = layerVariables(this.w);
    return tf.softmax(this.one ? kernel : tf.add(tf.matMul(flat, kernel as tf.Tensor2D), bias)) as tf.Tensor2D;
  }

  /** Expert weights (rows × n) from the selectors and their weights. */
  combine(selectors: tf.Tensor2D, weights: tf.Tensor2D): tf.Tensor2D {
    const rows = selectors.shape[0];
    const { k, experts } = this.o;
    return tf.sum(tf.mul(tf.reshape(weights, [rows, k, 1]), tf.reshape(selectors, [rows, k, experts])), 1) as tf.Tensor2D;
  }

  get variables(): tf.Variable[] {
    return [...layerVariables(this.z), ...layerVariables(this.w)];
  }

  /**
   * The regulariser λ · mean_rows Σᵢ H(selectorᵢ) (+ Σᵢ 1/Σₑ selectorᵢ(e) when n is not a power of two), as a value:
   * what `withRegularizerGradient` adds the gradient of.
   */
  regularizer(selectors: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => {
      const rows = selectors.shape[0];
      const perSelector = tf.reshape(selectors, [rows, this.o.k, this.o.experts]);
      let total: tf.Tensor = tf.scalar(0);
      if (this.o.entropy > 0) total = tf.mul(this.o.entropy, tf.neg(tf.sum(tf.mul(perSelector, tf.log(tf.add(perSelector, EPSILON))))));
      if (!isPowerOfTwo(this.o.experts)) total = tf.add(total, tf.sum(tf.reciprocal(tf.add(tf.sum(perSelector, 2), EPSILON))));
      return tf.div(total, rows) as tf.Scalar;
    });
  }

  /** Whether the gate has a regulariser at all. */
  get regularized(): boolean {
    return this.o.entropy > 0 || !isPowerOfTwo(this.o.experts);
  }

  /** ∇ of `regularizer` w.r.t. the selectors: λ·(−log(r + ε) − r/(r + ε)) and −1/(Σₑ r + ε)², over the rows. */
  regularizerGradient(selectors: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const rows = selectors.shape[0];
      const { k, experts } = this.o;
      const r = tf.reshape(selectors, [rows, k, experts]);
      let g: tf.Tensor = tf.zerosLike(r);
      if (this.o.entropy > 0) {
        const shifted = tf.add(r, EPSILON);
        g = tf.mul(-this.o.entropy, tf.add(tf.log(shifted), tf.div(r, shifted)));
      }
      if (!isPowerOfTwo(experts)) g = tf.sub(g, tf.reciprocal(tf.square(tf.add(tf.sum(r, 2, true), EPSILON))));
      return tf.reshape(tf.div(g, rows), [rows, k * experts]) as tf.Tensor2D;
    });
  }

  /** The selectors unchanged; their gradient gains ∇ of `regularizer` (the gate's own term, outside the reported loss). */
  withRegularizerGradient(selectors: tf.Tensor2D): tf.Tensor2D {
    if (!this.regularized) return selectors;
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([x]);
      return { value: tf.clone(x), gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.add(Array.isArray(dy) ? dy[0] : dy, this.regularizerGradient(saved[0] as tf.Tensor2D)) };
    });
    return op(selectors) as tf.Tensor2D;
  }
}

function isPowerOfTwo(n: number): boolean {
  return (n & (n - 1)) === 0;
}

export class DSelectKNetwork extends ComposedNetwork {
  private constructor(
    model: tfl.LayersModel,
    outputs: readonly OutputSpec[],
    inputShape: readonly number[],
    heads: HeadPart[],
    readonly options: DSelectKOptions,
    private readonly experts: Stack[],
    private readonly gates: DSelectGate[],
  ) {
    super(model, outputs, inputShape, heads);
  }

  static create(o: DSelectKOptions, inputShape: readonly number[], outputs: readonly OutputSpec[], rng: Rng): DSelectKNetwork {
    const net = DSelectKNetwork.assemble(o, inputShape, outputs, { rng });
    net.gates.forEach((g) => g.initBits());
    return net;
  }

  static fromModel(model: tfl.LayersModel, o: DSelectKOptions, inputShape: readonly number[], outputs: readonly OutputSpec[]): DSelectKNetwork {
    return DSelectKNetwork.assemble(o, loadedInputShape(model, inputShape), outputs, { model });
  }

  private static assemble(o: DSelectKOptions, inputShape: readonly number[], outputs: readonly OutputSpec[], src: LayerSource): DSelectKNetwork {
    uniqueHeadNames(outputs);
    const safe = outputs.map((x) => layerSafeName(x.name));
    // Layer creation order (the kernels' seeds): the experts, the gates head by head, then the heads.
    const experts = Array.from({ length: o.experts }, (_, e) => {
      const opts = { prefix: `shared_expert_${e}`, where: 'architecture.expertLayers', flattenEnd: true, dataInput: true };
      return src.model ? Stack.attach(src.model, o.expertLayers, inputShape, opts) : Stack.create(o.expertLayers, inputShape, opts, src.rng as Rng);
    });
    const gates = safe.map((s) => DSelectGate.make(src, o, `gate_${s}`));
    const width = experts[0].outputShape;
    if (width.length !== 1) throw new Error('DSelectKNetwork: experts must end flat');
    const heads = outputs.map((x, t) => {
      const where = `architecture.towers (head "${x.name}")`;
      return src.model ? HeadPart.attach(src.model, x, o.towers[t], width, where) : HeadPart.create(x, o.towers[t], width, src.rng as Rng, where);
    });
    let model = src.model;
    if (!model) {
      const input = tfl.input({ shape: [...inputShape], name: 'features' });
      const flat = inputShape.length > 1 ? (tfl.layers.flatten({ name: 'gate_input_flatten' }).apply(input) as tfl.SymbolicTensor) : input;
      const expanded = experts.map((s, e) => expandSymbolic(s.symbolic(input), `shared_expert_${e}_expand`));
      const mixed = gates.map((g, t) => mixSymbolic(g.symbolic(flat, `gate_${safe[t]}`), expanded, `mix_${safe[t]}`));
      model = tfl.model({ inputs: input, outputs: heads.map((h, t) => h.symbolic(mixed[t])), name: 'multiloss' });
    } else if (model.outputs.length !== outputs.length) {
      throw new MultilossError('model', `model.json has ${model.outputs.length} outputs, multiloss.json describes ${outputs.length} heads`);
    }
    return new DSelectKNetwork(model, outputs, inputShape, heads, o, experts, gates);
  }

  get sharedVariables(): tf.Variable[] {
    return this.experts.flatMap((s) => s.variables);
  }

  get headVariables(): tf.Variable[][] {
    return this.heads.map((h, t) => [...this.gates[t].variables, ...h.variables]);
  }

  /** The last layer of every expert. */
  get lastSharedVariables(): tf.Variable[] {
    return this.experts.flatMap((s) => s.lastVariables);
  }

  protected trunkBatchNormVariables(): tf.Variable[] {
    return this.experts.flatMap((s) => s.batchNormVariables);
  }

  protected trunk(x: tf.Tensor, training: boolean, rng?: Rng): tf.Tensor2D {
    const outs = this.experts.map((s) => s.apply(x, training, rng));
    return (outs.length === 1 ? outs[0] : tf.concat(outs, 1)) as tf.Tensor2D;
  }

  forwardHead(head: number, rep: tf.Tensor2D, input?: tf.Tensor): tf.Tensor2D {
    const gate = this.gates[head];
    const flat = flatRows(this.headInput(input));
    let selectors = gate.selectors(flat);
    if (this.headTraining) selectors = gate.withRegularizerGradient(selectors);
    const weights = gate.combine(selectors, gate.selectorWeights(flat));
    const mixed = mix(weights, splitColumns(rep, this.experts.length));
    return this.heads[head].apply(mixed, this.headTraining, this.headSeed(head));
  }

  /** Head t's expert weights for a batch (n × experts; rows × experts with n rows for a static gate too). */
  gateWeights(x: tf.Tensor, head: number): tf.Tensor2D {
    return tf.tidy(() => {
      const flat = flatRows(this.headInput(x));
      const gate = this.gates[head];
      const w = gate.combine(gate.selectors(flat), gate.selectorWeights(flat));
      return (w.shape[0] === flat.shape[0] ? w : tf.tile(w, [flat.shape[0], 1])) as tf.Tensor2D;
    });
  }

  /** Head t's regulariser for a batch, as a differentiable scalar (0 without entropy on a power-of-two number of experts). */
  gateRegularizer(x: tf.Tensor, head: number): tf.Scalar {
    return tf.tidy(() => {
      const flat = flatRows(this.headInput(x));
      return this.gates[head].regularizer(this.gates[head].selectors(flat));
    });
  }
}

function dselectOptions(spec: ArchitectureSpec, trunk: readonly DenseBlockSpec[], outputs?: readonly OutputSpec[]): DSelectKOptions {
  const expertLayers = blocksOption(spec, 'expertLayers', trunk);
  if (!expertLayers.length) throw new MultilossError('config', 'architecture.expertLayers: the experts of "dselect-k" need at least one block (model.trunk is empty)');
  const experts = intOption(spec, 'experts', 4, 2);
  const k = intOption(spec, 'k', 2, 1);
  if (k > experts) throw new MultilossError('config', `architecture.k: expected a whole number in [1, experts = ${experts}], got ${k}`);
  return {
    experts,
    k,
    gamma: signedOption(spec, 'gamma', 1, '> 0'),
    entropy: signedOption(spec, 'entropy', 0, '≥ 0'),
    perExample: booleanOption(spec, 'perExample', true),
    expertLayers,
    towers: towersOption(spec, outputs) ?? [],
  };
}

/** `architecture: { kind: dselect-k, experts: 4, k: 2, gamma: 1, entropy: 0, perExample: true, expertLayers: [...], towers: [...] }`. */
export const dselectKArchitecture: ArchitectureFactory = {
  kind: 'dselect-k',
  validate(spec, trunk) {
    checkKeys(spec, ['experts', 'k', 'gamma', 'entropy', 'perExample', 'expertLayers', 'towers']);
    dselectOptions(spec, trunk);
  },
  create(spec, trunk, inputShape, outputs, rng) {
    return DSelectKNetwork.create(dselectOptions(spec, trunk, outputs), inputShape, outputs, rng);
  },
  fromModel(model, spec, trunk, inputShape, outputs) {
    return DSelectKNetwork.fromModel(model, dselectOptions(spec, trunk, outputs), inputShape, outputs);
  },
};
