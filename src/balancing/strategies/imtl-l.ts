import * as tf from '@tensorflow/tfjs-core';
import type { BalancedHead, LossBalancer, LossTransform, StepContext } from '../strategy.js';
import { MultilossError } from '../../errors.js';
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
 * As a LossTransform it is the loss half of the full IMTL (the gradient method
 * `imtl`): each head's loss becomes e^{sₜ}Lₜ − sₜ before its gradient is taken.
 */
export class ImtlLBalancer implements LossBalancer, LossTransform {
  readonly kind = 'loss' as const;
  readonly name = 'imtl-l';
  /** −sₜ, so that e^{sₜ}Lₜ − sₜ is the `factor·e^{−v}·L + c·v` form of learnedScaleTotal. */
  private readonly negScale: tf.Variable<tf.Rank.R1>;
  private readonly ones: tf.Tensor1D;
  private readonly T: number;

  /** `method`: the name option messages give (the full IMTL reads `initialScale` as its own). */
  constructor(heads: readonly BalancedHead[], options: ImtlLOptions = {}, method = 'imtl-l') {
    const o = new OptionReader(method, options, IMTL_L_OPTIONS);
    const init = o.number('initialScale', 0, -20, 20);
    requireHeads(method, heads.length);
    this.T = heads.length;
    this.ones = tf.keep(tf.ones([this.T]) as tf.Tensor1D);
    const initial = tf.fill([this.T], -init) as tf.Tensor1D;
    this.negScale = tf.variable(initial, true);
    initial.dispose();
  }

  combine(losses: tf.Scalar[], _ctx?: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    return learnedScaleTotal(losses, this.negScale, this.ones, 1);
  }

  /** Each head's e^{sₜ}Lₜ − sₜ (its gradient w.r.t. the model is e^{sₜ}·∇Lₜ; w.r.t. sₜ, e^{sₜ}Lₜ − 1). */
  transform(losses: tf.Scalar[]): tf.Scalar[] {
    if (losses.length !== this.T) throw new MultilossError('training', `imtl: ${losses.length} losses for ${this.T} heads`);
    const v = tf.unstack(this.negScale);
    return losses.map((l, t) => tf.add(tf.mul(tf.exp(tf.neg(v[t])), l), v[t]) as tf.Scalar);
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
