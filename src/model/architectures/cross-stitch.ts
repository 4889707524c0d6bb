/**
 * Cross-stitch networks (Misra, Shrivastava, Gupta, Hebert, "Cross-stitch
 * Networks for Multi-task Learning", CVPR 2016): one column per head, each a
 * copy of `columnLayers` (default model.trunk, conv blocks included); after
 * every block a cross-stitch unit replaces column t's output by
 * Σₛ αₜₛ · (column s's output), with learned αₜₛ (one per pair of columns and
 * block, initialised to αₜₜ = `selfWeight` (0.9) and the rest shared equally).
 * Then each head's tower and output layer.
 *
 * In the saved model a unit is standard tfjs layers: Concatenate the columns
 * on the channel axis, Reshape to (…, T, c), Permute to (…, c, T), then per
 * column a bias-free Dense(1) holding αₜ· and a Reshape back.
 *
 * Variable split: head t owns the last unit's αₜ· (its mixture of the final
 * column outputs), its tower and its output layer; the columns and the earlier
 * units reach every head through the stitching and are shared.
 *
 * Shared representation: the columns' final outputs (flattened) before the
 * last cross-stitch unit, concatenated (n × T·d); head t applies its αₜ· to it.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../../errors.js';
import type { Rng } from '../../util/rng.js';
import type { DenseBlockSpec } from '../blocks.js';
import type { OutputSpec } from '../trainable-network.js';
import { ComposedNetwork, uniqueHeadNames } from './base.js';
import { HeadPart } from './head-part.js';
import { blocksOption, checkKeys, numberOption, towersOption } from './options.js';
import type { ArchitectureFactory, ArchitectureSpec } from './registry.js';
import { layerSafeName, layerVariables, loadedInputShape, sourceLayer, Stack, type LayerSource } from './stack.js';

export interface CrossStitchOptions {
  columnLayers: DenseBlockSpec[];
  selfWeight: number;
  towers: DenseBlockSpec[][];
}

/** One cross-stitch unit: per column t a T×1 kernel αₜ·. */
interface StitchUnit {
  layers: tfl.layers.Layer[];
}

export class CrossStitchNetwork extends ComposedNetwork {
  private kernels = new Map<tfl.layers.Layer, tf.Variable>();

  private constructor(
    model: tfl.LayersModel,
    outputs: readonly OutputSpec[],
    inputShape: readonly number[],
    heads: HeadPart[],
    private readonly columns: Stack[],
    private readonly stitches: StitchUnit[],
  ) {
    super(model, outputs, inputShape, heads);
  }

  static create(o: CrossStitchOptions, inputShape: readonly number[], outputs: readonly OutputSpec[], rng: Rng): CrossStitchNetwork {
    const net = CrossStitchNetwork.assemble(o, inputShape, outputs, { rng });
    const T = outputs.length;
    const other = T > 1 ? (1 - o.selfWeight) / (T - 1) : 0;
    for (const unit of net.stitches) {
      unit.layers.forEach((layer, t) => {
        const alpha = Array.from({ length: T }, (_, s) => (s === t ? (T > 1 ? o.selfWeight : 1) : other));
        const value = tf.tensor2d(alpha, [T, 1]);
        layer.setWeights([value]);
        value.dispose();
      });
    }
    return net;
  }

  static fromModel(model: tfl.LayersModel, o: CrossStitchOptions, inputShape: readonly number[], outputs: readonly OutputSpec[]): CrossStitchNetwork {
    return CrossStitchNetwork.assemble(o, loadedInputShape(model, inputShape), outputs, { model });
  }

  private static assemble(o: CrossStitchOptions, inputShape: readonly number[], outputs: readonly OutputSpec[], src: LayerSource): CrossStitchNetwork {
    uniqueHeadNames(outputs);
    const T = outputs.length;
    const safe = outputs.map((x) => layerSafeName(x.name));
    const columns = safe.map((s) => {
      const opts = { prefix: `column_${s}`, where: 'architecture.columnLayers', flattenEnd: true };
      return src.model ? Stack.attach(src.model, o.columnLayers, inputShape, opts) : Stack.create(o.columnLayers, inputShape, opts, src.rng as Rng);
    });
    const B = o.columnLayers.length;
    const stitches: StitchUnit[] = Array.from({ length: B }, (_, k) => ({
      layers: safe.map((s) => sourceLayer(src, `stitch_${k}_${s}`, () => tfl.layers.dense({ units: 1, useBias: false, name: `stitch_${k}_${s}` }))),
    }));
    const d = columns[0].outputShape;
    const heads = outputs.map((x, t) =>
      src.model ? HeadPart.attach(src.model, x, o.towers[t], d, `architecture.towers (head "${x.name}")`) : HeadPart.create(x, o.towers[t], d, src.rng as Rng, `architecture.towers (head "${x.name}")`),
    );
    let model = src.model;
    if (!model) {
      const input = tfl.input({ shape: [...inputShape], name: 'features' });
      let cols: tfl.SymbolicTensor[] = outputs.map(() => input);
      for (let k = 0; k < B; k++) {
        cols = columns.map((c, t) => c.symbolic(cols[t], k, k + 1));
        cols = stitchSymbolic(cols, stitches[k], k, safe);
      }
      model = tfl.model({ inputs: input, outputs: heads.map((h, t) => h.symbolic(cols[t])), name: 'multiloss' });
    } else if (model.outputs.length !== T) {
      throw new MultilossError('model', `model.json has ${model.outputs.length} outputs, multiloss.json describes ${T} heads`);
    }
    return new CrossStitchNetwork(model, outputs, inputShape, heads, columns, stitches);
  }

