import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../errors.js';
import { activateOutput } from '../model/network.js';
import type { LastBlockCapture, OutputSpec, TrainableNetwork } from '../model/trainable-network.js';
import { replayGradNorms } from '../model/replay-grad-norms.js';
import { Rng } from '../util/rng.js';

/** What a forward function learns about the pass it runs in. */
export interface ForwardContext {
  /** True in training passes: apply dropout, update batch statistics. */
  readonly training: boolean;
  /**
   * A seed for one random op, e.g. `tf.dropout(x, 0.1, undefined, ctx.seed())`.
   * Call it once per random op, in a fixed order: replays of a step (one per
   * head in 'param' mode) then draw the same masks. Outside training it returns 0.
   */
  seed(): number;
}

/**
 * A model as plain tfjs-core code: a forward function plus its variables.
 *
 * Give either `forward` (all raw outputs at once) or `trunk` + `heads` (the
 * shared representation, then each output from it). Raw outputs are
 * pre-activation: logits for classification/binary/multilabel heads, the
 * standardized value for regression, the log-rate for count heads; multiloss
 * applies each head's activation for metrics and predictions. Outputs are
 * n × units (or n for a single unit).
 *
 * With `forward` only, 'param'-mode gradient methods and every loss-based
 * method but GradNorm work; 'rep' mode, GradNorm and `training.diagnostics`
 * need the split into `trunk` and `heads`.
 */
export interface FunctionModel {
  forward?(x: tf.Tensor, ctx: ForwardContext): Record<string, tf.Tensor>;
  /** The shared representation (any shape with the batch first). */
  trunk?(x: tf.Tensor, ctx: ForwardContext): tf.Tensor;
  /** Each output's raw value from the representation (`x` is the input batch, for heads that also read it). */
  heads?: Record<string, (rep: tf.Tensor, x: tf.Tensor, ctx: ForwardContext) => tf.Tensor>;
  variables: {
    /** Variables two or more outputs depend on (what gradient methods balance). */
    shared: tf.Variable[];
    /** Variables only one output depends on, by output name. */
    heads: Record<string, tf.Variable[]>;
    /** GradNorm's "last shared layer" (default: all of `shared`). */
    lastShared?: tf.Variable[];
    /** Non-trainable state a training pass updates (e.g. batch-norm moving averages); restored around replays. */
    state?: tf.Variable[];
  };
}

function context(training: boolean, rng?: Rng): ForwardContext {
  return {
    training,
    seed: () => {
      if (!training) return 0;
      if (!rng) throw new Error('forward: a training pass that draws seeds needs an rng');
      return rng.seed();
    },
  };
}

/** A TrainableNetwork over a `FunctionModel`. */
export class FunctionNetwork implements TrainableNetwork {
  readonly model: tfl.LayersModel;
  readonly sharedVariables: tf.Variable[];
  readonly headVariables: tf.Variable[][];
  readonly lastSharedVariables: tf.Variable[];
  /** True when the model gives `trunk` + `heads` ('rep' mode, GradNorm and diagnostics possible). */
  readonly split: boolean;
  private cache?: Record<string, tf.Tensor>;
  private pass: { training: boolean; headSeed?: number; repShape: number[] } = { training: false, repShape: [] };
  private readonly captures = new WeakMap<LastBlockCapture, object>();

