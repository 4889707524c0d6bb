/**
 * Why `compare --auto` chose what it chose: the table of each rung (every
 * candidate's validation Δm, its metrics, its cost per step and whether it
 * was promoted), the gradient conflict measured by the gradient methods'
 * runs, and each candidate's cost per training step relative to the
 * cheapest. Plain data and its text; the HTML is in report.ts. Browser-safe.
 */
import { seedStat, type CompareHead, type SeedStat } from '../compare.js';
import type { GradientConflict } from '../conflict.js';
import { deltaMOf, type DeltaMReference } from '../delta-m.js';
import type { RunResult } from '../run.js';

/** A candidate's line in a rung's table. */
export interface RungRow {
  label: string;
  /** Validation Δm against the separate models, over the rung's seeds (tuned-static at its first rung: its chosen trial). */
  deltaM: SeedStat;
  /** Per head, the validation column metric over the rung's seeds. */
  heads: Record<string, SeedStat>;
  /** Epochs trained per run (mean; fewer than the rung's budget when early stopping ended a run). */
  epochs: number;
  /** Wall-clock seconds per run (mean). */
  seconds: number;
  /** Seconds per training step (seconds / (epochs × steps per epoch)), mean over the runs. */
  secondsPerStep: number;
  /** 1 = best Δm of the rung. */
  rank: number;
  promoted: boolean;
}

/** A candidate's measured cost per step, and relative to the cheapest candidate of the same rung. */
export interface StepCost {
  label: string;
  secondsPerStep: number;
  relative: number;
}

/** The gradient conflict measured at the first rung: per gradient-method run, averaged. */
export interface ConflictSummary {
  /** Mean pairwise cosine of the heads' gradients over the runs that measured it (below 0: the heads' gradients conflict on average). */
  mean: number;
  /** Per pair of heads, the mean cosine over those runs. */
  pairs: { a: string; b: string; cosine: number }[];
  /** Share of (pair, run) figures below 0. */
  conflictingShare: number;
  /** The candidates whose runs measured it. */
  measuredBy: string[];
}

/** The row of one candidate from its runs of a rung. */
export function rungRow(label: string, runs: readonly RunResult[], heads: readonly CompareHead[], reference: DeltaMReference, stepsPerEpoch: number): Omit<RungRow, 'rank' | 'promoted'> {
  const mean = (values: number[]) => (values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : NaN);
  return {
    label,
    deltaM: seedStat(runs.length > 0 ? runs.map((r) => deltaMOf(r.validation, reference)) : [NaN]),
    heads: Object.fromEntries(heads.map((h) => [h.name, seedStat(runs.length > 0 ? runs.map((r) => r.validation.heads[h.name]?.metrics[h.metric] ?? NaN) : [NaN])])),
    epochs: mean(runs.map((r) => r.epochs)),
    seconds: mean(runs.map((r) => r.seconds)),
    secondsPerStep: mean(runs.map((r) => r.seconds / Math.max(1, r.epochs * stepsPerEpoch))),
  };
}

/** Each row's cost per step relative to the cheapest row's (a ratio measured in the same rung, on the same cores). */
export function stepCosts(rows: readonly Pick<RungRow, 'label' | 'secondsPerStep'>[]): StepCost[] {
  const finite = rows.map((r) => r.secondsPerStep).filter(Number.isFinite);
  const cheapest = finite.length > 0 ? Math.min(...finite) : NaN;
  return rows.map((r) => ({ label: r.label, secondsPerStep: r.secondsPerStep, relative: r.secondsPerStep / cheapest }));
}

/** The conflict over the runs that recorded one (gradient methods), or undefined when none did. */
export function conflictSummary(runs: readonly { label: string; conflict?: GradientConflict }[]): ConflictSummary | undefined {
  const measured = runs.filter((r): r is { label: string; conflict: GradientConflict } => r.conflict !== undefined);
  if (measured.length === 0) return undefined;
  const first = measured[0].conflict.pairs;
  const pairs = first.map((p, i) => {
    const values = measured.map((r) => r.conflict.pairs[i]?.cosine).filter((v): v is number => v !== undefined && Number.isFinite(v));
    return { a: p.a, b: p.b, cosine: values.length > 0 ? values.reduce((s, v) => s + v, 0) / values.length : NaN };
  });
  const all = measured.flatMap((r) => r.conflict.pairs.map((p) => p.cosine)).filter(Number.isFinite);
  const finitePairs = pairs.filter((p) => Number.isFinite(p.cosine));
  return {
    mean: finitePairs.length > 0 ? finitePairs.reduce((s, p) => s + p.cosine, 0) / finitePairs.length : NaN,
    pairs,
    conflictingShare: all.length > 0 ? all.filter((v) => v < 0).length / all.length : NaN,
    measuredBy: [...new Set(measured.map((r) => r.label))],
  };
}

const pct = (v: number) => (Number.isFinite(v) ? `${v > 0 ? '+' : ''}${v.toFixed(2)} %` : '–');

/** What the conflict says, in a sentence. */
export function conflictLine(c: ConflictSummary | undefined): string {
  if (!c) return 'Gradient conflict: not measured (no gradient method among the candidates: only they compute per-head gradients).';
  const pairs = c.pairs.map((p) => `${p.a}–${p.b} ${p.cosine.toFixed(3)}`).join(', ');
  const reading =
    c.mean < 0
      ? 'on average the heads’ gradients conflict: methods that resolve conflicts (projections, Nash, MGDA) have something to fix'
      : c.conflictingShare > 0
        ? `the heads’ gradients mostly agree (${Math.round(100 * c.conflictingShare)} % of the figures below 0): a good loss weighting can do as well as conflict resolution`
        : 'the heads’ gradients never conflicted on average: a good loss weighting can do as well as conflict resolution';
  return `Gradient conflict (first rung, runs of ${c.measuredBy.join(', ')}): mean pairwise cosine of the heads’ gradients ${c.mean.toFixed(3)} (${pairs}); ${reading}.`;
}

/** Why: one line per rung (who was kept), the choice, the conflict and the costs. */
export function reasonLines(
  rungs: readonly { index: number; epochs: number; seeds: number; rows: readonly RungRow[] }[],
  chosen: string,
  conflict: ConflictSummary | undefined,
  costs: readonly StepCost[],
): string[] {
  const lines = rungs.map((r) => {
    const kept = r.rows.filter((x) => x.promoted).sort((a, b) => a.rank - b.rank);
    return `Rung ${r.index + 1} (${r.epochs} epochs, ${r.seeds} seed${r.seeds > 1 ? 's' : ''}): ${r.rows.length} candidates; kept ${kept.map((x) => `${x.label} (${pct(x.deltaM.mean)})`).join(', ')} by validation Δm against the separate models.`;
  });
  lines.push(
    rungs.length > 0
      ? `Chosen: ${chosen}, the best validation Δm of the last rung; trained with the full budget on every seed.`
      : `Chosen: ${chosen}, the only candidate; trained with the full budget on every seed.`,
  );
  lines.push(conflictLine(conflict));
  if (costs.length > 0)
    lines.push(
      `Cost per step (first rung, relative to the cheapest): ${[...costs]
        .sort((a, b) => a.relative - b.relative)
        .map((c) => `${c.label} ${Number.isFinite(c.relative) ? `${c.relative.toFixed(2)}×` : '–'}`)
        .join(', ')}.`,
    );
  return lines;
}
