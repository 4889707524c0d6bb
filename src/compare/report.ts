/**
 * The comparison as a text table (for the terminal) and as a self-contained
 * HTML page (the table plus a bar chart per head across methods and one of
 * Δm), rendered to inline SVG: no script, no network. Browser-safe.
 */
import { barChart } from '../report/bar-chart.js';
import { renderSvg } from '../report/render.js';
import type { CompareResult, CompareRow, SeedStat } from './compare.js';
import { SEPARATE } from './compare.js';
import { isDeltaMMonitor } from './delta-m.js';
import { DEFAULT_MONITOR, DEFAULT_PATIENCE } from '../training/early-stopping.js';

/** Decimals for a figure of this size: about 4 significant digits (0.9767, 12.35, 312.5, 4512). */
function decimals(v: number): number {
  if (!Number.isFinite(v) || v === 0) return 4;
  return Math.min(6, Math.max(0, 3 - Math.floor(Math.log10(Math.abs(v)))));
}

export function formatStat(s: SeedStat, digits = decimals(s.mean)): string {
  if (!Number.isFinite(s.mean)) return '–';
  return `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`;
}

function formatDelta(s: SeedStat): string {
  if (!Number.isFinite(s.mean)) return '–';
  const mean = Math.abs(s.mean) < 5e-3 ? '0.00' : `${s.mean > 0 ? '+' : ''}${s.mean.toFixed(2)}`;
  return `${mean} ± ${s.std.toFixed(2)}`;
}

export const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface TableCell {
  text: string;
  best: boolean;
}

/** A row's name in the table: 'separate models …' or 'joint …'. */
export function rowName(r: CompareRow): string {
  return r.approach === 'separate' ? `separate models${r.label.slice(SEPARATE.length)}` : `joint ${r.label}`;
}

/** ' (1/3 seeds failed)' after a row some of whose runs failed for good. */
function failedMark(result: CompareResult, label: string): string {
  const n = result.failed?.filter((f) => f.label === label).length ?? 0;
  return n === 0 ? '' : ` (${n}/${result.seeds.length} seeds failed)`;
}

/** The comparison table as cells: header, then one row per configuration; `best` marks the best of a column. */
export function compareTableCells(result: CompareResult): { header: string[]; rows: TableCell[][] } {
  const header = ['method', ...result.heads.map((h) => `${h.name} ${h.metric} ${h.higherIsBetter ? '↑' : '↓'}`), 'Δm % ↑', 'params ↓', 'time s ↓'];
  const rows = result.rows.map((r) => {
    const heads = result.heads.map((h) => {
      const s = r.heads[h.name];
      // Every row of a column shows the digits of the column's largest figure.
      const digits = decimals(Math.max(...result.rows.map((x) => Math.abs(x.heads[h.name].mean)).filter(Number.isFinite)));
      return { text: formatStat(s, digits), best: result.best.heads[h.name].includes(r.label) };
    });
    return [
      { text: `${rowName(r)}${failedMark(result, r.label)}`, best: false },
      ...heads,
      { text: formatDelta(r.deltaM), best: result.best.deltaM.includes(r.label) },
      { text: String(r.parameters), best: result.best.parameters.includes(r.label) },
      { text: r.seconds.mean.toFixed(1), best: result.best.seconds.includes(r.label) },
    ];
  });
  return { header, rows };
}

/** The table as aligned text; the best value of each column is marked with `*`. */
export function formatCompareTable(result: CompareResult): string {
  const { header, rows } = compareTableCells(result);
  const text = rows.map((r) => r.map((c, i) => (i === 0 ? c.text : `${c.text}${c.best ? ' *' : '  '}`)));
  return alignedText(header, text);
}

/** Which data the table shows: "Metrics on test data FILE (N rows)", "… on the validation split of FILE (N rows)" or "… on validation data FILE (N rows)". */
export function metricsDataLine(result: CompareResult): string {
  const m = result.metricsData;
  if (!m) return `Metrics on the validation data (${result.split.validation} rows)`;
  const what = m.data === 'test' ? `test data ${m.source}` : m.split ? `the validation split of ${m.source}` : `validation data ${m.source}`;
  return `Metrics on ${what} (${m.rows} rows)`;
}

