import { MultilossError } from '../errors.js';

export type ScheduleSpec =
  | { kind: 'constant' }
  | { kind: 'step'; stepEpochs: number; gamma?: number }
  | { kind: 'cosine'; minLearningRate?: number; warmupEpochs?: number };

/**
 * Learning rate at fractional epoch `t` (epoch + batch/batches) of a run of
 * `epochs` epochs starting from `base`.
 */
export function learningRateAt(spec: ScheduleSpec, base: number, t: number, epochs: number): number {
  switch (spec.kind) {
    case 'constant':
      return base;
    case 'step':
      return base * (spec.gamma ?? 0.1) ** Math.floor(t / spec.stepEpochs);
    case 'cosine': {
      const warm = spec.warmupEpochs ?? 0;
      const min = spec.minLearningRate ?? 0;
      if (t < warm) return base * ((t + 1e-3) / warm);
      const span = Math.max(epochs - warm, 1e-9);
      const progress = Math.min(1, (t - warm) / span);
      return min + 0.5 * (base - min) * (1 + Math.cos(Math.PI * progress));
    }
    default:
      throw new MultilossError('config', `training.schedule.kind: unknown schedule; valid: constant, step, cosine`);
  }
}
