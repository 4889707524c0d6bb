/**
 * Gradient conflict of a run: the pairwise cosine of the heads' gradients
 * (on the shared part, or the shared representation in rep mode), as the
 * trainer's diagnostics record it per epoch for gradient methods (and
 * `training.diagnostics: true`), averaged over the run's epochs. Negative
 * cosines are conflicts: a step along one head's gradient raises the other's
 * loss. Browser-safe.
 */
import type { GradientDiagnostics } from '../training/diagnostics.js';

/** Per unordered pair of heads (in head order), the mean cosine over the epochs that measured it. */
export interface GradientConflict {
  pairs: { a: string; b: string; cosine: number }[];
  /** Mean over the pairs. */
  mean: number;
  /** Epochs the figures are over. */
  epochs: number;
}

/** A run's gradient conflict from its per-epoch diagnostics, or undefined when none were recorded. */
export function gradientConflict(history: readonly { diagnostics?: GradientDiagnostics }[], heads: readonly string[]): GradientConflict | undefined {
  const measured = history.flatMap((e) => (e.diagnostics ? [e.diagnostics.cosine] : []));
  if (measured.length === 0 || heads.length < 2) return undefined;
  const pairs: GradientConflict['pairs'] = [];
  for (let i = 0; i < heads.length; i++) {
    for (let j = i + 1; j < heads.length; j++) {
      const values = measured.map((c) => c[heads[i]]?.[heads[j]]).filter((v): v is number => v !== undefined && Number.isFinite(v));
      pairs.push({ a: heads[i], b: heads[j], cosine: values.length > 0 ? values.reduce((s, v) => s + v, 0) / values.length : NaN });
    }
  }
  const finite = pairs.filter((p) => Number.isFinite(p.cosine));
  const mean = finite.length > 0 ? finite.reduce((s, p) => s + p.cosine, 0) / finite.length : NaN;
  return { pairs, mean, epochs: measured.length };
}
