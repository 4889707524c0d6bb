// The step in 'param' mode: exact per-head gradients w.r.t. the shared
// parameters from one forward pass, combined by a gradient-based strategy.
import * as tf from '@tensorflow/tfjs-core';
import type { GradientBalancer, StepContext } from '../../balancing/strategy.js';
import { isGramBalancer, isTensorBalancer } from '../../balancing/gradient-balancer.js';
import { gramOfTensors } from '../../engine/native/gram.js';
import { tidyValue, untaped } from '../../engine/tidy.js';
import { weightedSum } from '../../engine/weighted-sum.js';
import { MultilossError } from '../../errors.js';
import { reduceLoss } from '../../losses/index.js';
import { clip, clips } from '../clipping.js';
import { measureDirection, type UpdateStep } from '../diagnostics.js';
import { checkGradientRows, checkLosses } from '../non-finite.js';
import { Rng } from '../../util/rng.js';
import { splitOutputs, type StepEnv, type StepInput, type StepResult } from './step.js';

/**
 * Exact per-head gradients w.r.t. the shared parameters from ONE forward
 * pass: the forward runs inside a gradient scope (`withTape`), so its tape
 * (and dropout masks, batch-norm updates) serves one backward pass per head.
 * Strategies that work from GGᵀ (`isGramBalancer`) keep the T per-head
 * gradients as tensors: the Gram matrix (which is also the finiteness check
 * and the diagnostics), and the direction Σₜ wₜgₜ are tensor ops, and only T
 * losses and T×T numbers are read back. Strategies that keep tensors across
 * steps (`isTensorBalancer`: DB-MTL's EMA buffers) get the per-head tensors
 * and return the direction as tensors. Other strategies (custom ones)
 * receive the T×d rows. A shared variable a head does not reach has a
 * zero gradient for that head.
 */
