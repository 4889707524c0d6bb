// The step on one tape: loss-based strategies, and gradient-based ones in 'rep'
// mode (the backward pass split at the trunk output; see Trainer).
import * as tf from '@tensorflow/tfjs-core';
import type { BalancingStrategy, GradientBalancer, StepContext } from '../../balancing/strategy.js';
import { isGramBalancer } from '../../balancing/gradient-balancer.js';
import { tidyValue } from '../../engine/tidy.js';
import { MultilossError } from '../../errors.js';
import { reduceLoss } from '../../losses/index.js';
import type { LastBlockCapture } from '../../model/trainable-network.js';
import { clip } from '../clipping.js';
import { combineRows, gramOf, measureDirection, type UpdateStep } from '../diagnostics.js';
import { checkBeforeUpdate, checkGradientRows, NonFiniteStep } from '../non-finite.js';
import { Rng } from '../../util/rng.js';
import { splitOutputs, type StepEnv, type StepInput, type StepResult } from './step.js';

/**
 * One backward pass over a single tape: loss-based strategies, and
 * gradient-based ones in 'rep' mode (see the Trainer's comment).
 */
export function tapeStep(env: StepEnv, strategy: BalancingStrategy, { batch, stepSeed, ctx, wantMetrics }: StepInput): StepResult {
  const heads = env.heads;
  const T = heads.length;
  const balancer = strategy.kind === 'loss' ? strategy : undefined;
  const aggregator = strategy.kind === 'gradient' ? strategy : undefined;
  const wantNorms = balancer?.requires?.sharedGradNorms ?? false;
  const fanOut = !!aggregator || wantNorms || (env.options.diagnostics ?? false);
  const capture: LastBlockCapture | undefined = wantNorms ? {} : undefined;
  let kept: tf.Tensor[] = [];
  let lossTensors: tf.Scalar[] = [];
  let weightTensor: tf.Tensor1D | undefined;
  let gram: Float64Array | undefined;
  let update: UpdateStep | undefined;
  // Loss-based strategies: each head's weighted gradient at the trunk output, kept for measurements.
  let repGrads: tf.Tensor[] = [];

  // Gradient-based: every head's gradient w.r.t. the trunk output, as the rows of a T×(n·k) matrix.
  // Set inside the backward pass, thrown once it is over: an exception in the
  // middle of tfjs's backprop would strand the tensors it saved for later nodes.
  let nonFinite: NonFiniteStep | undefined;
  const aggregateRepGradients = (rows: Float32Array, n: number, k: number): tf.Tensor => {
    const d = n * k;
    const strategy = aggregator as GradientBalancer;
    // One Gram matrix (Float64) serves the finiteness check, the diagnostics and the aggregator.
    const g = gramOf(rows, T, d);
    try {
      // In Float64 a squared norm of float32 entries is finite iff every entry is.
      for (let t = 0; t < T; t++) if (!Number.isFinite(g[t * T + t])) checkGradientRows(heads, rows, T, d);
    } catch (e) {
      if (!(e instanceof NonFiniteStep)) throw e;
      nonFinite = e;
      return tf.zeros([n, k]);
    }
    gram = g;
    const losses = lossTensors.map((t) => t.dataSync()[0]);
    const gramWeights = isGramBalancer(strategy) ? strategy.combineGram(g, T, d, losses, ctx) : undefined;
    if (gramWeights) {
      update = { gram: g, coefficients: gramWeights };
      return tf.tensor2d(combineRows(rows, T, d, gramWeights), [n, k]);
    }
    const { direction, weights } = strategy.combineGradients(rows, T, d, losses, ctx);
    update = { gram: g, coefficients: weights, measured: measureDirection(rows, T, d, direction) };
    return tf.tensor2d(direction, [n, k]);
  };

  /**
   * One identity op per head on the trunk output. Their gradients arrive one
   * by one during the backward pass; each is stored, and the op that
   * completes the set returns the combined direction while the others return
   * zeros (gradients into the trunk output are summed). Loss-based
   * strategies pass each slice on (slice t is already wₜ·gₜ; tfjs sums them)
   * and keep the slices for the measurements made after the step.
   */
  const fanOutOps = (rep: tf.Tensor2D): tf.Tensor2D[] => {
    const [n, k] = rep.shape;
    const rows = aggregator ? new Float32Array(T * n * k) : undefined;
    const slices: tf.Tensor[] = [];
    let pending = T;
    return heads.map(
      (_, t) =>
        tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
          value: tf.clone(args[0] as tf.Tensor),
          gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
            const g = Array.isArray(dy) ? dy[0] : dy;
            if (rows) {
              rows.set(g.dataSync() as Float32Array, t * n * k);
              return --pending > 0 ? tf.zerosLike(g) : aggregateRepGradients(rows, n, k);
            }
            // Loss-based: pass each gradient on (tfjs sums them into the trunk output's, as
            // without the fan-out); a clone, because tfjs frees what it has summed.
            slices[t] = g;
            if (--pending === 0) repGrads = slices.map((x) => tf.keep(x));
            return tf.clone(g);
          },
        }))(rep) as tf.Tensor2D,
    );
  };

  // What the step kept beyond its tidy scope, freed once it is over (or has failed).
  const release = () =>
    tf.dispose([
      ...kept,
      ...lossTensors,
      ...repGrads,
      ...(weightTensor ? [weightTensor] : []),
      ...(capture?.input ? [capture.input] : []),
      ...(capture?.pre ? [capture.pre] : []),
    ]);
  let packed: tf.Tensor;
  try {
    packed = tf.tidy(() => {
      // A gradient method's loss half (IMTL's loss scales) transforms each head's loss before its gradient is taken.
      const transform = aggregator?.lossTransform;
      const variables = [...env.network.trainableVariables, ...(balancer?.variables() ?? []), ...(transform?.variables() ?? [])];
      const { value, grads } = tf.variableGrads(() => {
        const rep = env.network.forwardTrunk(batch.x, true, new Rng(stepSeed), capture);
        if (capture?.input) capture.input = tf.keep(capture.input);
        if (capture?.pre) capture.pre = tf.keep(capture.pre);
        const reps: tf.Tensor2D[] = fanOut ? fanOutOps(rep) : heads.map(() => rep);
        const raw = reps.map((r, t) => env.network.forwardHead(t, r, batch.x));
        const losses = raw.map((r, t) => reduceLoss(heads[t].loss.perSample(batch.y[t], r), batch.w[t]));
        lossTensors = losses.map((l) => tf.keep(l));
        let total: tf.Scalar;
        if (balancer) {
          const combined = balancer.combine(losses, ctx);
          total = combined.total;
          weightTensor = tf.keep(combined.weights);
        } else {
          total = tf.addN(transform ? transform.transform(losses) : losses) as tf.Scalar;
        }
        const outputs = wantMetrics ? env.network.activate(raw).map((o) => tf.reshape(o, [-1])) : [];
        kept = outputs.map((t) => tf.keep(t));
        return total;
      }, variables);
      if (nonFinite) throw nonFinite;
      checkBeforeUpdate(env.options.onNonFinite, heads, lossTensors, grads);
      env.optimizer.apply(clip(grads, env.options), variables);
      return tf.concat([tf.reshape(value, [1]), ...lossTensors.map((t) => tf.reshape(t, [1])), ...(weightTensor ? [weightTensor] : []), ...kept]);
    });
  } catch (e) {
    release();
    throw e;
  }
  const stats = packed.dataSync() as Float32Array;
  let sharedGradNorms: number[] | undefined;
  try {
    if (repGrads.length === T) {
      const measured = measureRepGradients(env, ctx, repGrads, stats.subarray(1 + T, 1 + 2 * T), capture, wantNorms);
      gram = measured.gram;
      sharedGradNorms = measured.norms;
    }
  } finally {
    packed.dispose();
    release();
  }

  const losses = stats.slice(1, 1 + T);
  let offset = 1 + T;
  let weights: Float32Array;
  let total: number;
  if (balancer) {
    weights = stats.slice(offset, offset + T);
    offset += T;
    total = stats[0];
  } else {
    // Gradient methods weigh gradients, not losses: their total is the unweighted sum.
    weights = new Float32Array(T).fill(1);
    total = losses.reduce((s, l) => s + l, 0);
  }
  return { total, losses, weights, outputs: splitOutputs(heads, stats, offset, batch.x.shape[0], wantMetrics), gram, sharedGradNorms, update };
}