/** The notes under the table: what the figures are. */
export function compareNotes(result: CompareResult): string[] {
  const es = result.earlyStopping;
  const stopping = !es
    ? []
    : isDeltaMMonitor(es.monitor)
      ? [
          `Early stopping on Δm (patience ${es.patience ?? 10}${es.minDelta ? `, min delta ${es.minDelta} points` : ''}): each joint run stops once the Δm of its epoch's validation metrics against the separate models' mean has not improved for that many epochs${(es.restoreBest ?? true) ? ', and its figures are those of its best epoch (weights restored)' : ''}; each separate model stops on its own head's metric. Epochs per run (separate: summed over its models): ${result.rows.map((r) => `${r.label} ${r.epochs.toFixed(1)}`).join(', ')}.`,
        ]
      : [
          `Early stopping on ${es.monitor ?? DEFAULT_MONITOR} (patience ${es.patience ?? DEFAULT_PATIENCE}${(es.restoreBest ?? true) ? ', best epoch restored' : ''}). Epochs per run (separate: summed over its models): ${result.rows.map((r) => `${r.label} ${r.epochs.toFixed(1)}`).join(', ')}.`,
        ];
  const failed = (result.failed ?? []).map((f) => `Failed: ${rowName(result.rows.find((r) => r.label === f.label) ?? { label: f.label, approach: 'joint' } as CompareRow)}, seed ${f.seed} (run ${f.key}, ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}): ${f.error}`);
  return [
    ...failed,
    ...tunedStaticNote(result),
    `${metricsDataLine(result)} after ${es ? 'at most ' : ''}${result.epochs} epochs, mean ± std over seeds ${result.seeds.join(', ')}; the same split for every run (seed ${result.split.seed}: ${result.split.train} training, ${result.split.validation} validation rows)${result.metricsData?.data === 'test' ? ', validation driving early stopping' : ''}.`,
    ...stopping,
    "Δm: mean over heads of the relative change of the head's metric against the separate models, sign-corrected so that higher is better (Δm = (1/T) Σ (−1)^l (M − M_sep) / M_sep × 100%, l = 1 when lower is better); ± is over seeds.",
    '* / bold: best in its column (ties all marked). Time: mean wall-clock seconds per run (after an untimed one-epoch warm-up per thread), with the runs sharing the cores.',
  ];
}

const weightText = (w: Record<string, number>) =>
  Object.entries(w)
    .map(([h, v]) => `${h} ${v}`)
    .join(', ');

/** The note on the tuned-static row: its weights and how they were chosen. */
function tunedStaticNote(result: CompareResult): string[] {
  const t = result.tunedStatic;
  if (!t) return [];
  const chosen = t.trials[t.chosen];
  return [
    `tuned-static: static weights ${weightText(t.weights)}, the best validation Δm (${chosen.deltaM.toFixed(2)} %) of ${t.trials.length} weight vectors (equal weights, then seeded draws from the simplex), each trained once with seed ${t.seed} for ${t.epochs} epochs${result.metricsData?.data === 'test' ? '' : '; chosen on the validation rows the table reports, so its row is a little optimistic'}.`,
  ];
}

/** The tuned-static search as cells: one row per weight vector tried (the chosen one marked). */
export function tunedStaticTrialCells(result: CompareResult): { header: string[]; rows: string[][] } | undefined {
  const t = result.tunedStatic;
  if (!t) return undefined;
  const header = ['trial', ...result.heads.map((h) => `w ${h.name}`), ...result.heads.map((h) => `${h.name} ${h.metric}`), 'Δm % ↑', 'epochs'];
  const rows = t.trials.map((trial, i) => [
    `${i + 1}${i === t.chosen ? ' (chosen)' : ''}`,
    ...result.heads.map((h) => String(trial.weights[h.name])),
    ...result.heads.map((h) => (Number.isFinite(trial.heads[h.name]) ? trial.heads[h.name].toFixed(decimals(trial.heads[h.name])) : '–')),
    Number.isFinite(trial.deltaM) ? trial.deltaM.toFixed(2) : 'failed',
    Number.isFinite(trial.epochs) ? String(trial.epochs) : '–',
  ]);
  return { header, rows };
}