export function paramStep(env: StepEnv, strategy: GradientBalancer, { batch, stepSeed, ctx, wantMetrics, earlier = [] }: StepInput): StepResult {
  const heads = env.heads;
  const T = heads.length;
  const shared = env.network.sharedVariables;
  const headVars = env.network.headVariables;
  const d = shared.reduce((s, v) => s + v.size, 0);
  const V = shared.length;
  const shapes = shared.map((v) => v.shape);
  // A strategy that takes several batches per step (MoDo) gets every batch's per-head gradients;
  // the direction is formed on the last (`batch`).
  const all = [...earlier, { batch, stepSeed }];
  const k = all.length;
  // perHead[t][i]: head t's gradient w.r.t. shared[i] on the last batch (undefined: the head does not reach it);
  // rowsOfAll: every batch's rows, batch by batch.
  let perHead: (tf.Tensor | undefined)[][] = [];
  const rowsOfAll: (tf.Tensor | undefined)[][] = [];
  const headGrads: tf.NamedTensorMap = {};
  const kept: tf.Tensor[] = [];
  const keep = <X extends tf.Tensor>(x: X): X => {
    kept.push(tf.keep(x));
    return x;
  };
  const lossVecs: tf.Tensor[] = [];
  const outputs: tf.Tensor[] = [];
  // The strategy's loss half (IMTL's loss scales): its variables get the sum of every head's part.
  const transform = strategy.lossTransform;
  const halfVars = transform?.variables() ?? [];
  try {
    for (const item of all) {
      perHead = [];
      withTape(() => {
        const rep = env.network.forwardTrunk(item.batch.x, true, new Rng(item.stepSeed));
        const raw = heads.map((_, t) => env.network.forwardHead(t, rep, item.batch.x));
        const losses = raw.map((r, t) => reduceLoss(heads[t].loss.perSample(item.batch.y[t], r), item.batch.w[t]));
        lossVecs.push(keep(tf.stack(losses)));
        const trained = transform ? transform.transform(losses) : losses;
        if (wantMetrics) outputs.push(...env.network.activate(raw).map((o) => keep(tf.reshape(o, [-1]))));
        for (let t = 0; t < T; t++) {
          // Untaped: recorded onto the scope's tape, this backward pass would lengthen what the next head's filters.
          const { grads } = untaped(() => tf.variableGrads(() => trained[t], [...shared, ...headVars[t], ...halfVars]));
          for (const v of [...headVars[t], ...halfVars]) {
            const g = grads[v.name] ?? (halfVars.includes(v) ? undefined : tf.zerosLike(v));
            if (g) headGrads[v.name] = keep(headGrads[v.name] ? tf.add(headGrads[v.name], g) : g);
          }
          perHead[t] = shared.map((v) => (grads[v.name] ? keep(grads[v.name]) : undefined));
        }
      });
      rowsOfAll.push(...perHead);
    }
    // The heads' own parameters (and a loss half's) step on the mean over the batches, as LibMTL's MoDo.
    if (k > 1) for (const name of Object.keys(headGrads)) headGrads[name] = keep(tf.mul(headGrads[name], 1 / k));
    const gramBalancer = isGramBalancer(strategy) ? strategy : undefined;
    // One read-back: the losses, the Gram matrix's upper triangle per shared variable (elementwise
    // products and sums: far faster than a T×size by size×T matmul), the outputs. With several
    // batches, the joint Gram matrix of all k·T rows (the cross-batch products are its blocks).
    const R = k * T;
    const pairs: [number, number][] = [];
    for (let a = 0; a < R; a++) for (let b = a; b < R; b++) pairs.push([a, b]);
    // Native path (Node, wasm backend): all pair dots of all shared variables in one addon call.
    const nativeGram = gramOfTensors(rowsOfAll);
    const stats = tidyValue(() => {
      const dots: tf.Tensor[] = [];
      for (let i = 0; i < V && !nativeGram; i++) {
        for (const [a, b] of pairs) {
          const ga = rowsOfAll[a][i];
          const gb = rowsOfAll[b][i];
          dots.push(ga && gb ? tf.sum(a === b ? tf.square(ga) : tf.mul(ga, gb)) : tf.scalar(0));
        }
      }
      return tf.concat([...lossVecs, ...(nativeGram ? [] : [tf.stack(dots)]), ...outputs]).dataSync() as Float32Array;
    });
    const lossesOf = (j: number): Float32Array => stats.slice(j * T, (j + 1) * T);
    for (let j = 0; j < k; j++) checkLosses(heads, lossesOf(j));
    const losses = lossesOf(k - 1);
    const joint = nativeGram ?? new Float64Array(R * R);
    for (let i = 0; i < V && !nativeGram; i++) {
      pairs.forEach(([a, b], p) => {
        const v = stats[R + i * pairs.length + p];
        joint[a * R + b] += v;
        if (a !== b) joint[b * R + a] += v;
      });
    }
    // ‖gₜ‖² is finite iff every entry of gₜ is (short of float32 overflow); only then look closer.
    for (let j = 0; j < k; j++) {
      const rows = rowsOfAll.slice(j * T, (j + 1) * T);
      for (let t = 0; t < T; t++) if (!Number.isFinite(joint[(j * T + t) * R + j * T + t])) explainNonFiniteGram(env, ctx, rows, T, d);
    }
    // The last batch's T×T block: the diagnostics' Gram matrix.
    const gram = k === 1 ? joint : Float64Array.from({ length: T * T }, (_, p) => joint[((k - 1) * T + Math.floor(p / T)) * R + (k - 1) * T + (p % T)]);
    let direction: tf.Tensor[] | undefined;
    let measured: UpdateStep['measured'];
    let weights = gramBalancer?.combineGram(joint, T, d, Array.from(losses), ctx);
    if (k > 1 && !weights) throw new MultilossError('config', `balance.method "${strategy.name}" takes ${k} batches per step and must work from their Gram matrices`);
    // Strategies that keep tensors across steps (DB-MTL's EMA buffers): the direction as tensors.
    const tensorStep = !weights && isTensorBalancer(strategy) ? strategy.combineTensors(perHead, shapes, Array.from(losses), ctx) : undefined;
    if (tensorStep) {
      weights = tensorStep.weights;
      direction = tensorStep.direction;
      kept.push(...direction);
      measured = measureDirectionTensors(perHead, direction);
    } else if (!weights) {
      const rows = downloadGradientRows(env, perHead);
      checkGradientRows(heads, rows, T, d);
      const combined = strategy.combineGradients(rows, T, d, Array.from(losses), ctx);
      weights = combined.weights;
      measured = measureDirection(rows, T, d, combined.direction);
      let offset = 0;
      direction = shared.map((v) => {
        const part = tf.tensor(combined.direction.subarray(offset, offset + v.size), v.shape);
        offset += v.size;
        return part;
      });
    }
    const w = weights;
    // Native Adam without clipping: Σₜ wₜgₜ is formed inside the optimizer's step, never written out.
    const fused =
      !direction &&
      !clips(env.options) &&
      env.optimizer.applyWeighted([
        ...Object.keys(headGrads).map((name) => ({ name, terms: [headGrads[name]], weights: [1] })),
        ...shared.map((v, i) => ({ name: v.name, terms: perHead.map((row) => row[i]), weights: w })),
      ]);
    if (!fused) {
      tf.tidy(() => {
        const grads: tf.NamedTensorMap = { ...headGrads };
        shared.forEach((v, i) => {
          if (direction) {
            grads[v.name] = direction[i];
            return;
          }
          // Σₜ wₜgₜ; heads with weight 0 or no gradient here contribute nothing.
          grads[v.name] = weightedSum(perHead.map((row) => row[i]), w, v.shape);
        });
        env.optimizer.apply(clip(grads, env.options), [...shared, ...headVars.flat(), ...halfVars]);
        if (direction) tf.dispose(direction);
      });
    }
    // The outputs follow the losses and the dots, batch by batch.
    let offset = R + (nativeGram ? 0 : V * pairs.length);
    const outputsOf = (item: (typeof all)[number]): Float32Array[] => {
      const rows = item.batch.x.shape[0];
      const out = splitOutputs(heads, stats, offset, rows, wantMetrics);
      if (wantMetrics) offset += heads.reduce((s, h) => s + rows * h.units, 0);
      return out;
    };
    const earlierResults = earlier.map((item, j) => {
      const l = lossesOf(j);
      return { total: l.reduce((s, x) => s + x, 0), losses: l, outputs: outputsOf(item) };
    });
    return {
      // Gradient methods weigh gradients, not losses: their total is the unweighted sum.
      total: losses.reduce((s, l) => s + l, 0),
      losses,
      weights: new Float32Array(T).fill(1),
      update: { gram, coefficients: w, ...(measured ? { measured } : {}) },
      outputs: outputsOf(all[k - 1]),
      gram,
      ...(k > 1 ? { earlier: earlierResults } : {}),
    };
  } finally {
    tf.dispose(kept);
  }
}

