import * as tf from '@tensorflow/tfjs-core';
import { weightedTotal } from './weighted-total.js';
import type { BalancedHead, LossBalancer, StepContext } from '../strategy.js';
import { badState, detached, requireHeads, stateNumbers } from './common.js';
import { OptionReader } from '../options.js';

export interface StchOptions {
  /** Smoothing μ > 0 of the log-sum-exp (default 1, LibMTL's default); μ → 0 is the plain Tchebycheff max. */
  mu?: number;
  /** Epochs of Σ log Lₜ before the nadir point is taken (default 4, LibMTL's `STCH_warmup_epoch`). */
  warmupEpochs?: number;
  /** Added to each loss ratio inside the logarithm (default 1e-20, as the reference code). */
  eps?: number;
}

export const STCH_OPTIONS: readonly string[] = ['mu', 'warmupEpochs', 'eps'];

/**
 * Smooth Tchebycheff scalarisation (STCH) — Lin, Zhang, Wang, Liu, Zhang &
 * Zhang, "Smooth Tchebycheff Scalarization for Multi-Objective
 * Optimization", ICML 2024. The Tchebycheff scalarisation minimises the
 * worst head's normalised loss; its smooth version is the log-sum-exp
 *
 *   total = T · μ · log Σₜ exp(log(Lₜ/zₜ)/μ)
 *
 * over the losses relative to a nadir point z (the factor T as the reference
 * code). Its gradient weighs head t by wₜ = T·softmax_t(log(Lₜ/zₜ)/μ)/Lₜ: the
 * head furthest above its nadir gets the most. The nadir is estimated during
 * a warm-up, as the reference code does: the first `warmupEpochs` + 1 epochs
 * train on Σₜ log Lₜ (the scale-invariant loss, wₜ = 1/Lₜ), and z is the
 * mean training loss of each head over the last of them (epoch
 * `warmupEpochs`, 0-based); from the next epoch on, STCH. Weights are the
 * gradient multipliers above, from this batch's losses (detached), and the
 * total trained is Σₜ wₜLₜ, whose gradient is exactly STCH's. Options: `mu`
 * (> 0, default 1), `warmupEpochs` (≥ 0, default 4), `eps` (1e-20). State:
 * `{ nadir: number[] | null }`. Cost: as `static`.
 */
export class StchBalancer implements LossBalancer {
  readonly kind = 'loss' as const;
  readonly name = 'stch';
  readonly mu: number;
  readonly warmupEpochs: number;
  private readonly eps: number;
  private readonly T: number;
  private nadir: number[] | null = null;

  constructor(heads: readonly BalancedHead[], options: StchOptions = {}) {
    const o = new OptionReader('stch', options, STCH_OPTIONS);
    this.mu = o.number('mu', 1, 0, Infinity, { minOpen: true });
    const warmup = o.number('warmupEpochs', 4, 0, 10_000);
    if (!Number.isInteger(warmup)) o.fail('warmupEpochs', 'a whole number ≥ 0', warmup);
    this.warmupEpochs = warmup;
    this.eps = o.number('eps', 1e-20, 0, 1);
    requireHeads('stch', heads.length);
    this.T = heads.length;
  }

  combine(losses: tf.Scalar[], _ctx?: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    const stacked = tf.stack(losses) as tf.Tensor1D;
    const nadir = this.nadir;
    const weights = detached(stacked, (l) => {
      const safe = tf.add(l, this.eps);
      if (nadir === null) return tf.reciprocal(safe) as tf.Tensor1D;
      const logs = tf.log(tf.add(tf.div(l, tf.tensor1d(nadir)), this.eps));
      return tf.div(tf.mul(tf.softmax(tf.div(logs, this.mu)), this.T), safe) as tf.Tensor1D;
    });
    return { total: weightedTotal(losses, weights), weights };
  }

  endEpoch(meanLosses: readonly number[], epoch: number): void {
    if (this.nadir === null && epoch >= this.warmupEpochs) this.nadir = meanLosses.map((l) => Math.max(l, this.eps));
  }

  /** The nadir point, once the warm-up is over. */
  nadirPoint(): number[] | null {
    return this.nadir === null ? null : [...this.nadir];
  }

  /** STCH's weights for these loss values (Σ log L's during the warm-up). */
  weightsFor(losses: readonly number[]): number[] {
    if (this.nadir === null) return losses.map((l) => 1 / (l + this.eps));
    const nadir = this.nadir;
    const z = losses.map((l, t) => Math.log(l / nadir[t] + this.eps) / this.mu);
    const m = Math.max(...z);
    const e = z.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x, t) => (this.T * x) / s / (losses[t] + this.eps));
  }

  variables(): tf.Variable[] {
    return [];
  }

  getState(): Record<string, unknown> {
    return { nadir: this.nadirPoint() };
  }

  setState(state: Record<string, unknown>): void {
    if (!('nadir' in state)) badState('stch', '"nadir" is missing');
    this.nadir = state.nadir === null ? null : (stateNumbers('stch', state, 'nadir', this.T, { min: 0 }) as number[]);
  }

  dispose(): void {
    // Nothing held.
  }
}
