/** A sweep as kept on the queue (`multiloss:sweep:ID`): enough to run it again with `compare --resume ID`. */
import { z } from 'zod';
import { GridSchema } from '../grid.js';
import { DataRefsSchema, SWEEP_FORMAT } from './job.js';

export const SweepRecordSchema = z.strictObject({
  format: z.literal(SWEEP_FORMAT),
  version: z.number().int(),
  sweep: z.string().regex(/^[0-9a-f]{12}$/),
  config: z.record(z.string(), z.unknown()),
  grid: GridSchema,
  data: DataRefsSchema,
});
export type SweepRecord = z.infer<typeof SweepRecordSchema>;
