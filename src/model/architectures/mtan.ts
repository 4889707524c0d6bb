/**
 * Multi-Task Attention Network (Liu, Johns & Davison, "End-to-End Multi-Task
 * Learning with Attention", CVPR 2019): one shared trunk (`model.trunk`) and,
 * per head, a soft-attention path that reads the trunk at every block.
 *
 * Every trunk block j is a stage with output sⱼ (after its pooling). Head t's
 * attention module at stage j computes an element-wise mask
 * aₜⱼ = σ(W₂ · relu(W₁ · [sⱼ ; cₜⱼ])) (with batch norm after each W when
 * `attentionBatchNorm`, as in the paper) — 1×1 convolutions on image
 * stages, dense layers on flat ones, as wide as sⱼ — and the head's features
 * âₜⱼ = aₜⱼ ⊙ sⱼ. cₜⱼ (absent at the first stage) is head t's previous
 * features brought to sⱼ's shape by a connector: a copy of trunk block j
 * (same conv/pool or dense, no dropout). The last stage's features
 * (flattened) go to the head's tower and output layer.
 *
 * Departure from the paper: its connector (a 3×3 conv) is shared by the
 * tasks; here each head has its own, so that every variable after the shared
 * representation belongs to one head and 'rep'-mode balancing stays exact.
 * It costs one copy of trunk blocks 1…B−1 per head.
 *
 * Shared representation (what 'rep'-mode methods balance): every stage's
 * output sⱼ, flattened and concatenated (n × Σⱼ |sⱼ|) — the attention modules
 * read all of them, so the heads reach the trunk through all of them.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../../errors.js';
import type { Rng } from '../../util/rng.js';
import type { DenseBlockSpec } from '../blocks.js';
import type { OutputSpec } from '../trainable-network.js';
import { ComposedNetwork, uniqueHeadNames } from './base.js';
import { HeadPart } from './head-part.js';
import { booleanOption, checkKeys, towersOption } from './options.js';
import type { ArchitectureFactory, ArchitectureSpec } from './registry.js';
import { layerSafeName, loadedInputShape, Stack, type LayerSource } from './stack.js';

export interface MtanOptions {
  /** Batch norm in the attention masks (the paper's attention layer has it; off by default, see MASK_BN_MOMENTUM). */
  attentionBatchNorm: boolean;
  towers: DenseBlockSpec[][];
}

/** Head t's attention path: a mask per stage and a connector into every stage after the first. */
interface AttentionPath {
  masks: Stack[];
  /** connectors[j] brings the features of stage j to stage j + 1's shape. */
  connectors: Stack[];
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The masks' batch-norm momentum (with `attentionBatchNorm: true`): 0.9, PyTorch's default (0.1
 * there) that the paper's code uses. tfjs's 0.99 leaves the moving statistics far from the batch
 * statistics after a few hundred steps, and the sigmoid mask amplifies the gap: MultiMNIST test
 * accuracy fell to ~28% (train loss fine) at 0.99 after 3 epochs of 4,000 images; at 0.9 the gap
 * remains at short budgets, hence batch norm off by default (BENCHMARKS.md).
 */
const MASK_BN_MOMENTUM = 0.9;

export class MtanNetwork extends ComposedNetwork {
  private constructor(
    model: tfl.LayersModel,
    outputs: readonly OutputSpec[],
    inputShape: readonly number[],
    heads: HeadPart[],
    private readonly trunkStack: Stack,
    private readonly paths: AttentionPath[],
  ) {
    super(model, outputs, inputShape, heads);
  }

  static create(trunk: readonly DenseBlockSpec[], o: MtanOptions, inputShape: readonly number[], outputs: readonly OutputSpec[], rng: Rng): MtanNetwork {
    return MtanNetwork.assemble(trunk, o, inputShape, outputs, { rng });
  }

  static fromModel(model: tfl.LayersModel, trunk: readonly DenseBlockSpec[], o: MtanOptions, inputShape: readonly number[], outputs: readonly OutputSpec[]): MtanNetwork {
    return MtanNetwork.assemble(trunk, o, loadedInputShape(model, inputShape), outputs, { model });
  }