/**
 * From the heads' weighted gradients at the trunk output (slice t = wₜ·gₜ,
 * wₜ = ∂total/∂Lₜ): the Gram matrix of the unweighted gₜ (diagnostics) and,
 * for GradNorm, ‖∇ Lₜ‖ over the last shared layer. A head whose weight is 0
 * has no recoverable gradient and reports 0.
 */
function measureRepGradients(
  env: StepEnv,
  ctx: StepContext,
  slices: tf.Tensor[],
  weights: Float32Array,
  capture: LastBlockCapture | undefined,
  wantNorms: boolean,
): { gram?: Float64Array; norms?: number[] } {
  const T = slices.length;
  // Everything below is linear in each slice: measure the weighted slices as they are and
  // undo the weights on the T×T and T numbers that come back (no T×n×k rescaling pass).
  const inverse = Array.from(weights, (w) => (w !== 0 && Number.isFinite(w) ? 1 / w : 0));
  return tidyValue(() => {
    let gram: Float64Array | undefined;
    if (env.options.diagnostics) {
      gram = new Float64Array(T * T);
      const dots: tf.Tensor[] = [];
      for (let a = 0; a < T; a++) for (let b = a; b < T; b++) dots.push(tf.sum(a === b ? tf.square(slices[a]) : tf.mul(slices[a], slices[b])));
      const values = tf.stack(dots).dataSync();
      let p = 0;
      for (let a = 0; a < T; a++) {
        for (let b = a; b < T; b++) {
          const v = values[p++] * inverse[a] * inverse[b];
          gram[a * T + b] = v;
          gram[b * T + a] = v;
        }
      }
      for (let t = 0; t < T; t++) {
        if (!Number.isFinite(gram[t * T + t])) {
          throw new MultilossError(
            'training',
            `head "${env.heads[t].name}": gradient became non-finite at epoch ${ctx.epoch + 1}, step ${ctx.step + 1}; lower the learning rate or set training.clipNorm`,
          );
        }
      }
    }
    const norms = wantNorms && capture ? env.network.lastBlockGradNorms(capture, slices as tf.Tensor2D[]).map((v, t) => v * Math.abs(inverse[t])) : undefined;
    return { gram, norms };
  });
}
