// The Δm monitor's name and its error. Training cannot compute Δm (it needs the
// separate models as a reference): a comparison supplies it as a monitor object
// (delta-m.ts), and registering the name here makes every other run refuse it.
import { MultilossError } from '../errors.js';
import { registerCallerMonitor } from '../training/early-stopping.js';

/** The early-stopping monitor of Δm (`deltaM` is accepted as a short form). */
export const DELTA_M_MONITOR = 'validation.deltaM';

/** Whether an early-stopping monitor names Δm (`validation.deltaM` or `deltaM`). */
export function isDeltaMMonitor(monitor: string | undefined): boolean {
  return monitor === DELTA_M_MONITOR || monitor === 'deltaM';
}

/** The one-line error of a Δm monitor where there is no reference (a single training run). */
export function deltaMNeedsBaseline(monitor: string): MultilossError {
  return new MultilossError(
    'config',
    `training.earlyStopping.monitor "${monitor}": Δm is measured against the separate models, which only \`multiloss compare\` trains; a single run has no baseline: monitor validation.loss or validation.<head>.<metric>`,
  );
}


registerCallerMonitor({ matches: isDeltaMMonitor, unavailable: deltaMNeedsBaseline });
