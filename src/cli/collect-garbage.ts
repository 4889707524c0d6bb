// A full garbage collection on request, for the CLI, which owns its process: `train` lets each
// column of a large table go once encoded, and the table's arrays are returned only when V8 next
// collects its old generation — which it may not do before training allocates more.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/** Runs V8's full collection (`gc()`, exposed to a throw-away context on first use). */
export function collectGarbage(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}
