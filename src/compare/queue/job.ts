/**
 * What travels through the queue, as plain data checked with zod on arrival:
 * a job names a run (its base configuration, what it varies, its seed), the
 * data files by location and fingerprint, and its expected id; a result is a
 * run's figures. A job is never code: a worker that receives anything else,
 * or a job of another sweep format version, fails it without retrying.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { isDataUrl } from '../../io/data-url.js';
import { RunVariantSchema } from '../grid.js';
import type { RunResult } from '../run.js';

export const SWEEP_FORMAT = 'multiloss-sweep';
/** Raised when what a job means changes; workers run only jobs of their own version. */
export const SWEEP_FORMAT_VERSION = 1;

const FileRefSchema = z.strictObject({
  /** An absolute path every worker can read (shared storage), or an http(s) URL every worker downloads; image data: the folder (or IDX file) of the configuration's image source. */
  location: z
    .string()
    .min(1)
    .max(4096)
    .refine((l) => isAbsolute(l) || isDataUrl(l), 'expected an absolute path or an http(s) URL'),
  /** SHA-256 of the file's bytes (hex); image data: the image source's fingerprint (imageSourceFingerprint). */
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
});
export type FileRef = z.infer<typeof FileRefSchema>;

export const DataRefsSchema = z.strictObject({
  train: FileRefSchema,
  validation: FileRefSchema.optional(),
  test: FileRefSchema.optional(),
  format: z.enum(['csv', 'json', 'jsonl', 'parquet', 'arrow']).optional(),
});
export type DataRefs = z.infer<typeof DataRefsSchema>;

const DeltaMReferenceSchema = z.strictObject({
  heads: z.array(z.strictObject({ name: z.string(), metric: z.string(), higherIsBetter: z.boolean(), value: z.number() })),
});

export const RunJobSchema = z.strictObject({
  format: z.literal(SWEEP_FORMAT),
  version: z.number().int(),
  sweep: z.string().regex(/^[0-9a-f]{12}$/),
  /** The run's id as the coordinator computed it; the worker recomputes it and refuses a mismatch. */
  key: z.string().regex(/^[0-9a-f]{20}$/),
  label: z.string().min(1).max(1000),
  seed: z.number().int(),
  /** The comparison's configuration as written (checked again by the configuration schema). */
  config: z.record(z.string(), z.unknown()),
  variant: RunVariantSchema,
  data: DataRefsSchema,
  /** The separate models' figures, for a joint run that stops early on Δm. */
  reference: DeltaMReferenceSchema.optional(),
});
export type RunJob = z.infer<typeof RunJobSchema>;

/** The figures a worker sends back; checked by the coordinator before they count. */
const SplitLogSchema = z.looseObject({
  loss: z.number().or(z.null()),
  heads: z.record(z.string(), z.looseObject({ metrics: z.record(z.string(), z.number().or(z.null())) })),
});
export const RunResultSchema = z.looseObject({
  key: z.string(),
  label: z.string(),
  approach: z.enum(['joint', 'separate']),
  seed: z.number().int(),
  validation: SplitLogSchema,
  test: SplitLogSchema.optional(),
  parameters: z.number(),
  epochs: z.number(),
  seconds: z.number(),
  /** Per model, per epoch (numbers, or null where JSON holds a NaN). */
  history: z.record(z.string(), z.array(z.looseObject({ epoch: z.number().int(), train: SplitLogSchema, validation: SplitLogSchema.optional() }))).optional(),
  machine: z.strictObject({ host: z.string(), pid: z.number().int() }).optional(),
});

/** A job id: the run's id (BullMQ refuses to add a second job with the same id, so a run is queued once). */
export const jobIdOf = (key: string): string => `run-${key}`;
/** Where a sweep's description is kept (for `compare --resume SWEEP`). */
export const sweepRecordKey = (sweep: string): string => `multiloss:sweep:${sweep}`;

/** A checked result as the comparison's RunResult. */
export function toRunResult(value: unknown, id: number): RunResult {
  const parsed = RunResultSchema.parse(value);
  // JSON turns NaN into null: back to NaN so that the table shows '–' as for a local run.
  return JSON.parse(JSON.stringify({ ...parsed, id }), (_k, v: unknown) => (v === null ? NaN : v)) as RunResult;
}