  private static assemble(trunk: readonly DenseBlockSpec[], o: MtanOptions, inputShape: readonly number[], outputs: readonly OutputSpec[], src: LayerSource): MtanNetwork {
    uniqueHeadNames(outputs);
    const stack = (specs: readonly DenseBlockSpec[], shape: readonly number[], prefix: string, where: string, dataInput = false, batchNormMomentum?: number): Stack => {
      const opts = { prefix, where, dataInput, batchNormMomentum };
      return src.model ? Stack.attach(src.model, specs, shape, opts) : Stack.create(specs, shape, opts, src.rng as Rng);
    };
    // Layer creation order (the kernels' seeds): the trunk, then head by head its masks, connectors, tower and output.
    const shared = stack(trunk, inputShape, 'trunk', 'model.trunk', true);
    const shapes = shared.unitShapes;
    const safe = outputs.map((x) => layerSafeName(x.name));
    const paths: AttentionPath[] = [];
    const heads = outputs.map((x, t) => {
      const masks = shapes.map((shape, j) => stack(maskBlocks(shape, o.attentionBatchNorm), j === 0 ? shape : [...shape.slice(0, -1), 2 * shape[shape.length - 1]], `att_${safe[t]}_${j}`, 'architecture (attention mask)', false, MASK_BN_MOMENTUM));
      const connectors = shapes.slice(1).map((_, j) => stack([{ ...trunk[j + 1], dropout: undefined }], shapes[j], `connect_${safe[t]}_${j + 1}`, `model.trunk[${j + 1}] (attention connector)`));
      paths.push({ masks, connectors });
      const where = `architecture.towers (head "${x.name}")`;
      const width = [size(shapes[shapes.length - 1])];
      return src.model ? HeadPart.attach(src.model, x, o.towers[t], width, where) : HeadPart.create(x, o.towers[t], width, src.rng as Rng, where);
    });
    let model = src.model;
    if (!model) {
      const input = tfl.input({ shape: [...inputShape], name: 'features' });
      const stages: tfl.SymbolicTensor[] = [];
      let h = input;
      shapes.forEach((_, j) => {
        h = shared.symbolic(h, j, j + 1);
        stages.push(h);
      });
      const features = paths.map((path, t) => {
        let prev: tfl.SymbolicTensor | undefined;
        let feature = stages[0];
        stages.forEach((s, j) => {
          const maskInput = prev ? (tfl.layers.concatenate({ axis: -1, name: `att_${safe[t]}_${j}_input` }).apply([s, prev]) as tfl.SymbolicTensor) : s;
          const mask = path.masks[j].symbolic(maskInput);
          feature = tfl.layers.multiply({ name: `att_${safe[t]}_${j}_apply` }).apply([mask, s]) as tfl.SymbolicTensor;
          if (j < stages.length - 1) prev = path.connectors[j].symbolic(feature);
        });
        return feature.shape.length > 2 ? (tfl.layers.flatten({ name: `att_${safe[t]}_flatten` }).apply(feature) as tfl.SymbolicTensor) : feature;
      });
      model = tfl.model({ inputs: input, outputs: heads.map((head, t) => head.symbolic(features[t])), name: 'multiloss' });
    } else if (model.outputs.length !== outputs.length) {
      throw new MultilossError('model', `model.json has ${model.outputs.length} outputs, multiloss.json describes ${outputs.length} heads`);
    }
    return new MtanNetwork(model, outputs, inputShape, heads, shared, paths);
  }

  get sharedVariables(): tf.Variable[] {
    return this.trunkStack.variables;
  }

  get headVariables(): tf.Variable[][] {
    return this.heads.map((h, t) => [...this.paths[t].masks.flatMap((s) => s.variables), ...this.paths[t].connectors.flatMap((s) => s.variables), ...h.variables]);
  }

  /** The trunk's last block. */
  get lastSharedVariables(): tf.Variable[] {
    return this.trunkStack.lastVariables;
  }

  protected trunkBatchNormVariables(): tf.Variable[] {
    return this.trunkStack.batchNormVariables;
  }