  constructor(
    private readonly fn: FunctionModel,
    readonly outputs: readonly OutputSpec[],
  ) {
    const v = fn.variables;
    if (!v || !Array.isArray(v.shared) || !v.heads || typeof v.heads !== 'object') {
      throw new MultilossError('config', 'a function model needs variables: { shared: Variable[], heads: { output: Variable[] } }');
    }
    this.split = typeof fn.trunk === 'function' && !!fn.heads;
    if (!this.split && typeof fn.forward !== 'function') throw new MultilossError('config', 'a function model needs forward(x, ctx), or trunk(x, ctx) and heads');
    const names = outputs.map((o) => o.name);
    if (this.split) {
      const missing = names.filter((n) => typeof fn.heads?.[n] !== 'function');
      if (missing.length) throw new MultilossError('config', `model.heads has no function for ${missing.map((m) => `"${m}"`).join(', ')}`);
    }
    const extra = Object.keys(v.heads).filter((k) => !names.includes(k));
    if (extra.length) throw new MultilossError('config', `variables.heads names ${extra.map((e) => `"${e}"`).join(', ')}, which ${extra.length > 1 ? 'have' : 'has'} no head (heads: ${names.join(', ')})`);
    const seen = new Map<tf.Variable, string>();
    const claim = (list: tf.Variable[], owner: string) => {
      for (const x of list) {
        if (!(x instanceof tf.Variable)) throw new MultilossError('config', `variables of ${owner}: expected tf.Variable objects`);
        const prev = seen.get(x);
        if (prev) throw new MultilossError('config', `variable "${x.name}" is listed under both ${prev} and ${owner}; a variable used by several outputs belongs in variables.shared`);
        seen.set(x, owner);
      }
    };
    claim(v.shared, 'shared');
    names.forEach((n) => claim(v.heads[n] ?? [], `heads.${n}`));
    this.sharedVariables = v.shared.filter((x) => x.trainable);
    this.headVariables = names.map((n) => (v.heads[n] ?? []).filter((x) => x.trainable));
    this.lastSharedVariables = v.lastShared ?? this.sharedVariables;
    const all = [...v.shared, ...names.flatMap((n) => v.heads[n] ?? []), ...(v.state ?? [])];
    // The trainer reads and writes the network's weights through `model` (early stopping's best
    // weights): a stand-in over the variables, since there is no LayersModel here.
    this.model = {
      getWeights: () => all,
      setWeights: (weights: tf.Tensor[]) => all.forEach((x, i) => x.assign(weights[i])),
      countParams: () => all.reduce((s, x) => s + x.size, 0),
      dispose: () => undefined,
    } as unknown as tfl.LayersModel;
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.sharedVariables, ...this.headVariables.flat()];
  }

  forwardTrunk(x: tf.Tensor, training: boolean, rng?: Rng, capture?: LastBlockCapture): tf.Tensor2D {
    if (capture) {
      capture.input = tf.clone(x) as tf.Tensor2D;
      if (rng) this.captures.set(capture, rng.getState());
    }
    const n = x.shape[0];
    const ctx = context(training, rng);
    if (!this.split) {
      this.cache = (this.fn.forward as NonNullable<FunctionModel['forward']>)(x, ctx);
      if (!this.cache || typeof this.cache !== 'object') throw new MultilossError('config', 'forward(x) must return an object of output tensors by name');
      this.pass = { training, repShape: [] };
      return tf.reshape(x, [n, -1]) as tf.Tensor2D;
    }
    const rep = (this.fn.trunk as NonNullable<FunctionModel['trunk']>)(x, ctx);
    if (!(rep instanceof tf.Tensor) || rep.shape[0] !== n) throw new MultilossError('config', `trunk(x) must return a tensor with the batch (${n}) first`);
    this.pass = { training, headSeed: training && rng ? rng.seed() : undefined, repShape: rep.shape.slice(1) };
    return (rep.rank === 2 ? rep : tf.reshape(rep, [n, -1])) as tf.Tensor2D;
  }

  forwardHead(head: number, rep: tf.Tensor2D, input?: tf.Tensor): tf.Tensor2D {
    const o = this.outputs[head];
    let out: tf.Tensor | undefined;
    if (!this.split) {
      out = this.cache?.[o.name];
      if (!out) throw new MultilossError('config', `forward(x) returned no output "${o.name}" (it returned: ${Object.keys(this.cache ?? {}).join(', ') || 'nothing'})`);
    } else {
      const n = rep.shape[0];
      const shaped = this.pass.repShape.length <= 1 ? rep : tf.reshape(rep, [n, ...this.pass.repShape]);
      const seed = this.pass.headSeed;
      const ctx = context(this.pass.training, seed === undefined ? undefined : new Rng(`${seed}:${head}`));
      out = (this.fn.heads as NonNullable<FunctionModel['heads']>)[o.name](shaped, input ?? rep, ctx);
    }
    return this.checkOutput(o, out, rep.shape[0]);
  }

  private checkOutput(o: OutputSpec, out: tf.Tensor, n: number): tf.Tensor2D {
    if (!(out instanceof tf.Tensor)) throw new MultilossError('config', `output "${o.name}": expected a tensor, got ${typeof out}`);
    if (out.rank === 1 && o.units === 1 && out.shape[0] === n) return tf.reshape(out, [n, 1]) as tf.Tensor2D;
    if (out.rank !== 2 || out.shape[0] !== n || out.shape[1] !== o.units) {
      throw new MultilossError('config', `output "${o.name}": shape [${out.shape.join(', ')}]; its head needs [${n}, ${o.units}]`);
    }
    return out as tf.Tensor2D;
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

  lastBlockGradNorms(capture: LastBlockCapture, grads: readonly tf.Tensor2D[]): number[] {
    const T = grads.length;
    const input = capture.input;
    const vars = this.lastSharedVariables;
    if (!this.split || !input || vars.length === 0) return new Array<number>(T).fill(NaN);
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

  saveBatchNormState(): tf.Tensor[] {
    return (this.fn.variables.state ?? []).map((v) => tf.clone(v));
  }

  restoreBatchNormState(saved: tf.Tensor[]): void {
    (this.fn.variables.state ?? []).forEach((v, i) => v.assign(saved[i]));
    tf.dispose(saved);
  }

  countParams(): number {
    return this.model.countParams();
  }

  /** The variables stay the caller's: nothing to dispose. */
  dispose(): void {}
}
