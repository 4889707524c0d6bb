/**
 * What the soft-sharing architectures (MMoE, CGC/PLE, cross-stitch) have in
 * common: input shaping, dropout seeding, the heads, batch-norm state, the
 * GradNorm norms by replay, gates and expert mixtures.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import { activateOutput } from '../network.js';
import type { LastBlockCapture, OutputSpec, TrainableNetwork } from '../trainable-network.js';
import { replayGradNorms } from '../replay-grad-norms.js';
import { HeadPart, headSeed } from './head-part.js';
import { glorot, layerSafeName, layerVariables, sourceLayer, type LayerSource } from './stack.js';
import { shapeBatch } from './stack.js';

export function uniqueHeadNames(outputs: readonly OutputSpec[]): void {
  const seen = new Set<string>();
  for (const o of outputs) {
    const n = layerSafeName(o.name);
    if (seen.has(n)) throw new MultilossError('config', `two heads map to the same layer name "${n}"; rename one`);
    seen.add(n);
  }
}

/**
 * A network whose forward pass is split into a trunk (everything computed
 * before the heads part ways) and per-head parts. Subclasses define `trunk`,
 * `forwardHead` and the variable split.
 *
 * Dropout: when training, `forwardTrunk` takes two seeds from the rng — one
 * for every mask drawn in the trunk, one from which each head's masks derive —
 * so the trainer's replays (same rng seed) draw the same masks.
 */
export abstract class ComposedNetwork implements TrainableNetwork {
  protected headTraining = false;
  protected headSeedBase?: number;

  protected constructor(
    readonly model: tfl.LayersModel,
    readonly outputs: readonly OutputSpec[],
    readonly inputShape: readonly number[],
    protected readonly heads: readonly HeadPart[],
  ) {}

  abstract get sharedVariables(): tf.Variable[];
  abstract get headVariables(): tf.Variable[][];
  abstract get lastSharedVariables(): tf.Variable[];
  /** Batch-norm moving statistics of the layers `trunk` runs. */
  protected abstract trunkBatchNormVariables(): tf.Variable[];
  /** The shared representation from an input batch already shaped [n, ...inputShape]. */
  protected abstract trunk(x: tf.Tensor, training: boolean, rng?: Rng): tf.Tensor2D;
  abstract forwardHead(head: number, rep: tf.Tensor2D, input?: tf.Tensor): tf.Tensor2D;

  get trainableVariables(): tf.Variable[] {
    return [...this.sharedVariables, ...this.headVariables.flat()];
  }

  forwardTrunk(x: tf.Tensor, training: boolean, rng?: Rng, capture?: LastBlockCapture): tf.Tensor2D {
    const xi = shapeBatch(x, this.inputShape);
    const seed = training && rng ? rng.seed() : undefined;
    this.headTraining = training;
    this.headSeedBase = training && rng ? rng.seed() : undefined;
    if (capture) {
      // The whole input: lastBlockGradNorms replays the trunk (a copy: the trainer disposes it).
      capture.input = tf.clone(xi) as tf.Tensor2D;
      capture.seed = seed;
    }
    return this.trunk(xi, training, seed === undefined ? undefined : new Rng(seed));
  }

  /** The dropout seed of head `t`'s own layers in the current forward pass. */
  protected headSeed(t: number): number | undefined {
    return this.headTraining ? headSeed(this.headSeedBase, t) : undefined;
  }

  /** The input batch a head reads directly (gates of the first level), shaped. */
  protected headInput(input: tf.Tensor | undefined): tf.Tensor {
    if (!input) throw new Error('forwardHead: this architecture needs the input batch');
    return shapeBatch(input, this.inputShape);
  }

  forwardHeads(rep: tf.Tensor2D, input?: tf.Tensor): tf.Tensor2D[] {
    return this.heads.map((_, t) => this.forwardHead(t, rep, input));
  }

  activate(raw: tf.Tensor2D[]): tf.Tensor2D[] {
    return raw.map((r, i) => activateOutput(r, this.outputs[i].activation));
  }

  predict(x: tf.Tensor): tf.Tensor2D[] {
    return tf.tidy(() => {
      const xi = shapeBatch(x, this.inputShape);
      return this.activate(this.forwardHeads(this.forwardTrunk(xi, false), xi));
    });
  }