  protected trunk(x: tf.Tensor, training: boolean, rng?: Rng): tf.Tensor2D {
    const n = x.shape[0];
    const parts: tf.Tensor[] = [];
    let h = x;
    for (let j = 0; j < this.trunkStack.units.length; j++) {
      h = this.trunkStack.apply(h, training, rng, j, j + 1);
      parts.push(h.rank === 2 ? h : tf.reshape(h, [n, -1]));
    }
    return (parts.length === 1 ? parts[0] : tf.concat(parts, 1)) as tf.Tensor2D;
  }

  /** Head t's attention path over the stages in `rep`, then its tower and output. */
  forwardHead(head: number, rep: tf.Tensor2D, _input?: tf.Tensor): tf.Tensor2D {
    const n = rep.shape[0];
    const shapes = this.trunkStack.unitShapes;
    const flat = shapes.length === 1 ? [rep] : tf.split(rep, shapes.map(size), 1);
    const stages = flat.map((s, j) => (shapes[j].length === 1 ? s : tf.reshape(s, [n, ...shapes[j]])));
    const path = this.paths[head];
    const training = this.headTraining;
    let prev: tf.Tensor | undefined;
    let feature: tf.Tensor = stages[0];
    stages.forEach((s, j) => {
      const mask = path.masks[j].apply(prev ? tf.concat([s, prev], -1) : s, training);
      feature = tf.mul(mask, s);
      if (j < stages.length - 1) prev = path.connectors[j].apply(feature, training);
    });
    const features = feature.rank === 2 ? feature : tf.reshape(feature, [n, -1]);
    return this.heads[head].apply(features, training, this.headSeed(head));
  }

  /** Head t's attention masks for a batch, one tensor per stage (n × stage shape, values in (0, 1)). */
  attentionMasks(x: tf.Tensor, head: number): tf.Tensor[] {
    return tf.tidy(() => {
      const xi = this.headInput(x);
      const n = xi.shape[0];
      const shapes = this.trunkStack.unitShapes;
      const rep = this.forwardTrunk(xi, false);
      const flat = shapes.length === 1 ? [rep] : tf.split(rep, shapes.map(size), 1);
      const path = this.paths[head];
      const masks: tf.Tensor[] = [];
      let prev: tf.Tensor | undefined;
      flat.forEach((f, j) => {
        const s = shapes[j].length === 1 ? f : tf.reshape(f, [n, ...shapes[j]]);
        const mask = path.masks[j].apply(prev ? tf.concat([s, prev], -1) : s, false);
        masks.push(mask);
        if (j < flat.length - 1) prev = path.connectors[j].apply(tf.mul(mask, s), false);
      });
      return masks;
    });
  }
}

/** The attention mask of a stage of this shape: 1×1 conv (image stage) or dense, twice, as wide as the stage; relu then sigmoid. */
function maskBlocks(shape: readonly number[], batchNorm: boolean): DenseBlockSpec[] {
  const units = shape[shape.length - 1];
  const image = shape.length === 3;
  const block = (activation: 'relu' | 'sigmoid'): DenseBlockSpec => (image ? { type: 'conv', units, kernel: 1, activation, batchNorm } : { units, activation, batchNorm });
  return [block('relu'), block('sigmoid')];
}

function mtanOptions(spec: ArchitectureSpec, trunk: readonly DenseBlockSpec[], outputs?: readonly OutputSpec[]): MtanOptions {
  if (!trunk.length) throw new MultilossError('config', 'model.trunk: MTAN attends over the shared trunk\'s blocks; give it at least one block');
  return { attentionBatchNorm: booleanOption(spec, 'attentionBatchNorm', false), towers: towersOption(spec, outputs) ?? [] };
}

/** `architecture: { kind: mtan, attentionBatchNorm: false, towers: [...] }` over `model.trunk`. */
export const mtanArchitecture: ArchitectureFactory = {
  kind: 'mtan',
  validate(spec, trunk) {
    checkKeys(spec, ['attentionBatchNorm', 'towers']);
    mtanOptions(spec, trunk);
  },
  create(spec, trunk, inputShape, outputs, rng) {
    return MtanNetwork.create(trunk, mtanOptions(spec, trunk, outputs), inputShape, outputs, rng);
  },
  fromModel(model, spec, trunk, inputShape, outputs) {
    return MtanNetwork.fromModel(model, trunk, mtanOptions(spec, trunk, outputs), inputShape, outputs);
  },
};
