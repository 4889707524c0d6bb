// One optimizer step on a batch: the path the strategy takes (param or tape),
// the non-finite policy, and the feedback a loss-based strategy asked for.
import * as tf from '@tensorflow/tfjs-core';
import type { BalancingStrategy, StepContext } from '../../balancing/strategy.js';
import { inputShapeOf, type EncodedData } from '../data.js';
import { checkLosses, NonFiniteStep, nonFiniteError } from '../non-finite.js';
import { paramStep } from './param-step.js';
import { lossesAfterStep, type StepEnv, type StepResult, type TensorBatch } from './step.js';
import { tapeStep } from './tape-step.js';

/**
 * Trains on `data` for one step. Returns undefined when the step found a
 * non-finite loss or gradient and the policy is 'skip-batch' (no update was
 * applied); under 'error' that throws, naming the head, epoch and step.
 */
export function runStep(env: StepEnv, strategy: BalancingStrategy, data: EncodedData | readonly EncodedData[], ctx: StepContext, wantMetrics: boolean): StepResult | undefined {
  const { heads } = env;
  // Several batches (a strategy's `batchesPerStep`): the last is the step's batch, the others `earlier`.
  const datas = Array.isArray(data) ? (data as readonly EncodedData[]) : [data as EncodedData];
  const toTensors = (d: EncodedData): TensorBatch => ({
    x: tf.tensor(d.x.subarray(0, d.n * d.inputSize), [d.n, ...inputShapeOf(d)]),
    y: d.targets.map((t, h) => tf.tensor2d(t.y.subarray(0, d.n * heads[h].units), [d.n, heads[h].units])),
    w: d.targets.map((t) => tf.tensor1d(t.weight.subarray(0, d.n))),
  });
  // Every forward pass on a batch of this step (replays included) draws its dropout masks from its seed.
  const earlier = datas.slice(0, -1).map((d) => ({ stepSeed: ctx.rng.seed(), batch: toTensors(d) }));
  const stepSeed = ctx.rng.seed();
  const batch = toTensors(datas[datas.length - 1]);
  const input = { batch, stepSeed, ctx, wantMetrics, ...(earlier.length ? { earlier } : {}) };
  try {
    let result: StepResult;
    try {
      result = strategy.kind === 'gradient' && strategy.mode === 'param' ? paramStep(env, strategy, input) : tapeStep(env, strategy, input);
      checkLosses(heads, result.losses);
    } catch (e) {
      if (!(e instanceof NonFiniteStep)) throw e;
      if (env.options.onNonFinite !== 'skip-batch') throw nonFiniteError(e, ctx);
      return undefined;
    }
    if (strategy.kind === 'loss' && strategy.afterStep) {
      const lossesAfter = strategy.requires?.lossesAfterStep ? lossesAfterStep(env, batch, stepSeed) : undefined;
      strategy.afterStep({ losses: Array.from(result.losses), lossesAfter, sharedGradNorms: result.sharedGradNorms }, ctx);
    }
    return result;
  } finally {
    for (const b of [...earlier.map((e) => e.batch), batch]) tf.dispose([b.x, ...b.y, ...b.w]);
  }
}
