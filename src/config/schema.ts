import * as z from 'zod';
import { MultilossError } from '../errors.js';
import { HEAD_KINDS } from '../model/heads/head.js';
import { registeredHeadKinds } from '../model/heads/index.js';
import { registeredLosses } from '../losses/index.js';
import { DenseBlockSchema } from '../model/blocks.js';
import { OPTIMIZERS } from '../training/optimizers.js';

const finiteNonNegative = z.number().finite().min(0);

/** Options of the built-in losses; a loss registered with registerLoss takes any JSON object (and may validate it itself). */
const BuiltInLossOptionsSchema = z.strictObject({
  labelSmoothing: z.number().min(0).lt(1).optional(),
  gamma: z.number().min(0).optional(),
  alpha: z.number().min(0).max(1).nullable().optional(),
  delta: z.number().positive().optional(),
});

export const TargetSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    column: z.string().min(1).optional(),
    // Built-in kinds plus those registered with registerHeadKind (checked when parsing, so registering later works).
    kind: z.string().superRefine((kind, ctx) => {
      const valid = [...HEAD_KINDS, ...registeredHeadKinds()];
      if (!valid.includes(kind)) ctx.addIssue({ code: 'custom', message: `unknown head kind ${JSON.stringify(kind)}; valid kinds: ${valid.join(', ')}` });
    }),
    loss: z.string().min(1).optional(),
    lossOptions: z.record(z.string(), z.unknown()).optional(),
    weight: finiteNonNegative.optional(),
    classWeights: z.union([z.literal('balanced'), z.record(z.string(), finiteNonNegative)]).optional(),
    sampleWeight: z.string().min(1).optional(),
    threshold: z.number().gt(0).lt(1).optional(),
    positive: z.string().min(1).optional(),
    classes: z.array(z.string().min(1)).min(1).optional(),
    separator: z.string().min(1).optional(),
  })
  .refine((t) => t.name !== undefined || t.column !== undefined, { message: 'a target needs "name" or "column"' })
  .superRefine((t, ctx) => {
    if (t.lossOptions === undefined || (t.loss !== undefined && registeredLosses().includes(t.loss))) return;
    const parsed = BuiltInLossOptionsSchema.safeParse(t.lossOptions);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: ['lossOptions', ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
  });

const FeatureSchema = z.union([
  z.string().min(1),
  z.strictObject({ name: z.string().min(1), type: z.enum(['numeric', 'categorical', 'boolean']).optional() }),
]);

const OptimizerSchema = z.union([
  z.enum(OPTIMIZERS),
  z.strictObject({
    name: z.enum(OPTIMIZERS),
    beta1: z.number().min(0).lt(1).optional(),
    beta2: z.number().min(0).lt(1).optional(),
    epsilon: z.number().positive().optional(),
    momentum: z.number().min(0).lt(1).optional(),
    nesterov: z.boolean().optional(),
    weightDecay: finiteNonNegative.optional(),
  }),
]);

const ScheduleSchema = z.union([
  z.enum(['constant', 'cosine']),
  z.strictObject({ kind: z.literal('constant') }),
  z.strictObject({ kind: z.literal('step'), stepEpochs: z.number().int().min(1), gamma: z.number().gt(0).max(1).optional() }),
  z.strictObject({ kind: z.literal('cosine'), minLearningRate: finiteNonNegative.optional(), warmupEpochs: finiteNonNegative.optional() }),
]);

export const ConfigSchema = z.strictObject({
  /** Training data file (CSV, JSON, JSON lines, Parquet or Arrow IPC), relative to the config file. */
  data: z.string().min(1).optional(),
  format: z.enum(['csv', 'json', 'jsonl', 'parquet', 'arrow']).optional(),
  /** Read the data in chunks, never whole: one pass to fit the preprocessing, one per epoch to train (`train --stream`). */
  // `true`, or options: { shuffleBuffer: rows in the seeded shuffle buffer (default 16,384; 1 = file order) }.
  stream: z.union([z.boolean(), z.strictObject({ shuffleBuffer: z.number().int().min(1).max(100_000_000).optional() })]).optional(),
  /** Cell values read as missing, in addition to empty cells. */
  missingValues: z.array(z.string()).optional(),
  features: z.array(FeatureSchema).min(1).optional(),
  targets: z.array(TargetSchema).min(1),
  validation: z
    .strictObject({
      split: z.number().min(0).lt(1).optional(),
      data: z.string().min(1).optional(),
      stratify: z.boolean().optional(),
    })
    .optional(),
  /** joint: one network with a head per target (default); separate: one model per target, combined. */
  approach: z.enum(['joint', 'separate']).optional(),
  model: z.strictObject({ trunk: z.array(DenseBlockSchema).optional() }).optional(),
  /** Multi-task architecture (default: shared); its options are checked by the architecture itself. */
  architecture: z.looseObject({ kind: z.string().min(1) }).optional(),
  training: z
    .strictObject({
      epochs: z.number().int().min(1).optional(),
      batchSize: z.number().int().min(1).optional(),
      learningRate: z.number().positive().finite().optional(),
      optimizer: OptimizerSchema.optional(),
      schedule: ScheduleSchema.optional(),
      clipNorm: z.number().positive().optional(),
      clipValue: z.number().positive().optional(),
      seed: z.number().int().optional(),
      trainMetrics: z.boolean().optional(),
      diagnostics: z.boolean().optional(),
      /** Default: on when there is validation data (see training/early-stopping.ts); false turns it off, true or an object turns it on. */
      earlyStopping: z
        .union([
          z.boolean(),
          z.strictObject({
            monitor: z.string().min(1).optional(),
            patience: z.number().int().min(1).optional(),
            minDelta: z.number().min(0).optional(),
            mode: z.enum(['min', 'max']).optional(),
            restoreBest: z.boolean().optional(),
          }),
        ])
        .optional(),
      checkpointEvery: z.number().int().min(1).optional(),
      onNonFinite: z.enum(['error', 'skip-batch']).optional(),
    })
    .optional(),
  /** The method's own options are checked when the strategy is built (createStrategy). */
  balance: z
    .looseObject({
      method: z.string().min(1),
      mode: z.enum(['param', 'rep']).optional(),
      weights: z.record(z.string(), finiteNonNegative).optional(),
    })
    .optional(),
  /** Output model directory, relative to the config file. */
  out: z.string().min(1).optional(),
});

export type Config = z.infer<typeof ConfigSchema>;

function describePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(top level)';
}

/** Validates a configuration object; the error names the key and what was expected. */
export function parseConfig(value: unknown, source = 'configuration'): Config {
  const result = ConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problem${result.error.issues.length > 2 ? 's' : ''})` : '';
  throw new MultilossError('config', `${source}: ${describePath(issue.path)}: ${message}${more}`);
}
