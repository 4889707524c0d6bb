/**
 * `compare --auto`'s output: each rung's table, the final table (the separate
 * models and the winner on the full budget), why it chose, the tuned-static
 * search and the cost against the full sweep — as text and as the HTML
 * report. Browser-safe.
 */
import { alignedText, compareReportHtml, escapeHtml, formatCompareTable, formatStat, compareNotes, formatTunedStaticTrials, htmlTable, type CompareReportOptions } from '../report.js';
import type { AutoBalanceResult, AutoRung } from './auto-balance.js';

const signed = (v: number) => (Number.isFinite(v) ? `${v > 0 ? '+' : ''}${v.toFixed(2)}` : '–');

/** A rung's table as cells: rank, candidate, Δm (± over the rung's seeds), each head's metric, epochs, seconds per step, promoted. */
export function rungCells(result: AutoBalanceResult, rung: AutoRung): { header: string[]; rows: string[][] } {
  const header = ['rank', 'candidate', 'Δm % ↑', ...result.heads.map((h) => `${h.name} ${h.metric} ${h.higherIsBetter ? '↑' : '↓'}`), 'epochs', 'ms/step', 'promoted'];
  const rows = rung.rows.map((r) => [
    String(r.rank),
    r.label,
    r.deltaM.values.length > 1 ? `${signed(r.deltaM.mean)} ± ${r.deltaM.std.toFixed(2)}` : signed(r.deltaM.mean),
    ...result.heads.map((h) => formatStat(r.heads[h.name]).replace(/ ± 0\.0+$/, '')),
    Number.isFinite(r.epochs) ? r.epochs.toFixed(1) : '–',
    Number.isFinite(r.secondsPerStep) ? (1000 * r.secondsPerStep).toFixed(2) : '–',
    r.promoted ? 'yes' : '',
  ]);
  return { header, rows };
}

const rungTitle = (r: AutoRung) => `Rung ${r.index + 1}: ${r.rows.length} candidates, ${r.epochs} epochs, seed${r.seeds.length > 1 ? 's' : ''} ${r.seeds.join(', ')}`;

/** The cost line: what auto trained against the full sweep of the same candidates. */
export function costLine(result: AutoBalanceResult): string {
  const c = result.cost;
  return `Cost: ${c.runs} runs, ${c.epochs} epochs trained in ${c.seconds.toFixed(0)} s (planned at most ${c.plannedEpochs} epochs); the full sweep of the same ${result.candidates.length} candidates on ${result.final.seeds.length} seeds with the full budget: ${c.fullSweep.runs} runs, at most ${c.fullSweep.epochs} epochs (auto plans ${((100 * c.plannedEpochs) / c.fullSweep.epochs).toFixed(0)} % of it).`;
}

/** Everything `compare --auto` prints on stdout. */
export function formatAutoReport(result: AutoBalanceResult): string {
  const parts = result.rungs.map((r) => {
    const { header, rows } = rungCells(result, r);
    return `${rungTitle(r)}\n${alignedText(header, rows)}`;
  });
  const finalResult = { ...result.final, ...(result.tunedStatic ? { tunedStatic: result.tunedStatic } : {}) };
  const trials = formatTunedStaticTrials(finalResult);
  return [
    ...parts,
    `Chosen: ${result.chosen.label}. Final training, full budget:\n${formatCompareTable(result.final)}`,
    result.reasons.lines.join('\n'),
    costLine(result),
    compareNotes(result.final).join('\n'),
    ...(trials ? [trials] : []),
  ].join('\n\n');
}

/** The HTML report: why auto chose (rungs, conflict, costs, the tuned-static search), then the final table and charts. */
export async function autoReportHtml(result: AutoBalanceResult, options: CompareReportOptions = {}): Promise<string> {
  const rungs = result.rungs.map((r) => {
    const { header, rows } = rungCells(result, r);
    return `<h2>${escapeHtml(rungTitle(r))}</h2>\n${htmlTable(header, rows, 'rung')}`;
  });
  const conflict = result.reasons.conflict;
  const conflictTable = conflict
    ? htmlTable(
        ['pair of heads', 'mean cos(gₐ, g_b)'],
        conflict.pairs.map((p) => [`${p.a} – ${p.b}`, p.cosine.toFixed(3)]),
        'conflict',
      )
    : '';
  const costTable = htmlTable(
    ['candidate', 'ms/step', 'relative'],
    [...result.reasons.costs].sort((a, b) => a.relative - b.relative).map((c) => [c.label, (1000 * c.secondsPerStep).toFixed(2), `${c.relative.toFixed(2)}×`]),
    'costs',
  );
  const before = [
    `<h2>Chosen: ${escapeHtml(result.chosen.label)}</h2>`,
    `<ul class="notes">${result.reasons.lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}<li>${escapeHtml(costLine(result))}</li></ul>`,
    ...rungs,
    '<h2>Gradient conflict (first rung)</h2>',
    conflictTable || '<p class="sub">Not measured: no gradient method among the candidates.</p>',
    '<h2>Cost per training step (first rung)</h2>',
    costTable,
    '<h2>Final training: the separate models and the winner, full budget, every seed</h2>',
  ];
  return compareReportHtml(
    { ...result.final, ...(result.tunedStatic ? { tunedStatic: result.tunedStatic } : {}) },
    { title: options.title ?? 'multiloss compare --auto', ...(options.subtitle ? { subtitle: options.subtitle } : {}), before },
  );
}