  /**
   * ‖∇_W Lₜ‖ over `lastSharedVariables` W for each head, from its gradient
   * w.r.t. the representation: the trunk is replayed on the captured input
   * with the same dropout masks (batch-norm statistics restored) and
   * differentiated along gₜ.
   */
  lastBlockGradNorms(capture: LastBlockCapture, grads: readonly tf.Tensor2D[]): number[] {
    const T = grads.length;
    const vars = this.lastSharedVariables;
    const input = capture.input;
    if (!input || !vars.length) return new Array<number>(T).fill(NaN);
    const saved = this.saveBatchNormState();
    try {
      return replayGradNorms(grads, vars, () => this.trunk(input, true, capture.seed === undefined ? undefined : new Rng(capture.seed)));
    } finally {
      this.restoreBatchNormState(saved);
    }
  }

  /**
   * Batch-norm moving statistics of the trunk (copies). Head-side layers
   * (towers, a head's own experts) run once per step in either balancing mode
   * and are not included.
   */
  saveBatchNormState(): tf.Tensor[] {
    return this.trunkBatchNormVariables().map((v) => tf.clone(v));
  }

  restoreBatchNormState(saved: tf.Tensor[]): void {
    this.trunkBatchNormVariables().forEach((v, i) => v.assign(saved[i]));
    tf.dispose(saved);
  }

  countParams(): number {
    return this.model.countParams();
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** A softmax gate over `k` experts: Dense(k, softmax) on a flat input. */
export class Gate {
  private vars?: [tf.Variable, tf.Variable];
  private constructor(readonly layer: tfl.layers.Layer) {}

  static make(src: LayerSource, name: string, k: number): Gate {
    return new Gate(sourceLayer(src, name, (rng) => tfl.layers.dense({ units: k, activation: 'softmax', kernelInitializer: glorot(rng), name })));
  }

  get size(): number {
    return (this.layer.getConfig() as { units: number }).units;
  }

  /** n×k mixture weights (each row sums to 1). */
  apply(x: tf.Tensor): tf.Tensor2D {
    if (!this.vars) this.vars = layerVariables(this.layer) as [tf.Variable, tf.Variable];
    const [w, b] = this.vars;
    return tf.softmax(tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b) as tf.Tensor2D);
  }

  get variables(): tf.Variable[] {
    return layerVariables(this.layer);
  }
}

/** Σₖ gateₖ · expertₖ (gate n×K, experts K × n×d). */
export function mix(gate: tf.Tensor2D, experts: tf.Tensor[]): tf.Tensor2D {
  const [n, k] = gate.shape;
  const stacked = experts.length === 1 ? tf.expandDims(experts[0], 1) : tf.stack(experts, 1);
  return tf.sum(tf.mul(stacked, tf.reshape(gate, [n, k, 1])), 1) as tf.Tensor2D;
}

/**
 * The same mixture in the saved model: each expert output reshaped to 1×d
 * (`expanded`, built once per expert), concatenated to K×d, then a Dot layer
 * with the gate. Standard tfjs layers only.
 */
export function mixSymbolic(gate: tfl.SymbolicTensor, expanded: tfl.SymbolicTensor[], name: string): tfl.SymbolicTensor {
  const stacked = expanded.length === 1 ? expanded[0] : (tfl.layers.concatenate({ axis: 1, name: `${name}_experts` }).apply(expanded) as tfl.SymbolicTensor);
  return tfl.layers.dot({ axes: [1, 1], name }).apply([gate, stacked]) as tfl.SymbolicTensor;
}

/** An expert's output as a 1×d slice for `mixSymbolic`. */
export function expandSymbolic(x: tfl.SymbolicTensor, name: string): tfl.SymbolicTensor {
  const d = x.shape[x.shape.length - 1] as number;
  return tfl.layers.reshape({ targetShape: [1, d], name }).apply(x) as tfl.SymbolicTensor;
}

/** Splits an n×(k·d) tensor into k n×d column blocks. */
export function splitColumns(x: tf.Tensor2D, k: number): tf.Tensor2D[] {
  if (k === 0) return [];
  return tf.split(x, k, 1) as tf.Tensor2D[];
}

/** The flat view of the input that first-level gates read. */
export function flatRows(x: tf.Tensor): tf.Tensor2D {
  return (x.rank === 2 ? x : tf.reshape(x, [x.shape[0], -1])) as tf.Tensor2D;
}
