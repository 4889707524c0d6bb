/**
 * The multi-task score Δm and early stopping on it. Δm needs a reference —
 * the separate models' validation metrics — so it exists only inside a
 * comparison: `compare` trains the separate models first, takes their mean
 * validation metric per head over the seeds as the reference, and each joint
 * run then monitors the Δm of its epoch's validation metrics against that
 * reference, with patience and restoring the best epoch's weights.
 * Browser-safe (no Node built-ins).
 */
import type { ResolvedConfig } from '../config/resolve.js';
import { MultilossError } from '../errors.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import { fitModel, type FitInput, type FitOptions } from '../training/fit.js';
import type { SplitLog } from '../training/history.js';
import type { EarlyStoppingMonitor, EarlyStoppingSpec } from '../training/early-stopping.js';

import { DELTA_M_MONITOR, isDeltaMMonitor } from './delta-m-monitor.js';
export { DELTA_M_MONITOR, isDeltaMMonitor, deltaMNeedsBaseline } from './delta-m-monitor.js';

/**
 * The multi-task score Δm in percent (Maninis et al. 2019; as reported by CAGrad, Nash-MTL, FAMO):
 * the mean over heads of the relative change of each head's metric against
 * the reference (the separate models), sign-corrected so that higher is
 * better: Δm = (1/T) Σₜ (−1)^{lₜ} (Mₜ − M_ref,ₜ) / M_ref,ₜ × 100, with lₜ = 1
 * when a lower value of head t's metric is better.
 */
export function deltaM(metrics: readonly number[], reference: readonly number[], higherIsBetter: readonly boolean[]): number {
  if (metrics.length === 0 || metrics.length !== reference.length || metrics.length !== higherIsBetter.length) {
    throw new RangeError(`deltaM: ${metrics.length} metrics, ${reference.length} reference values and ${higherIsBetter.length} directions`);
  }
  let sum = 0;
  for (let t = 0; t < metrics.length; t++) sum += ((higherIsBetter[t] ? 1 : -1) * (metrics[t] - reference[t])) / reference[t];
  return (100 * sum) / metrics.length;
}

/** What Δm is measured against: per head, its metric, direction and reference value (the separate models' mean). */
export interface DeltaMReference {
  heads: { name: string; metric: string; higherIsBetter: boolean; value: number }[];
}

/** Δm of a split's figures (an epoch's validation log, or final metrics) against the reference. */
export function deltaMOf(split: SplitLog, reference: DeltaMReference): number {
  return deltaM(
    reference.heads.map((h) => split.heads[h.name]?.metrics[h.metric] ?? NaN),
    reference.heads.map((h) => h.value),
    reference.heads.map((h) => h.higherIsBetter),
  );
}

/** How a Δm-monitored run went. */
export interface DeltaMStopping {
  /** Δm of every trained epoch's validation metrics, in epoch order. */
  values: number[];
  /** The epoch (1-based) with the highest Δm; its weights are the model's when `restoreBest` (the default). */
  bestEpoch: number;
  best: number;
  /** Epochs trained (fewer than the budget when Δm stalled for `patience` epochs). */
  epochs: number;
}

/**
 * Trains a joint model with early stopping on Δm against `reference`: after
 * every epoch, Δm of the epoch's validation metrics; an epoch improves when
 * Δm > best + minDelta (percentage points); training stops after `patience`
 * epochs (default 10) without improvement, and the best epoch's weights are
 * put back (`restoreBest`, default true) — the same rule as the trainer's
 * own early stopping. The model's final metrics are those of the weights it
 * ends with. The configuration's `training.earlyStopping.monitor` must be
 * Δm; everything else trains exactly as `fitModel` with the same
 * configuration, whose early stopping watches Δm (`FitOptions.monitor`).
 */
export async function fitWithDeltaMStopping(
  config: ResolvedConfig,
  input: FitInput,
  reference: DeltaMReference,
  options: Omit<FitOptions, 'checkpoint' | 'resume'> = {},
  /** Trains the joint model with these options (default: `fitModel` on `input`; images: `fitImageModel`). */
  fit: (options: FitOptions) => Promise<MultilossModel> = (o) => fitModel(config, input, o),
): Promise<{ model: MultilossModel; stopping: DeltaMStopping }> {
  const spec: EarlyStoppingSpec | undefined = config.training.earlyStopping;
  if (!spec || !isDeltaMMonitor(spec.monitor))
    throw new MultilossError('config', `fitWithDeltaMStopping: training.earlyStopping.monitor must be ${DELTA_M_MONITOR}`);
  if (config.approach === 'separate')
    throw new MultilossError(
      'config',
      `training.earlyStopping.monitor "${spec.monitor}": the separate models are the reference of Δm; they stop on their own head's metric`,
    );
  if (spec.mode === 'min')
    throw new MultilossError('config', `training.earlyStopping.mode "min": Δm is higher-is-better; leave mode unset when monitoring ${DELTA_M_MONITOR}`);
  const names = config.heads.map((h) => h.name).join(',');
  if (reference.heads.map((h) => h.name).join(',') !== names) {
    throw new MultilossError(
      'config',
      `Δm reference: heads ${reference.heads.map((h) => h.name).join(', ')} do not match the configuration's ${config.heads.map((h) => h.name).join(', ')}`,
    );
  }
  const values: number[] = [];
  // The trainer's own early stopping (patience, minDelta, restoreBest from the configuration) watches Δm.
  const monitor: EarlyStoppingMonitor = {
    mode: 'max',
    name: DELTA_M_MONITOR,
    read: (log) => {
      if (!log.validation)
        throw new MultilossError(
          'config',
          `training.earlyStopping.monitor "${spec.monitor}": there is no validation data (set validation.split or validation.data)`,
        );
      const value = deltaMOf(log.validation, reference);
      values.push(value);
      return value;
    },
  };
  const model = await fit({ ...options, monitor });
  // The best epoch by the trainer's rule (an improvement is Δm > best + minDelta).
  const minDelta = spec.minDelta ?? 0;
  let best = -Infinity;
  let bestEpoch = 0;
  values.forEach((v, i) => {
    if (Number.isFinite(v) && v > best + minDelta) {
      best = v;
      bestEpoch = i + 1;
    }
  });
  return { model, stopping: { values, bestEpoch, best, epochs: values.length } };
}
