import type { ResolvedConfig } from '../config/resolve.js';
import { selectRows } from '../data/split.js';
import type { Table } from '../data/table.js';
import { MultilossError } from '../errors.js';
import { cellLabel, columnIndex, type HeadSpec } from '../model/heads/index.js';
import type { MultiOutputModel } from '../model/multi-output.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import { SeparateModels } from '../model/separate-models.js';
import { defaultFeatures, fitModel, splitInput, type FitInput, type FitOptions } from './fit.js';
import type { EarlyStoppingSpec } from './trainer.js';

export interface SeparateFitOptions extends Omit<FitOptions, 'checkpoint' | 'resume'> {
  /** Called before each sub-model starts training (0-based index, count, head name). */
  onModelBegin?: (index: number, count: number, head: string) => void;
}

/**
 * The early-stopping spec of the sub-model of `head`: a monitor naming this
 * head is kept; one naming another head becomes the sub-model's own total
 * loss on the same split (a sub-model has one head, so that is its loss).
 */
function subEarlyStopping(spec: EarlyStoppingSpec | undefined, head: HeadSpec, heads: readonly HeadSpec[]): EarlyStoppingSpec | undefined {
  if (!spec?.monitor) return spec;
  const parts = spec.monitor.split('.');
  if (parts.length < 3) return spec; // train.loss / validation.loss: the sub-model's own total
  const named = parts.slice(1, -1).join('.');
  if (named === head.name || !heads.some((h) => h.name === named)) return spec; // this head, or an error for the trainer to report
  const { mode: _mode, ...rest } = spec;
  return { ...rest, monitor: `${parts[0]}.loss` };
}

/** The single-head configuration each sub-model trains with. */
export function subModelConfig(config: ResolvedConfig, head: HeadSpec, features: NonNullable<ResolvedConfig['features']>): ResolvedConfig {
  return {
    ...config,
    approach: 'joint',
    features,
    heads: [head],
    // The split is taken once, for every sub-model alike (fitSeparate passes the validation table).
    validation: { ...config.validation, split: 0 },
    training: { ...config.training, earlyStopping: subEarlyStopping(config.training.earlyStopping, head, config.heads) },
    // One loss: nothing to balance. `equal` trains on the head's plain loss.
    balance: { method: 'equal' },
  };
}

/** The rows of `table` that have a label for `head`. */
function labelledRows(table: Table, head: HeadSpec): Table {
  const c = columnIndex(table, head.column, `target (head "${head.name}")`);
  const keep: number[] = [];
  table.rows.forEach((r, i) => {
    if (cellLabel(r[c]) !== null) keep.push(i);
  });
  return keep.length === table.rows.length ? table : selectRows(table, keep);
}

/**
 * Trains one model per target (approach `separate`): the seeded validation
 * split is taken once over all targets, exactly as a joint model takes it;
 * each sub-model then fits its own preprocessing and target encoding on the
 * training rows labelled for its target, builds a network with the same trunk
 * specification and trains with the run's seed and budget. Balancing does not
 * apply (each model has one loss). Browser-safe like `fitModel`.
 */
export async function fitSeparate(config: ResolvedConfig, input: FitInput, options: SeparateFitOptions = {}): Promise<SeparateModels> {
  const warn = options.warn ?? (() => undefined);
  const joint: ResolvedConfig = { ...config, approach: 'joint' };
  const { all, train, validation } = splitInput(joint, input, warn);
  // The features are fixed over all targets: no target ever becomes another model's input.
  const features = config.features ?? defaultFeatures(all, joint);
  if (config.training.checkpointEvery !== undefined) warn('approach: separate writes no checkpoints; training.checkpointEvery is ignored');
  const models: MultilossModel[] = [];
  try {
    for (let k = 0; k < config.heads.length; k++) {
      const head = config.heads[k];
      options.onModelBegin?.(k, config.heads.length, head.name);
      // Rows without this target's label train nothing in its model (as masked rows in a joint model): leave them out.
      const trainRows = labelledRows(train, head);
      let val = validation && labelledRows(validation, head);
      if (validation && validation.rows.length && val?.rows.length === 0) {
        warn(`head "${head.name}": no labelled validation row; its model trains without validation`);
      }
      if (val?.rows.length === 0) val = undefined;
      try {
        models.push(
          await fitModel(
            subModelConfig(config, head, features),
            { table: trainRows, validation: val },
            {
              callbacks: options.callbacks,
              warn: (m) => warn(`head "${head.name}": ${m}`),
              interrupt: options.interrupt,
            },
          ),
        );
      } catch (e) {
        if (e instanceof MultilossError && e.kind === 'interrupted') {
          throw new MultilossError(
            'interrupted',
            `training interrupted in model ${k + 1} of ${config.heads.length} (head "${head.name}"); approach: separate keeps no checkpoints`,
          );
        }
        throw e;
      }
    }
  } catch (e) {
    for (const m of models) m.dispose();
    throw e;
  }
  return SeparateModels.combine(models, config);
}

/** Trains with the configuration's approach: `fitSeparate` for `separate`, `fitModel` otherwise. */
export async function fitByApproach(config: ResolvedConfig, input: FitInput, options: SeparateFitOptions = {}): Promise<MultiOutputModel> {
  return config.approach === 'separate' ? fitSeparate(config, input, options) : fitModel(config, input, options);
}
