import * as tf from '@tensorflow/tfjs-core';
import type { BalancedHead, LossBalancer, StepContext } from '../strategy.js';
import { requireHeads, stateNumbers } from './common.js';
import { OptionReader } from '../options.js';
import { learnedScaleTotal } from './uncertainty.js';

export interface ImtlLOptions {
  /** Initial scale parameter sₜ of every head (default 0: weights 1). */
  initialScale?: number;
}

export const IMTL_L_OPTIONS: readonly string[] = ['initialScale'];

/**
 * IMTL-L, the loss half of Impartial Multi-Task Learning — Liu, Li, Kuang,
 * Xue, Chen, Yang, Liao & Zhang, "Towards Impartial Multi-task Learning",
 * ICLR 2021. Each head t has a learned scale parameter sₜ (a tf.Variable
 * trained with the model by its optimizer) and the total is
 *
 *   Σₜ (e^{sₜ}·Lₜ − sₜ),
 *
 * whose minimum over sₜ for a fixed loss is e^{sₜ}Lₜ = 1: every scaled loss is
 * driven to the same value, whatever the heads' units (the paper's
 * scale-invariance, without Kendall et al.'s likelihood assumptions). The
 * reported weight of a head is e^{sₜ}. Same tape node as `uncertainty`
 * (learnedScaleTotal, with the variable holding −sₜ). Options: `initialScale`
 * (default 0). State: `{ scales: number[] }` (sₜ). Cost: as `uncertainty`.
 */
export class ImtlLBalancer implements LossBalancer {
  readonly kind = 'loss' as const;
  readonly name = 'imtl-l';
  /** −sₜ, so that e^{sₜ}Lₜ − sₜ is the `factor·e^{−v}·L + c·v` form of learnedScaleTotal. */
  private readonly negScale: tf.Variable<tf.Rank.R1>;
  private readonly ones: tf.Tensor1D;
  private readonly T: number;

  constructor(heads: readonly BalancedHead[], options: ImtlLOptions = {}) {
    const o = new OptionReader('imtl-l', options, IMTL_L_OPTIONS);
    const init = o.number('initialScale', 0, -20, 20);
    requireHeads('imtl-l', heads.length);
    this.T = heads.length;
    this.ones = tf.keep(tf.ones([this.T]) as tf.Tensor1D);
    const initial = tf.fill([this.T], -init) as tf.Tensor1D;
    this.negScale = tf.variable(initial, true);
    initial.dispose();
  }

  combine(losses: tf.Scalar[], _ctx?: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    return learnedScaleTotal(losses, this.negScale, this.ones, 1);
  }

  /** The learned scales sₜ. */
  scales(): number[] {
    return Array.from(this.negScale.dataSync(), (v) => -v);
  }

  /** The weights the next step will apply: e^{sₜ}. */
  currentWeights(): number[] {
    return this.scales().map(Math.exp);
  }

  variables(): tf.Variable[] {
    return [this.negScale];
  }

  getState(): Record<string, unknown> {
    return { scales: this.scales() };
  }

  setState(state: Record<string, unknown>): void {
    const s = stateNumbers('imtl-l', state, 'scales', this.T) as number[];
    const value = tf.tensor1d(s.map((x) => -x));
    this.negScale.assign(value);
    value.dispose();
  }

  dispose(): void {
    this.negScale.dispose();
    this.ones.dispose();
  }
}