/** Cells as aligned text (first column left, the rest right). */
export function alignedText(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The tuned-static trials as text (undefined without the row). */
export function formatTunedStaticTrials(result: CompareResult): string | undefined {
  const cells = tunedStaticTrialCells(result);
  return cells ? `tuned-static search (validation Δm of each weight vector):\n${alignedText(cells.header, cells.rows)}` : undefined;
}

/** An HTML table of plain cells (first column as row headers). */
export function htmlTable(header: readonly string[], rows: readonly (readonly string[])[], className?: string): string {
  return [
    `<table${className ? ` class="${className}"` : ''}>`,
    `<thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}

/**
 * What each gradient method's updates did to each head, side by side: per head its share of
 * the update (0 to 1), cos(gradient, update) (−1 to 1) and its first-order decrease relative to
 * the plain sum of gradients, mean ± std over seeds (docs/balancing.md). Undefined when no
 * row records them (only loss-based methods and separate models).
 */
export function updateTableCells(result: CompareResult): { header: string[]; rows: string[][] } | undefined {
  const rows = result.rows.filter((r) => r.update !== undefined);
  if (rows.length === 0) return undefined;
  const header = ['method', ...result.heads.flatMap((h) => [`${h.name} share`, `${h.name} cos`, `${h.name} vs sum`])];
  return {
    header,
    rows: rows.map((r) => [
      `joint ${r.label}`,
      ...result.heads.flatMap((h) => {
        const u = r.update?.[h.name];
        return u ? [formatStat(u.share, 2), formatStat(u.cosine, 2), formatStat(u.relativeDecrease, 2)] : ['–', '–', '–'];
      }),
    ]),
  };
}

export interface CompareReportOptions {
  title?: string;
  /** A line under the title (e.g. the data file and the command). */
  subtitle?: string;
  /** HTML sections put before the table (e.g. how `compare --auto` chose the row shown). */
  before?: string[];
}

/** A self-contained HTML page with the table, a bar chart per head across methods and one of Δm. */
export async function compareReportHtml(result: CompareResult, options: CompareReportOptions = {}): Promise<string> {
  const title = options.title ?? 'multiloss compare';
  const { header, rows } = compareTableCells(result);
  const labels = result.rows.map((r) => (r.label === SEPARATE ? SEPARATE : r.label));
  const kind = (label: string) => (label === SEPARATE ? 'separate models' : 'joint model');
  const colors = { field: 'approach', title: 'approach', values: ['separate models', 'joint model'], range: ['#f58518', '#4c78a8'] };
  const charts: string[] = [];
  for (const h of result.heads) {
    const sep = result.rows.find((r) => r.label === SEPARATE)?.heads[h.name].mean;
    const spec = barChart({
      title: `${h.name}: ${h.metric} (${h.higherIsBetter ? 'higher' : 'lower'} is better)`,
      subtitle: `mean ± std over ${result.seeds.length} seed${result.seeds.length > 1 ? 's' : ''}; dashed: separate models`,
      data: result.rows.map((r, i) => ({ method: labels[i], approach: kind(r.label), value: r.heads[h.name].mean, std: r.heads[h.name].std })),
      category: 'method',
      value: { field: 'value', title: h.metric },
      error: 'std',
      color: colors,
      legend: false,
      ...(sep !== undefined && Number.isFinite(sep) ? { rule: { value: sep, color: '#f58518', dash: [4, 3] } } : {}),
    });
    charts.push(await renderSvg(spec));
  }
  charts.push(
    await renderSvg(
      barChart({
        title: 'Δm against the separate models (%, higher is better)',
        subtitle: `mean ± std over ${result.seeds.length} seed${result.seeds.length > 1 ? 's' : ''}`,
        data: result.rows.map((r, i) => ({ method: labels[i], approach: kind(r.label), value: r.deltaM.mean, std: r.deltaM.std })),
        category: 'method',
        value: { field: 'value', title: 'Δm %' },
        error: 'std',
        color: colors,
        rule: { value: 0 },
      }),
    ),
  );
  const table = [
    '<table>',
    `<thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map(
      (r) =>
        `<tr>${r.map((c, i) => (i === 0 ? `<th>${escapeHtml(c.text)}</th>` : `<td${c.best ? ' class="best"' : ''}>${escapeHtml(c.text)}${c.best ? ' ★' : ''}</td>`)).join('')}</tr>`,
    ),
    '</tbody>',
    '</table>',
  ].join('\n');
  const updates = updateTableCells(result);
  const updateTable = updates
    ? [
        '<h2>What each gradient method’s updates did to each head</h2>',
        '<p class="sub">Mean over each run’s epochs, then mean ± std over seeds. share: the head’s part of the update, ‖cₜgₜ‖ / Σₛ‖cₛgₛ‖ (0 to 1; the heads’ shares sum to 1). cos: cos(gₜ, d) between the head’s gradient and the update (−1 to 1; below 0 the update raised the head’s loss). vs sum: gₜ·d / |gₜ·Σₛgₛ|, the first-order decrease of the head’s loss relative to the plain sum of gradients’ (1: as much). The raw coefficients cₜ are not weights: a head with a tiny gradient gets a huge one.</p>',
        '<table class="update">',
        `<thead><tr>${updates.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
        '<tbody>',
        ...updates.rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`),
        '</tbody>',
        '</table>',
      ].join('\n')
    : '';
  const trials = tunedStaticTrialCells(result);
  const tunedTable = trials
    ? [
        '<h2>tuned-static: the weight vectors tried</h2>',
        `<p class="sub">Each trained once with seed ${result.tunedStatic?.seed} for ${result.tunedStatic?.epochs} epochs; chosen: the highest validation Δm against the separate models (ties: the earlier trial).</p>`,
        htmlTable(trials.header, trials.rows, 'trials'),
      ].join('\n')
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; margin-bottom: 4px; }
h2 { font-size: 16px; margin: 24px 0 4px; }
p.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 16px 0; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
thead th { border-bottom: 2px solid #888; }
tbody th, thead th:first-child { text-align: left; }
tbody th { font-weight: normal; }
td.best { font-weight: bold; background: #eef6ee; }
ul.notes { color: #555; font-size: 12px; max-width: 60em; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
.chart { flex: none; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${options.subtitle ? `<p class="sub">${escapeHtml(options.subtitle)}</p>` : ''}
${(options.before ?? []).join('\n')}
<p class="sub">${escapeHtml(metricsDataLine(result))}</p>
${table}
<ul class="notes">
${compareNotes(result)
  .map((n) => `<li>${escapeHtml(n)}</li>`)
  .join('\n')}
</ul>
<div class="charts">
${charts.map((svg) => `<div class="chart">${svg}</div>`).join('\n')}
</div>
${updateTable}
${tunedTable}
</body>
</html>
`;
}
