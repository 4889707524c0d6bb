/**
 * Stable identities: a run's id is a hash of its resolved configuration and of
 * the data it trains on, so the same run gets the same id in every sweep, on
 * every machine, and is trained once. Node-only (node:crypto, node:fs).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** JSON with object keys sorted at every level (and undefined members left out): equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .filter((k) => o[k] !== undefined)
        .map((k) => [k, o[k]]),
    );
  });
}

export const sha256 = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('hex');

/** Hex digits of a run id (80 bits: collisions are out of reach for any sweep). */
const RUN_ID_LENGTH = 20;

/** A run's id: its resolved configuration and the data fingerprint, hashed. */
export function runId(config: unknown, dataFingerprint: string): string {
  return sha256(canonicalJson({ config, data: dataFingerprint })).slice(0, RUN_ID_LENGTH);
}

/** A sweep's id: the ids of its runs (in order) and its row labels. */
export function sweepId(runIds: readonly string[], labels: readonly string[]): string {
  return sha256(canonicalJson({ runs: runIds, labels })).slice(0, 12);
}

/** SHA-256 of a file's bytes (streamed: a large table is never held twice). */
export function fileFingerprint(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** One fingerprint for the comparison's files (training, and validation and test data when given). */
export function dataFingerprint(files: { train: string; validation?: string; test?: string }): string {
  return sha256(canonicalJson(files));
}
