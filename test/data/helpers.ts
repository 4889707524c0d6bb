import assert from 'node:assert/strict';
import { MultilossError, type ErrorKind } from '../../src/errors.js';

/** Asserts `fn` throws a one-line MultilossError of `kind` whose message matches every pattern. */
export function throwsMultiloss(fn: () => unknown, kind: ErrorKind, ...patterns: (RegExp | string)[]): MultilossError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  return checkMultiloss(caught, kind, patterns);
}

/** Asserts the promise of `fn` rejects with a one-line MultilossError of `kind` whose message matches every pattern. */
export async function rejectsMultiloss(fn: () => Promise<unknown>, kind: ErrorKind, ...patterns: (RegExp | string)[]): Promise<MultilossError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  return checkMultiloss(caught, kind, patterns);
}

function checkMultiloss(caught: unknown, kind: ErrorKind, patterns: (RegExp | string)[]): MultilossError {
  assert.ok(caught instanceof MultilossError, `expected a MultilossError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.ok(!/[\r\n]/.test(caught.message), `message is not one line: ${caught.message}`);
  for (const p of patterns) {
    if (typeof p === 'string') assert.ok(caught.message.includes(p), `"${caught.message}" does not include "${p}"`);
    else assert.match(caught.message, p);
  }
  return caught;
}
