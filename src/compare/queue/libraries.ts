/**
 * BullMQ and its Redis client (ioredis) are optional peer dependencies,
 * loaded only when a sweep goes to a queue: most users never need them, and
 * bullmq brings an install script (msgpackr-extract) that a library must not
 * impose. Node-only.
 */
import { MultilossError } from '../../errors.js';

export type BullMQ = typeof import('bullmq');
export type RedisClass = typeof import('ioredis').Redis;

const NEEDED = 'compare --queue and worker need the optional packages bullmq and ioredis';

function missing(e: unknown, name: string): boolean {
  const err = e as NodeJS.ErrnoException;
  return (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && String(err.message).includes(`'${name}'`);
}

/** Imports bullmq and ioredis; a one-line error names the install command when one is absent. */
export async function loadQueueLibraries(): Promise<{ bullmq: BullMQ; Redis: RedisClass }> {
  let bullmq: BullMQ;
  let Redis: RedisClass;
  try {
    bullmq = await import('bullmq');
  } catch (e) {
    if (missing(e, 'bullmq')) throw new MultilossError('usage', `${NEEDED}; bullmq is not installed: run npm install bullmq ioredis`);
    throw e;
  }
  try {
    ({ Redis } = await import('ioredis'));
  } catch (e) {
    if (missing(e, 'ioredis')) throw new MultilossError('usage', `${NEEDED}; ioredis is not installed: run npm install bullmq ioredis`);
    throw e;
  }
  return { bullmq, Redis };
}
