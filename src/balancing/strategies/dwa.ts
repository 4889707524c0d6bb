import * as tf from '@tensorflow/tfjs-core';
import { weightedTotal } from './weighted-total.js';
import type { BalancedHead, LossBalancer, StepContext } from '../strategy.js';
import { badState, requireHeads, softmax, stateNumbers } from './common.js';
import { OptionReader } from '../options.js';

export interface DwaOptions {
  /** Softmax temperature τ (> 0, default 2 as in the paper); larger is closer to equal weights. */
  temperature?: number;
}

export const DWA_OPTIONS: readonly string[] = ['temperature'];

/**
 * Dynamic Weight Average — Liu, Johns & Davison, "End-to-end multi-task
 * learning with attention", CVPR 2019 (eq. 7).
 *
 *   wₜ(e) = T · softmax_t(rₜ/τ),   rₜ = Lₜ(e−1) / Lₜ(e−2)
 *
 * where Lₜ(e) is head t's mean training loss over epoch e (what the trainer
 * passes to `endEpoch`) and T the number of heads, so Σ wₜ = T. Heads whose
 * loss falls more slowly get more weight. The first two epochs use equal
 * weights (wₜ = 1). The weights are constant within an epoch.
 *
 * Options: `temperature` τ (> 0, default 2).
 * State: `{ losses: number[][] }`, the last (up to) two epochs' mean losses,
 * oldest first.
 */
export class DwaBalancer implements LossBalancer {
  readonly kind = 'loss' as const;
  readonly name = 'dwa';
  readonly temperature: number;
  private readonly T: number;
  private history: number[][] = [];
  private weights: number[];

  constructor(heads: readonly BalancedHead[], options: DwaOptions = {}) {
    const o = new OptionReader('dwa', options, DWA_OPTIONS);
    this.temperature = o.number('temperature', 2, 0, Infinity, { minOpen: true });
    requireHeads('dwa', heads.length);
    this.T = heads.length;
    this.weights = new Array<number>(this.T).fill(1);
  }

  combine(losses: tf.Scalar[], _ctx?: StepContext): { total: tf.Scalar; weights: tf.Tensor1D } {
    const weights = tf.tensor1d(this.weights);
    return { total: weightedTotal(losses, weights), weights };
  }

  endEpoch(meanLosses: readonly number[], _epoch?: number): void {
    this.history.push([...meanLosses]);
    if (this.history.length > 2) this.history.shift();
    this.weights = this.compute();
  }

  /** The weights the next step will apply. */
  currentWeights(): number[] {
    return [...this.weights];
  }

  private compute(): number[] {
    if (this.history.length < 2) return new Array<number>(this.T).fill(1);
    const [older, newer] = this.history;
    const ratios = newer.map((l, t) => l / Math.max(older[t], 1e-12));
    return softmax(ratios, this.temperature).map((p) => this.T * p);
  }

  variables(): tf.Variable[] {
    return [];
  }

  getState(): Record<string, unknown> {
    return { losses: this.history.map((l) => [...l]) };
  }

  setState(state: Record<string, unknown>): void {
    const raw = state.losses;
    if (!Array.isArray(raw) || raw.length > 2) badState('dwa', '"losses" must be an array of at most two per-head loss arrays');
    this.history = (raw as unknown[]).map((losses) => stateNumbers('dwa', { losses }, 'losses', this.T, { min: 0 }) as number[]);
    this.weights = this.compute();
  }

  dispose(): void {
    // Nothing held.
  }
}