  private kernel(layer: tfl.layers.Layer): tf.Variable {
    let k = this.kernels.get(layer);
    if (!k) {
      k = layerVariables(layer)[0];
      this.kernels.set(layer, k);
    }
    return k;
  }

  /** αₜ· of every unit, as a T×T matrix per unit (row t: how column t mixes the columns). */
  stitchWeights(): number[][][] {
    return this.stitches.map((u) => u.layers.map((l) => Array.from(this.kernel(l).dataSync())));
  }

  get sharedVariables(): tf.Variable[] {
    return [...this.columns.flatMap((c) => c.variables), ...this.stitches.slice(0, -1).flatMap((u) => u.layers.map((l) => this.kernel(l)))];
  }

  get headVariables(): tf.Variable[][] {
    const last = this.stitches[this.stitches.length - 1];
    return this.heads.map((h, t) => [this.kernel(last.layers[t]), ...h.variables]);
  }

  /** The last block of every column. */
  get lastSharedVariables(): tf.Variable[] {
    return this.columns.flatMap((c) => c.lastVariables);
  }

  protected trunkBatchNormVariables(): tf.Variable[] {
    return this.columns.flatMap((c) => c.batchNormVariables);
  }

  /** Column t's mixture Σₛ αₜₛ·xₛ of same-shaped column outputs. */
  private stitch(cols: tf.Tensor[], unit: StitchUnit, t: number): tf.Tensor {
    const T = cols.length;
    const stacked = tf.stack(cols, -1);
    const y = tf.matMul(tf.reshape(stacked, [-1, T]) as tf.Tensor2D, this.kernel(unit.layers[t]) as tf.Tensor2D);
    return tf.reshape(y, cols[0].shape);
  }

  protected trunk(x: tf.Tensor, training: boolean, rng?: Rng): tf.Tensor2D {
    const B = this.stitches.length;
    let cols: tf.Tensor[] = this.columns.map(() => x);
    for (let k = 0; k < B; k++) {
      cols = this.columns.map((c, t) => c.apply(cols[t], training, rng, k, k + 1));
      if (k < B - 1) {
        const unit = this.stitches[k];
        cols = cols.map((_, t) => this.stitch(cols, unit, t));
      }
    }
    return (cols.length === 1 ? cols[0] : tf.concat(cols, 1)) as tf.Tensor2D;
  }

  forwardHead(head: number, rep: tf.Tensor2D, _input?: tf.Tensor): tf.Tensor2D {
    const T = this.outputs.length;
    const cols = T === 1 ? [rep] : (tf.split(rep, T, 1) as tf.Tensor2D[]);
    const mixed = this.stitch(cols, this.stitches[this.stitches.length - 1], head);
    return this.heads[head].apply(mixed, this.headTraining, this.headSeed(head));
  }
}

/** A cross-stitch unit in the saved model: Concatenate → Reshape → Permute → Dense(1) per column → Reshape. */
function stitchSymbolic(cols: tfl.SymbolicTensor[], unit: StitchUnit, k: number, safe: string[]): tfl.SymbolicTensor[] {
  const T = cols.length;
  const shape = cols[0].shape.slice(1) as number[];
  const c = shape[shape.length - 1];
  const lead = shape.slice(0, -1);
  const cat = T === 1 ? cols[0] : (tfl.layers.concatenate({ axis: -1, name: `stitch_${k}_concat` }).apply(cols) as tfl.SymbolicTensor);
  const split = tfl.layers.reshape({ targetShape: [...lead, T, c], name: `stitch_${k}_split` }).apply(cat) as tfl.SymbolicTensor;
  const r = lead.length + 2;
  const dims = [...Array.from({ length: lead.length }, (_, i) => i + 1), r, r - 1];
  const perm = tfl.layers.permute({ dims, name: `stitch_${k}_permute` }).apply(split) as tfl.SymbolicTensor;
  return unit.layers.map((layer, t) => {
    const y = layer.apply(perm) as tfl.SymbolicTensor;
    return tfl.layers.reshape({ targetShape: shape, name: `stitch_${k}_${safe[t]}_out` }).apply(y) as tfl.SymbolicTensor;
  });
}

function crossStitchOptions(spec: ArchitectureSpec, trunk: readonly DenseBlockSpec[], outputs?: readonly OutputSpec[]): CrossStitchOptions {
  const columnLayers = blocksOption(spec, 'columnLayers', trunk);
  if (!columnLayers.length) throw new MultilossError('config', 'architecture.columnLayers: cross-stitch columns need at least one block (model.trunk is empty)');
  return { columnLayers, selfWeight: numberOption(spec, 'selfWeight', 0.9, 0, 1), towers: towersOption(spec, outputs) ?? [] };
}

/** `architecture: { kind: cross-stitch, columnLayers: [...], selfWeight: 0.9, towers: [...] }`. */
export const crossStitchArchitecture: ArchitectureFactory = {
  kind: 'cross-stitch',
  validate(spec, trunk) {
    checkKeys(spec, ['columnLayers', 'selfWeight', 'towers']);
    crossStitchOptions(spec, trunk);
  },
  create(spec, trunk, inputShape, outputs, rng) {
    return CrossStitchNetwork.create(crossStitchOptions(spec, trunk, outputs), inputShape, outputs, rng);
  },
  fromModel(model, spec, trunk, inputShape, outputs) {
    return CrossStitchNetwork.fromModel(model, crossStitchOptions(spec, trunk, outputs), inputShape, outputs);
  },
};
