import type { HeadPrediction } from '../model/heads/head.js';
import type { Head } from '../model/heads/index.js';
import type { ModelInfo, Prediction } from '../model/multiloss-model.js';
import type { SeparateModelInfo } from '../model/separate-models.js';
import { describeStop, type TrainingStop } from '../training/early-stopping.js';
import type { SplitLog } from '../training/history.js';

/** A number for a table cell: 4 significant decimals, NaN as "–". */
export function fmt(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  if (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0)) return v.toExponential(3);
  return v.toFixed(4);
}

/** Plain-text table with aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // Numbers right-aligned, text left-aligned.
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === undefined || r[i] === '' || r[i] === '–' || !Number.isNaN(Number(r[i]))));
  const line = (cells: string[]) => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** One row per head and metric: head, kind, loss, then each metric. */
export function metricsTable(split: SplitLog, heads: readonly Head[], labelled?: Record<string, number>): string {
  const rows: string[][] = [];
  for (const h of heads) {
    const log = split.heads[h.name];
    const metrics = Object.entries(log.metrics).map(([k, v]) => `${k}=${fmt(v)}`).join(' ');
    rows.push([h.name, h.kind, ...(labelled ? [String(labelled[h.name] ?? 0)] : []), fmt(log.loss), metrics]);
  }
  return table(['head', 'kind', ...(labelled ? ['labelled'] : []), 'loss', 'metrics'], rows);
}

/** Column names of the CSV prediction output, in order. */
export function predictionColumns(heads: readonly Head[]): string[] {
  const cols: string[] = [];
  for (const h of heads) {
    const classes = h.toJSON().classes;
    if (h.kind === 'classification' || h.kind === 'binary' || h.kind === 'multilabel') {
      cols.push(h.name, ...(classes ?? []).map((c) => `${h.name}:p:${c}`));
    } else {
      cols.push(h.name);
    }
  }
  return cols;
}

/** The type of each of `predictionColumns`, from the heads: labels are text, probabilities and numeric predictions numbers. */
export function predictionColumnTypes(heads: readonly Head[]): ('label' | 'number')[] {
  return heads.flatMap((h): ('label' | 'number')[] =>
    h.kind === 'classification' || h.kind === 'binary' || h.kind === 'multilabel' ? ['label', ...(h.toJSON().classes ?? []).map((): 'number' => 'number')] : ['number'],
  );
}

/** Flattens one prediction into CSV cells matching `predictionColumns`. */
export function predictionCells(p: Prediction, heads: readonly Head[]): (string | number)[] {
  const cells: (string | number)[] = [];
  for (const h of heads) {
    const v: HeadPrediction = p[h.name];
    if (typeof v === 'number') {
      cells.push(v);
    } else {
      cells.push('labels' in v ? v.labels.join(h.spec.separator ?? '|') : v.label);
      for (const c of h.toJSON().classes ?? []) cells.push(v.probabilities[c]);
    }
  }
  return cells;
}

/** RFC 4180 quoting for one CSV field. */
export function csvField(v: string | number | boolean | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** How training ended, one line per model: "stopped  patience exhausted at epoch 24 …" (none for models saved without it). */
export function stopLines(info: ModelInfo | SeparateModelInfo): string[] {
  if (info.approach === 'separate' && 'models' in info) {
    return info.models.filter((m) => m.stop).map((m) => `stopped      head "${m.head}": ${describeStop(m.stop as TrainingStop)}`);
  }
  return info.stop ? [`stopped      ${describeStop(info.stop)}`] : [];
}
