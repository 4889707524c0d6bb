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

/**
 * Images as data: a folder of PNG/JPEG files with a labels file naming each
 * image (`images` + `labels`), or IDX files (`idx: { images, labels }`, as
 * MNIST ships). Paths are relative to the config file.
 */
const imageReadingShape = {
  /** 1 (grayscale) or 3 (RGB; a folder's default; IDX files: the file's channels). */
  channels: z.literal([1, 3], { error: 'expected 1 (grayscale) or 3 (RGB)' }).optional(),
  /** [height, width] every image is resized to (bilinear); without it all images must have the same size. */
  size: z.tuple([z.number().int().min(1), z.number().int().min(1)], { error: 'expected [height, width], two whole numbers ≥ 1' }).optional(),
  /** Pixel values: unit [0, 1] (default), symmetric [−1, 1], standardize (per channel, with the training images' mean and std). */
  scale: z.enum(['unit', 'symmetric', 'standardize']).optional(),
  /** Seeded augmentation of the training batches (off by default): random shift by up to `shift` pixels, left–right flip. */
  augment: z
    .strictObject({
      shift: z.number().int().min(0).optional(),
      flip: z.boolean().optional(),
    })
    .optional(),
};

export const ImageFolderSourceSchema = z.strictObject({
  /** Folder holding the image files. */
  images: z.string().min(1),
  /** Labels file (CSV/TSV, or JSON: see `ImageFolderOptions.labels`): one row per image, naming its file in `fileColumn`; every other column is a label. */
  labels: z.string().min(1),
  /** Column of the labels file naming each image's file (default "file"). */
  fileColumn: z.string().min(1).optional(),
  ...imageReadingShape,
});

export const IdxSourceSchema = z.strictObject({
  idx: z.strictObject({
    /** IDX images file (n×H×W or n×H×W×C; gzipped or not). */
    images: z.string().min(1),
    /** IDX labels file (n values). */
    labels: z.string().min(1).optional(),
    /** Name of the label column the labels file fills (default "label"); a target's `column` names it. */
    labelColumn: z.string().min(1).optional(),
    ...imageReadingShape,
  }),
});

export type ImageFolderSource = z.infer<typeof ImageFolderSourceSchema>;
export type IdxSource = z.infer<typeof IdxSourceSchema>;
/** Image data of a configuration: a folder with a labels file, or IDX files. */
export type ImageSource = ImageFolderSource | IdxSource;

/** A data source: a table file (a path) or images. */
const DataSourceSchema = z.union([z.string().min(1), IdxSourceSchema, ImageFolderSourceSchema]);

/** Whether a configuration's data source is images (a folder with labels, or IDX files) rather than a table file. */
export function isImageSource(data: unknown): data is ImageSource {
  return typeof data === 'object' && data !== null && !Array.isArray(data);
}

export const ConfigSchema = z.strictObject({
  /**
   * Training data: a file (CSV, JSON, JSON lines, Parquet or Arrow IPC), or
   * images (`{ images: DIR, labels: FILE }` or `{ idx: { images, labels } }`);
   * paths relative to the config file.
   */
  data: DataSourceSchema.optional(),
  format: z.enum(['csv', 'json', 'jsonl', 'parquet', 'arrow']).optional(),
  /** Read the data in chunks, never whole: one pass to fit the preprocessing, one per epoch to train (`train --stream`). */
  // `true`, or options: { shuffleBuffer: rows in the seeded shuffle buffer (default 16,384; 1 = file order),
  // spill: keep the parsed chunks in a temporary file after the first read (default true; io/stream-spill.ts) }.
  stream: z.union([z.boolean(), z.strictObject({ shuffleBuffer: z.number().int().min(1).max(100_000_000).optional(), spill: z.boolean().optional() })]).optional(),
  /** Cell values read as missing, in addition to empty cells. */
  missingValues: z.array(z.string()).optional(),
  features: z.array(FeatureSchema).min(1).optional(),
  targets: z.array(TargetSchema).min(1),
  validation: z
    .strictObject({
      split: z.number().min(0).lt(1).optional(),
      data: DataSourceSchema.optional(),
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
const DATA_SOURCE_FORMS = 'a file path, { images: DIR, labels: FILE } or { idx: { images: FILE, labels: FILE } }';

/**
 * The issue to report. Inside the union of a data source (a path or one of the
 * image sources) it is the first problem of the branch the value came closest
 * to (fewest problems, not counting branches of another type altogether), so
 * that the message names the option; an unknown key there also names the
 * forms a data source may take.
 */
function dataSourceIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.path[issue.path.length - 1] !== 'data') return issue;
  const candidates = issue.errors.filter((b) => b.length > 0 && !(b[0].code === 'invalid_type' && b[0].path.length === 0));
  if (candidates.length === 0) return { ...issue, message: `expected ${DATA_SOURCE_FORMS}` };
  const closest = candidates.reduce((best, b) => (b.length < best.length ? b : best));
  const unknown = closest.find((i) => i.code === 'unrecognized_keys' && i.path.length === 0);
  const first = unknown ?? closest[0];
  const inner = first;
  const message = unknown?.code === 'unrecognized_keys' ? `unknown key${unknown.keys.length > 1 ? 's' : ''} ${unknown.keys.map((k) => `"${k}"`).join(', ')}; expected ${DATA_SOURCE_FORMS}` : inner.message;
  return { ...inner, code: unknown ? 'custom' : inner.code, message, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue;
}

export function parseConfig(value: unknown, source = 'configuration'): Config {
  const result = ConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = dataSourceIssue(result.error.issues[0]);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problem${result.error.issues.length > 2 ? 's' : ''})` : '';
  throw new MultilossError('config', `${source}: ${describePath(issue.path)}: ${message}${more}`);
}
