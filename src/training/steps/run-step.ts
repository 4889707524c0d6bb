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
export function runStep(env: StepEnv, strategy: BalancingStrategy, data: EncodedData, ctx: StepContext, wantMetrics: boolean): StepResult | undefined {
  const { heads } = env;
  const n = data.n;
  // Every forward pass of this step (replays included) draws its dropout masks from this seed.
  const stepSeed = ctx.rng.seed();
  const batch: TensorBatch = {
    x: tf.tensor(data.x.subarray(0, n * data.inputSize), [n, ...inputShapeOf(data)]),
    y: data.targets.map((t, h) => tf.tensor2d(t.y.subarray(0, n * heads[h].units), [n, heads[h].units])),
    w: data.targets.map((t) => tf.tensor1d(t.weight.subarray(0, n))),
  };
  const input = { batch, stepSeed, ctx, wantMetrics };
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
    tf.dispose([batch.x, ...batch.y, ...batch.w]);
  }
}
