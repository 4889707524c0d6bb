import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../errors.js';
import type { HeadActivation } from '../model/heads/head.js';
import { activateOutput } from '../model/network.js';
import type { LastBlockCapture, OutputSpec, TrainableNetwork } from '../model/trainable-network.js';
import { replayGradNorms } from '../model/replay-grad-norms.js';
import { Rng } from '../util/rng.js';
import { analyseGraph, type GraphAnalysis, type GraphNode } from './graph.js';

type Layer = tfl.layers.Layer;
type SymbolicTensor = tfl.SymbolicTensor;
type Activation = (x: tf.Tensor) => tf.Tensor;

/**
 * Activations a Dense layer is run with as plain ops (the same ops
 * MultiHeadNetwork uses, so a network it built trains bit for bit the same
 * through this adapter). Other activations go through the layer itself.
 */
const PLAIN_ACTIVATIONS: Partial<Record<string, Activation>> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  tanh: (x) => tf.tanh(x),
  sigmoid: (x) => tf.sigmoid(x),
  softplus: (x) => tf.softplus(x),
};

/** Layers that draw random numbers in training mode without a seed multiloss could give them. */
const UNSEEDED_RANDOM_LAYERS = ['GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'SpatialDropout1D'];

/**
 * Refuses layers whose training-mode randomness multiloss cannot seed: the
 * noise layers, dropout inside RNN layers, and Dropout inside a nested model
 * (run as one opaque layer). A replay of a step must see the same masks.
 */
function checkSeedable(layer: Layer, nested: boolean): void {
  const cls = layer.getClassName();
  const config = layer.getConfig() as { dropout?: unknown; recurrentDropout?: unknown };
  const why = UNSEEDED_RANDOM_LAYERS.includes(cls)
    ? 'draws random numbers in training'
    : nested && cls === 'Dropout'
      ? 'is a Dropout inside a nested model'
      : Number(config.dropout ?? 0) > 0 || Number(config.recurrentDropout ?? 0) > 0
        ? 'applies its own dropout'
        : undefined;
  if (why) {
    throw new MultilossError(
      'config',
      `layer "${layer.name}" (${cls}) ${why}, which multiloss cannot seed (replays of a step must see the same masks); use a Dropout layer in the model's own graph, whose masks multiloss draws from its seeded generator`,
    );
  }
  const inner = (layer as unknown as { layers?: Layer[] }).layers;
  if (Array.isArray(inner)) inner.forEach((l) => checkSeedable(l, true));
}

/** How one head's raw (pre-activation) output is read off the graph. */
type RawPlan =
  /** The raw output is this tensor (the output itself, or the input of a final softmax/sigmoid layer). */
  | { tensor: SymbolicTensor }
  /** The output layer is a Dense with softmax/sigmoid: its matMul + bias without the activation. */
  | { densePre: GraphNode };

/** Which layers and variables the adapter treats as shared, and why 'rep' mode may be unavailable. */
export interface SharingDescription {
  /** Layers used by two or more outputs (plus any added through `sharedVariables`), in model order. */
  sharedLayers: string[];
  /** Per output (head): the layers only it uses. */
  headLayers: Record<string, string[]>;
  /** Names of the trainable variables gradient methods balance. */
  sharedVariables: string[];
  /** Per output: names of the trainable variables only it uses. */
  headVariables: Record<string, string[]>;
  /** The variables GradNorm treats as "the last shared layer". */
  lastSharedVariables: string[];
  /** The tensors the shared layers hand to the heads (the shared representation when there is one). */
  boundary: string[];
  /** Why `balance.mode: rep` is not available on this model (undefined when it is). */
  repUnavailable?: string;
}

export interface LayersModelNetworkOptions {
  /**
   * Overrides the derived shared set: layer names, variable names or
   * variables. It must contain every variable two or more outputs use;
   * variables of a single output may be added (gradient methods then balance
   * them too; the other heads' gradients there are zero).
   */
  sharedVariables?: readonly (string | tf.Variable)[];
}

interface PassContext {
  training: boolean;
  rng?: Rng;
}

/**
 * A TrainableNetwork over any functional tfjs LayersModel with named outputs
 * (one input tensor). The shared part is derived from the graph: the layer
 * calls that feed two or more outputs form the trunk, everything that feeds a
 * single output belongs to that output's head. `forwardTrunk` computes the
 * tensors the trunk hands to the heads (the shared representation: that
 * tensor itself when there is one, else their flattened concatenation);
 * `forwardHead` computes one output's raw value from them.
 *
 * The model is run node by node on its own layer objects and variables:
 * Dense layers as plain matMul + bias + activation (as MultiHeadNetwork does),
 * Dropout with masks from the seeded Rng (replays draw the same masks), every
 * other layer through `layer.apply` with `training` set. A final softmax or
 * sigmoid (a Dense's activation, an Activation or a Softmax layer) is left
 * out of the raw output: the loss works on logits, and `activate` puts it back.
 */
export class LayersModelNetwork implements TrainableNetwork {
  readonly sharedVariables: tf.Variable[];
  readonly headVariables: tf.Variable[][];
  readonly lastSharedVariables: tf.Variable[];
  private readonly graph: GraphAnalysis;
  private readonly rawPlans: RawPlan[];
  private readonly headNodes: Set<GraphNode>[];
  private readonly headHasDropout: boolean;
  private readonly repUnavailableReason?: string;
  private readonly captures = new WeakMap<LastBlockCapture, object>();
  /**
   * Per head: shared variables its output does not depend on (partial sharing, or an
   * override). The head's output gets 0·Σv of them, so that its gradient there is an
   * exact zero rather than missing (the trainer's 'param' mode expects one per shared variable).
   */
  private pass: { training: boolean; headSeed?: number; partShapes: number[][] } = { training: false, partShapes: [] };

  constructor(
    readonly model: tfl.LayersModel,
    readonly outputs: readonly OutputSpec[],
    options: LayersModelNetworkOptions = {},
  ) {
    this.graph = analyseGraph(model);
    const g = this.graph;
    for (const n of g.nodes) checkSeedable(n.layer, false);
    const outIndex = outputs.map((o) => model.outputNames.indexOf(o.name));
    outIndex.forEach((i, t) => {
      if (i < 0) throw new MultilossError('config', `head "${outputs[t].name}": the model has no output of that name; outputs: ${model.outputNames.join(', ')}`);
    });
    if (outputs.length !== model.outputs.length) {
      throw new MultilossError('config', `the model has ${model.outputs.length} outputs (${model.outputNames.join(', ')}) but ${outputs.length} heads are given`);
    }
    this.rawPlans = outputs.map((o, t) => this.planRaw(o, outIndex[t]));
    this.headNodes = outIndex.map((i) => new Set(g.nodes.filter((n) => n.feeds.size === 1 && n.feeds.has(i))));
    this.headHasDropout = g.nodes.some((n) => n.feeds.size === 1 && n.layer.getClassName() === 'Dropout');

    // Variables: by layer, in model.layers order (for a MultiHeadNetwork model: its own order).
    const vars = (l: Layer) => l.trainableWeights.map((w) => w.read() as tf.Variable);
    const derivedShared = new Set(g.layers.filter((l) => (g.layerFeeds.get(l)?.size ?? 0) >= 2).flatMap(vars));
    let shared = derivedShared;
    if (options.sharedVariables) shared = this.resolveOverride(options.sharedVariables, derivedShared);
    const ordered = g.layers.flatMap(vars);
    this.sharedVariables = ordered.filter((v) => shared.has(v));
    this.headVariables = outIndex.map((i) =>
      g.layers.filter((l) => { const f = g.layerFeeds.get(l); return f?.size === 1 && f.has(i); }).flatMap(vars).filter((v) => !shared.has(v)),
    );
    this.lastSharedVariables = this.findLastShared(vars);

    if (g.boundary.length === 0) this.repUnavailableReason = 'no layer of the model is used by two or more outputs';
    else if (g.boundary.length > 1) {
      this.repUnavailableReason = `the shared layers hand ${g.boundary.length} tensors to the heads (${g.boundary.map((b) => b.sourceLayer.name).join(', ')}), so there is no single shared representation`;
    } else {
      const trunkLayers = new Set(g.trunkNodes.map((n) => n.layer));
      const split = g.layers.find((l) => (g.layerFeeds.get(l)?.size ?? 0) >= 2 && !trunkLayers.has(l));
      if (split) this.repUnavailableReason = `layer "${split.name}" is called inside two heads' branches (shared weights outside the trunk)`;
    }
  }

  /** Why 'rep' mode is unavailable on this model, or undefined when it is available. */
  get repUnavailable(): string | undefined {
    return this.repUnavailableReason;
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.sharedVariables, ...this.headVariables.flat()];
  }

  /** The derived (or overridden) split into shared and per-head layers and variables. */
  describeSharing(): SharingDescription {
    const g = this.graph;
    const sharedVars = new Set(this.sharedVariables);
    const headLayers: Record<string, string[]> = {};
    const headVariables: Record<string, string[]> = {};
    this.outputs.forEach((o, t) => {
      const i = this.model.outputNames.indexOf(o.name);
      headLayers[o.name] = g.layers.filter((l) => { const f = g.layerFeeds.get(l); return f?.size === 1 && f.has(i); }).map((l) => l.name);
      headVariables[o.name] = this.headVariables[t].map((v) => v.name);
    });
    return {
      sharedLayers: g.layers.filter((l) => l.trainableWeights.some((w) => sharedVars.has(w.read() as tf.Variable)) || (g.layerFeeds.get(l)?.size ?? 0) >= 2).map((l) => l.name),
      headLayers,
      sharedVariables: this.sharedVariables.map((v) => v.name),
      headVariables,
      lastSharedVariables: this.lastSharedVariables.map((v) => v.name),
      boundary: g.boundary.map((b) => b.name),
      repUnavailable: this.repUnavailableReason,
    };
  }

  private resolveOverride(spec: readonly (string | tf.Variable)[], derived: Set<tf.Variable>): Set<tf.Variable> {
    const g = this.graph;
    const all = g.layers.flatMap((l) => l.trainableWeights.map((w) => ({ layer: l, v: w.read() as tf.Variable })));
    const out = new Set<tf.Variable>();
    for (const item of spec) {
      if (typeof item !== 'string') {
        if (!all.some((a) => a.v === item)) throw new MultilossError('config', `sharedVariables: variable "${item.name}" is not a trainable variable of the model`);
        out.add(item);
        continue;
      }
      const byLayer = all.filter((a) => a.layer.name === item);
      const byVar = all.filter((a) => a.v.name === item);
      if (!byLayer.length && !byVar.length) {
        throw new MultilossError('config', `sharedVariables: "${item}" is neither a layer with trainable weights nor a trainable variable of the model; layers: ${[...new Set(all.map((a) => a.layer.name))].join(', ')}`);
      }
      for (const a of [...byLayer, ...byVar]) out.add(a.v);
    }
    const missing = [...derived].filter((v) => !out.has(v));
    if (missing.length) {
      const users = (v: tf.Variable) => {
        const layer = all.find((a) => a.v === v)?.layer;
        return layer ? [...(g.layerFeeds.get(layer) ?? [])].map((i) => this.model.outputNames[i]) : [];
      };
      throw new MultilossError(
        'config',
        `sharedVariables must include every variable two or more outputs use; missing: ${missing.map((v) => `${v.name} (used by ${users(v).join(', ')})`).join('; ')}`,
      );
    }
    return out;
  }

  /** The trainable variables of the shared layers nearest the boundary (GradNorm's W). */
  private findLastShared(vars: (l: Layer) => tf.Variable[]): tf.Variable[] {
    const g = this.graph;
    const found: tf.Variable[] = [];
    const seen = new Set<GraphNode>();
    let frontier = g.boundary.map((b) => g.producer.get(b.id)).filter((n): n is GraphNode => !!n);
    while (frontier.length) {
      const next: GraphNode[] = [];
      for (const n of frontier) {
        if (seen.has(n)) continue;
        seen.add(n);
        const v = vars(n.layer);
        if (v.length) v.forEach((x) => found.includes(x) || found.push(x));
        else for (const i of n.inputs) { const p = g.producer.get(i.id); if (p) next.push(p); }
      }
      frontier = next;
    }
    const order = this.sharedVariables;
    return found.filter((v) => order.includes(v)).sort((a, b) => order.indexOf(a) - order.indexOf(b));
  }

  private planRaw(o: OutputSpec, index: number): RawPlan {
    const g = this.graph;
    const tensor = this.model.outputs[index];
    const where = `output "${o.name}"`;
    const shape = tensor.shape;
    if (shape.length !== 2) throw new MultilossError('config', `${where}: has shape [${shape.map(String).join(', ')}]; multiloss heads need outputs of shape [batch, units]`);
    if (shape[1] !== null && shape[1] !== o.units) throw new MultilossError('config', `${where}: has ${shape[1]} units, its head needs ${o.units}`);
    const node = g.producer.get(tensor.id);
    if (!node) throw new MultilossError('config', `${where}: is the model's input itself`);
    const cls = node.layer.getClassName();
    const config = node.layer.getConfig() as { activation?: unknown; axis?: unknown; useBias?: unknown };
    const act = typeof config.activation === 'string' ? config.activation : 'linear';
    let ends: HeadActivation = 'linear';
    let plan: RawPlan = { tensor };
    if (cls === 'Activation' && (act === 'softmax' || act === 'sigmoid')) {
      ends = act;
      plan = { tensor: node.inputs[0] };
    } else if (cls === 'Softmax') {
      ends = 'softmax';
      plan = { tensor: node.inputs[0] };
    } else if (cls === 'Dense' && (act === 'softmax' || act === 'sigmoid')) {
      ends = act;
      plan = { densePre: node };
    } else if (act === 'softmax' || act === 'sigmoid') {
      throw new MultilossError(
        'config',
        `${where}: layer "${node.layer.name}" (${cls}) applies ${act} itself; multiloss needs the logits: give it activation 'linear' and add tf.layers.activation({ activation: '${act}' }) after it`,
      );
    }
    if (ends !== 'linear' && ends !== o.activation) {
      throw new MultilossError('config', `${where}: the model ends in ${ends}, but its head (${o.activation === 'linear' ? 'a linear output' : o.activation}) needs ${o.activation === 'linear' ? 'no activation' : o.activation}`);
    }
    if (ends !== 'linear' && node.feeds.size >= 2) {
      throw new MultilossError('config', `${where}: its final ${ends} layer "${node.layer.name}" is shared with other outputs`);
    }
    return plan;
  }

  // ---------------------------------------------------------------- forward

  private compute(t: SymbolicTensor, memo: Map<number, tf.Tensor>, ctx: PassContext, allowed: (n: GraphNode) => boolean): tf.Tensor {
    const have = memo.get(t.id);
    if (have) return have;
    const node = this.graph.producer.get(t.id);
    if (!node) throw new MultilossError('model', `tensor "${t.name}" is needed but was not provided (the model input is missing)`);
    if (!allowed(node)) throw new MultilossError('model', `internal: layer "${node.layer.name}" reached outside its part of the graph`);
    const inputs = node.inputs.map((i) => this.compute(i, memo, ctx, allowed));
    const outs = this.runNode(node, inputs, ctx);
    node.outputs.forEach((o, k) => memo.set(o.id, outs[k]));
    return memo.get(t.id) as tf.Tensor;
  }

  private runNode(node: GraphNode, inputs: tf.Tensor[], ctx: PassContext): tf.Tensor[] {
    const layer = node.layer;
    const cls = layer.getClassName();
    if (cls === 'Dense' && inputs[0].rank === 2) {
      const act = (layer.getConfig() as { activation?: string }).activation ?? 'linear';
      const f = PLAIN_ACTIVATIONS[act];
      if (f) return [f(this.denseLinear(layer, inputs[0] as tf.Tensor2D))];
    }
    if (cls === 'Dropout') {
      const { rate, noiseShape } = layer.getConfig() as { rate: number; noiseShape?: number[] | null };
      if (!ctx.training || !(rate > 0)) return [inputs[0]];
      if (!ctx.rng) throw new Error('forwardTrunk: training with dropout needs an rng');
      const shape = noiseShape ? noiseShape.map((d, i) => (d === null || d === undefined ? inputs[0].shape[i] : d)) : undefined;
      return [tf.dropout(inputs[0], rate, shape, ctx.rng.seed())];
    }
    const out = layer.apply(inputs.length === 1 ? inputs[0] : inputs, { ...node.callArgs, training: ctx.training });
    return (Array.isArray(out) ? out : [out]) as tf.Tensor[];
  }

  /** x·kernel + bias on the Dense layer's own variables (no activation). */
  private denseLinear(layer: Layer, x: tf.Tensor2D): tf.Tensor {
    const [kernel, bias] = layer.weights.map((w) => w.read());
    const useBias = (layer.getConfig() as { useBias?: boolean }).useBias ?? true;
    const xw = tf.matMul(x, kernel as tf.Tensor2D);
    return useBias && bias ? tf.add(xw, bias) : xw;
  }

  private inTrunk = (n: GraphNode): boolean => n.feeds.size >= 2;

  forwardTrunk(x: tf.Tensor, training: boolean, rng?: Rng, capture?: LastBlockCapture): tf.Tensor2D {
    if (capture) {
      capture.input = tf.clone(x) as tf.Tensor2D;
      if (rng) this.captures.set(capture, rng.getState());
    }
    const g = this.graph;
    const memo = new Map<number, tf.Tensor>([[g.input.id, x]]);
    const ctx: PassContext = { training, rng };
    const parts = g.boundary.map((b) => this.compute(b, memo, ctx, this.inTrunk));
    let headSeed: number | undefined;
    if (training && this.headHasDropout) {
      if (!rng) throw new Error('forwardTrunk: training with dropout needs an rng');
      headSeed = rng.seed();
    }
    this.pass = { training, headSeed, partShapes: parts.map((p) => p.shape.slice(1)) };
    const n = x.shape[0];
    if (parts.length === 0) return tf.reshape(x, [n, -1]) as tf.Tensor2D;
    if (parts.length === 1) return (parts[0].rank === 2 ? parts[0] : tf.reshape(parts[0], [n, -1])) as tf.Tensor2D;
    return tf.concat(parts.map((p) => tf.reshape(p, [n, -1])), 1) as tf.Tensor2D;
  }

  forwardHead(head: number, rep: tf.Tensor2D, input?: tf.Tensor): tf.Tensor2D {
    const g = this.graph;
    const n = rep.shape[0];
    const memo = new Map<number, tf.Tensor>();
    if (g.boundary.length === 0) {
      memo.set(g.input.id, input ?? tf.reshape(rep, [n, ...g.input.shape.slice(1).map((d) => d ?? -1)]));
    } else {
      if (input) memo.set(g.input.id, input);
      const shapes = this.pass.partShapes.length === g.boundary.length ? this.pass.partShapes : g.boundary.map((b) => b.shape.slice(1).map((d) => d ?? -1));
      if (g.boundary.length === 1) {
        memo.set(g.boundary[0].id, shapes[0].length === 1 ? rep : tf.reshape(rep, [n, ...shapes[0]]));
      } else {
        const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
        const pieces = tf.split(rep, sizes, 1);
        g.boundary.forEach((b, i) => memo.set(b.id, tf.reshape(pieces[i], [n, ...shapes[i]])));
      }
    }
    const headSeed = this.pass.headSeed;
    const ctx: PassContext = { training: this.pass.training, rng: headSeed === undefined ? undefined : new Rng(`${headSeed}:${head}`) };
    const nodes = this.headNodes[head];
    const allowed = (node: GraphNode) => nodes.has(node);
    const plan = this.rawPlans[head];
    let raw: tf.Tensor;
    if ('densePre' in plan) raw = this.denseLinear(plan.densePre.layer, this.compute(plan.densePre.inputs[0], memo, ctx, allowed) as tf.Tensor2D);
    else raw = this.compute(plan.tensor, memo, ctx, allowed);
    if (raw.rank !== 2) raw = tf.reshape(raw, [n, -1]);
    return raw as tf.Tensor2D;
  }

  forwardHeads(rep: tf.Tensor2D, input?: tf.Tensor): tf.Tensor2D[] {
    return this.outputs.map((_, t) => this.forwardHead(t, rep, input));
  }

  activate(raw: tf.Tensor2D[]): tf.Tensor2D[] {
    return raw.map((r, i) => activateOutput(r, this.outputs[i].activation));
  }

  predict(x: tf.Tensor): tf.Tensor2D[] {
    return tf.tidy(() => this.activate(this.forwardHeads(this.forwardTrunk(x, false), x)));
  }

  /**
   * ‖∇_W Lₜ‖ over `lastSharedVariables` for each head, from each head's
   * gradient w.r.t. the representation: the trunk is replayed on the captured
   * input with the same dropout masks (batch-norm statistics restored).
   */
  lastBlockGradNorms(capture: LastBlockCapture, grads: readonly tf.Tensor2D[]): number[] {
    const T = grads.length;
    const vars = this.lastSharedVariables;
    const input = capture.input;
    if (!input || vars.length === 0) return new Array<number>(T).fill(NaN);
    const state = this.captures.get(capture);
    const saved = this.saveBatchNormState();
    const pass = this.pass;
    try {
      return replayGradNorms(grads, vars, () => this.forwardTrunk(input, true, state ? Rng.fromState(state) : undefined));
    } finally {
      this.pass = pass;
      this.restoreBatchNormState(saved);
    }
  }

  /** Non-trainable weights of the model's layers (batch-norm statistics move in training passes). */
  private stateVariables(): tf.Variable[] {
    return this.graph.layers.flatMap((l) => l.nonTrainableWeights.map((w) => w.read() as tf.Variable));
  }

  saveBatchNormState(): tf.Tensor[] {
    return this.stateVariables().map((v) => tf.clone(v));
  }

  restoreBatchNormState(saved: tf.Tensor[]): void {
    this.stateVariables().forEach((v, i) => v.assign(saved[i]));
    tf.dispose(saved);
  }

  countParams(): number {
    return this.model.countParams();
  }

  /** Disposes the wrapped model (the library API never calls this: the model stays the caller's). */
  dispose(): void {
    this.model.dispose();
  }
}
