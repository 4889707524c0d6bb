import * as tf from '@tensorflow/tfjs-core';
import { untaped } from '../../engine/tidy.js';
import { MultilossError } from '../../errors.js';
import type { BalancedHead, LossBalancer, StepContext } from '../strategy.js';
import { requireHeads, stateNumbers } from './common.js';
import { OptionReader } from '../options.js';

export interface UncertaintyOptions {
  /** Initial log-variance sₜ of every head (default 0: weights 0.5 for regression/count heads, 1 for the others). */
  initialLogVariance?: number;
}

export const UNCERTAINTY_OPTIONS: readonly string[] = ['initialLogVariance'];

/** Kinds whose loss is a Gaussian-type negative log-likelihood: total term ½e^{−s}L + ½s. */
const REGRESSION_KINDS = ['regression', 'count'];
/** Kinds whose loss is a softmax/sigmoid likelihood: total term e^{−s}L + ½s. */
const CLASSIFICATION_KINDS = ['classification', 'binary', 'multilabel'];

/**
 * Homoscedastic uncertainty weighting — Kendall, Gal & Cipolla, "Multi-task
 * learning using uncertainty to weigh losses for scene geometry and
 * semantics", CVPR 2018.
 *
 * Each head t has a learned log-variance sₜ = log σₜ² (a tf.Variable returned
 * by `variables()`, trained by the model's optimizer together with the
 * network). The total is
 *   regression, count:                  ½·e^{−sₜ}·Lₜ + ½·sₜ   (eq. 7, Gaussian likelihood)
 *   classification, binary, multilabel: e^{−sₜ}·Lₜ + ½·sₜ     (eq. 10, with the paper's
 *                                       approximation of the scaled softmax; ½sₜ = log σₜ)
 * summed over the heads. The reported weight of a head is the multiplier of
 * its loss: ½e^{−sₜ} or e^{−sₜ}. For fixed Lₜ the optimum is sₜ = log Lₜ
 * (regression form, weight ½/Lₜ) or sₜ = log 2Lₜ (classification form,
 * weight 1/(2Lₜ)).
 *
 * Options: `initialLogVariance` (finite, default 0).
 * State: `{ logVariances: number[] }`.
 */
export class UncertaintyBalancer implements LossBalancer {
  readonly kind = 'loss' as const;
  readonly name = 'uncertainty';
  /** ½ for regression-type heads, 1 for classification-type heads. */
  readonly factors: number[];
  private readonly logVar: tf.Variable<tf.Rank.R1>;
  private readonly factorTensor: tf.Tensor1D;
  private readonly T: number;

  constructor(heads: readonly BalancedHead[], options: UncertaintyOptions = {}) {
    const o = new OptionReader('uncertainty', options, UNCERTAINTY_OPTIONS);
    const init = o.number('initialLogVariance', 0, -20, 20);
    requireHeads('uncertainty', heads.length);
    this.T = heads.length;
    this.factors = heads.map((h) => {
      if (REGRESSION_KINDS.includes(h.kind)) return 0.5;
      if (CLASSIFICATION_KINDS.includes(h.kind)) return 1;
      throw new MultilossError(
        'config',
        `balance.method "uncertainty" has no likelihood form for head "${h.name}" of kind "${h.kind}"; it supports ${[...REGRESSION_KINDS, ...CLASSIFICATION_KINDS].join(', ')}`,
      );
    });
    this.factorTensor = tf.keep(tf.tensor1d(this.factors));
    const initial = tf.fill([this.T], init) as tf.Tensor1D;
    this.logVar = tf.variable(initial, true);
    initial.dispose();
  }

  combine(losses: tf.Scalar[], _ctx?: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    return learnedScaleTotal(losses, this.logVar, this.factorTensor, 0.5);
  }

  /** The learned log-variances sₜ. */
  logVariances(): number[] {
    return Array.from(this.logVar.dataSync());
  }

  /** The weights the next step will apply: factorₜ·e^{−sₜ}. */
  currentWeights(): number[] {
    return this.logVariances().map((s, t) => this.factors[t] * Math.exp(-s));
  }

  variables(): tf.Variable[] {
    return [this.logVar];
  }

  getState(): Record<string, unknown> {
    return { logVariances: this.logVariances() };
  }

  setState(state: Record<string, unknown>): void {
    const s = stateNumbers('uncertainty', state, 'logVariances', this.T) as number[];
    const value = tf.tensor1d(s);
    this.logVar.assign(value);
    value.dispose();
  }

  dispose(): void {
    this.logVar.dispose();
    this.factorTensor.dispose();
  }
}

/**
 * Σₜ wₜLₜ + c·Σₜ sₜ with wₜ = factorₜ·e^{−sₜ} (learned sₜ), as one tape node over (L₁ … L_T, s) with
 * its backward pass in closed form, ∂/∂Lₜ = dy·wₜ and ∂/∂sₜ = dy·(c − wₜLₜ), instead of the backward
 * passes of nine ops; the reported weights wₜ are computed off the tape. Uncertainty weighting
 * (c = ½) and IMTL-L (c = 1, sₜ its negated scale) share it. Inside the gradient tape: no tf.tidy.
 */
export function learnedScaleTotal(losses: tf.Scalar[], s: tf.Variable, factors: tf.Tensor1D, c: number): { total: tf.Scalar; weights: tf.Tensor1D } {
  const T = losses.length;
  const weightsOf = (v: tf.Tensor) => tf.mul(factors, tf.exp(tf.neg(v))) as tf.Tensor1D;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const v = args[T] as tf.Tensor1D;
    const w = weightsOf(v);
    const L = tf.stack(args.slice(0, T) as tf.Tensor[]) as tf.Tensor1D;
    // Saved: tensors made in the forward scope would be freed before the backward pass.
    (args[T + 1] as tf.GradSaveFunc)([w, L]);
    return {
      value: tf.add(tf.sum(tf.mul(w, L)), tf.mul(c, tf.sum(v))) as tf.Scalar,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [ws, Ls]: tf.Tensor[]) => {
        const g = dy as tf.Tensor;
        return [...tf.unstack(tf.mul(g, ws)), tf.mul(g, tf.sub(c, tf.mul(ws, Ls)))];
      },
    };
  });
  const total = op(...losses, s) as tf.Scalar;
  return { total, weights: untaped(() => weightsOf(s)) };
}
