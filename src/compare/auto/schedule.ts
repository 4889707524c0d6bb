/**
 * Successive halving (Jamieson & Talwalkar 2016; the inner loop of Hyperband):
 * every candidate trains on a short budget, the best 1/η by validation score
 * go on to a budget η times longer, and so on until one is left. Pure
 * arithmetic on counts, budgets and scores; the training is auto-balance.ts's.
 */
import { MultilossError } from '../../errors.js';

export interface HalvingOptions {
  /** Candidates entering the first rung. */
  candidates: number;
  /** Keep the best ⌈n/η⌉ of n at each rung; budgets grow η-fold (a whole number ≥ 2). */
  eta: number;
  /** The full budget (epochs) the winner is trained with; every rung trains for less. */
  maxEpochs: number;
  /** The first rung's budget (default: maxEpochs / η^rungs, at least 1). */
  minEpochs?: number;
}

export interface Rung {
  index: number;
  /** Epochs of each run in this rung. */
  epochs: number;
  /** Candidates trained in this rung. */
  candidates: number;
  /** Candidates promoted to the next rung (the last rung promotes 1: the winner). */
  keep: number;
}

/**
 * The rungs for `candidates` candidates: counts n₀ = candidates,
 * nᵣ₊₁ = ⌈nᵣ/η⌉ until one is left (no rung for a single candidate); budgets
 * bᵣ = minEpochs·ηʳ capped below maxEpochs (default minEpochs: maxEpochs/η^R
 * rounded, at least 1, R the number of rungs), never decreasing.
 */
export function halvingSchedule(options: HalvingOptions): Rung[] {
  const { candidates, eta, maxEpochs } = options;
  if (!Number.isInteger(candidates) || candidates < 1) throw new MultilossError('usage', `auto: expected at least one candidate, got ${candidates}`);
  if (!Number.isInteger(eta) || eta < 2) throw new MultilossError('usage', `auto.eta: expected a whole number ≥ 2, got ${eta}`);
  if (!Number.isInteger(maxEpochs) || maxEpochs < 1) throw new MultilossError('usage', `auto: the full budget must be a whole number of epochs ≥ 1, got ${maxEpochs}`);
  const counts: number[] = [];
  for (let n = candidates; n > 1; n = Math.ceil(n / eta)) counts.push(n);
  const R = counts.length;
  const min = options.minEpochs ?? Math.max(1, Math.round(maxEpochs / eta ** R));
  if (!Number.isInteger(min) || min < 1) throw new MultilossError('usage', `auto.minEpochs: expected a whole number ≥ 1, got ${options.minEpochs}`);
  if (min > maxEpochs) throw new MultilossError('usage', `auto.minEpochs: ${min} is more than the full budget of ${maxEpochs} epochs`);
  return counts.map((n, r) => ({
    index: r,
    epochs: Math.min(maxEpochs, min * eta ** r),
    candidates: n,
    keep: r + 1 < R ? counts[r + 1] : 1,
  }));
}

/**
 * The indices of the `keep` best scores, best first (higher is better); ties
 * go to the earlier index, and NaN (a failed candidate) ranks below every
 * number.
 */
export function promote(scores: readonly number[], keep: number): number[] {
  const order = scores.map((_, i) => i);
  const key = (i: number) => (Number.isNaN(scores[i]) ? -Infinity : scores[i]);
  order.sort((i, j) => {
    const d = key(j) - key(i);
    return d !== 0 && !Number.isNaN(d) ? d : i - j;
  });
  return order.slice(0, Math.max(0, Math.min(keep, scores.length)));
}