/**
 * Runs `fn` inside a gradient scope: while it runs, tfjs records one tape
 * and keeps the tensors saved for the backward pass, so several
 * `tf.variableGrads` calls inside `fn` can each backpropagate through the
 * same forward pass (tfjs frees a tape after its first backward pass only
 * at the outermost gradient level). The scope itself differentiates a
 * dummy 0·z. Tensors `fn` creates are released unless kept.
 */
function withTape(fn: () => void): void {
  tf.tidy(() => {
    tf.grad((z: tf.Tensor) => {
      fn();
      return tf.mul(z, 0);
    })(tf.scalar(0));
  });
}

/**
 * Called when a diagonal entry of the per-head Gram matrix is not finite:
 * throws NonFiniteStep for the first head with a NaN or infinite gradient
 * entry, or (finite entries whose squares overflow float32) a training error.
 */
function explainNonFiniteGram(env: StepEnv, ctx: StepContext, perHead: (tf.Tensor | undefined)[][], T: number, d: number): never {
  checkGradientRows(env.heads, downloadGradientRows(env, perHead), T, d);
  throw new MultilossError(
    'training',
    `the heads' gradients overflow (squared norms beyond float32) at epoch ${ctx.epoch + 1}, step ${ctx.step + 1}; lower the learning rate or set training.clipNorm`,
  );
}

/** The per-head gradients on the shared variables as a row-major T×d matrix (a missing gradient is zero). */
function downloadGradientRows(env: StepEnv, perHead: (tf.Tensor | undefined)[][]): Float32Array {
  const shared = env.network.sharedVariables;
  return tidyValue(
    () =>
      tf
        .concat(perHead.flatMap((row) => shared.map((v, i) => (row[i] ? tf.reshape(row[i] as tf.Tensor, [-1]) : tf.zeros([v.size])))))
        .dataSync() as Float32Array,
  );
}

/** The same for per-head gradient tensors (perHead[t][i], undefined: zero) and a direction per shared variable. */
function measureDirectionTensors(perHead: readonly (readonly (tf.Tensor | undefined)[])[], direction: readonly tf.Tensor[]): { dots: Float64Array; normSq: number } {
  const T = perHead.length;
  // Native path: d as one more row of the Gram matrix, in one addon call (no kernels, no read-back).
  const gram = gramOfTensors([...perHead, direction]);
  if (gram) return { dots: Float64Array.from({ length: T }, (_, t) => gram[t * (T + 1) + T]), normSq: gram[T * (T + 1) + T] };
  const values = tidyValue(() => {
    const sums = perHead.map((row) => tf.addN([tf.scalar(0), ...row.flatMap((g, i) => (g ? [tf.sum(tf.mul(g, direction[i]))] : []))]));
    sums.push(tf.addN([tf.scalar(0), ...direction.map((x) => tf.sum(tf.square(x)))]));
    return tf.stack(sums).dataSync() as Float32Array;
  });
  return { dots: Float64Array.from(values.subarray(0, perHead.length)), normSq: values[perHead.length] };
}
