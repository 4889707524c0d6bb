/**
 * The candidates of `compare --auto`: each balancing method in each gradient
 * mode it supports (param and rep, as the method declares them), and the tuned
 * static baseline. Browser-safe.
 */
import { isGradientMethod, VALID_MODES, type GradientMode } from '../../balancing/gradient-methods.js';
import type { BalanceSpec } from '../../balancing/index.js';
import { MultilossError } from '../../errors.js';
import { checkMethods } from '../compare.js';
import { TUNED_STATIC } from '../tuned-static.js';

/** The gradient modes tried by default. */
export const AUTO_MODES: readonly GradientMode[] = ['param', 'rep'];

/** A candidate: a balancing method (in a mode), or the tuned static baseline (its weights searched at the first rung). */
export type AutoCandidate = { kind: 'method'; label: string; balance: BalanceSpec } | { kind: 'tuned-static'; label: string };

/**
 * The candidates for `methods` (names, or METHOD:MODE for one mode only):
 * a gradient method once per mode of `modes` it supports (label
 * METHOD:MODE), a loss-based method once; then tuned-static when asked.
 */
export function autoCandidates(methods: readonly string[], modes: readonly GradientMode[], tunedStatic: boolean, where = 'methods'): AutoCandidate[] {
  if (modes.length === 0) throw new MultilossError('usage', `modes: give at least one of ${AUTO_MODES.join(', ')}`);
  for (const m of modes) if (!AUTO_MODES.includes(m)) throw new MultilossError('usage', `modes: unknown gradient mode "${String(m)}"; valid modes: ${AUTO_MODES.join(', ')}`);
  // Known methods (METHOD:MODE entries of one method may repeat it; candidates given twice are caught below).
  checkMethods([...new Set(methods.map((m) => m.split(':')[0]))], where);
  const out: AutoCandidate[] = [];
  for (const entry of methods) {
    const [method, mode, ...rest] = entry.split(':');
    if (mode !== undefined) {
      if (rest.length > 0 || !isGradientMethod(method) || !VALID_MODES[method].includes(mode as GradientMode))
        throw new MultilossError('usage', `${where}: "${entry}": expected METHOD or METHOD:MODE with a mode the method supports${isGradientMethod(method) ? ` (${VALID_MODES[method].join(', ')})` : ' (loss-based methods have none)'}`);
      out.push({ kind: 'method', label: entry, balance: { method, mode: mode as GradientMode } });
    } else if (isGradientMethod(method)) {
      const supported = VALID_MODES[method].filter((m) => modes.includes(m));
      // A method valid in none of the chosen modes is still tried, in its default mode.
      for (const m of supported.length > 0 ? supported : [VALID_MODES[method][0]]) out.push({ kind: 'method', label: `${method}:${m}`, balance: { method, mode: m } });
    } else {
      out.push({ kind: 'method', label: method, balance: { method } });
    }
  }
  const labels = out.map((c) => c.label);
  const twice = labels.find((l, i) => labels.indexOf(l) !== i);
  if (twice !== undefined) throw new MultilossError('usage', `${where}: "${twice}" is given twice`);
  if (tunedStatic) out.push({ kind: 'tuned-static', label: TUNED_STATIC });
  return out;
}
