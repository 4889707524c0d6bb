/**
 * The charts of a training history: per-head loss and metric curves (train
 * and validation), the head weights the balancing method applied, the
 * learning rate, and gradient cosines and norms when recorded. Shared by the
 * HTML training report and the playground, which redraws them live from the
 * epoch logs as they arrive. Browser-safe: Vega-Lite specs only.
 */
import type { EpochLog, SplitLog } from '../training/history.js';
import { CHART_CONFIG, lineChart, type AxisDef, type ChartSpec, type Row } from './charts.js';

/** What the history charts need to know of a head (a fitted `Head` is one). */
export interface HistoryHead {
  readonly name: string;
  readonly kind: string;
  readonly loss: { readonly name: string };
}

/** A training history and what it belongs to. */
export interface HistoryChartInput {
  heads: readonly HistoryHead[];
  history: readonly EpochLog[];
  /** The balancing method's name (the head-weight chart's subtitle). */
  method: string;
  /** Separate single-head models: no head weights to compare. */
  separate?: boolean;
  /** The learning-rate schedule's kind (default 'constant'). */
  schedule?: string;
}

/** One chart with its caption. */
export interface Figure {
  /** What the chart shows (loss, metric, weights, …), for the page's structure and tests. */
  kind: string;
  head?: string;
  /** Caption, written as HTML text above the chart (the browser lays it out, unlike SVG text). */
  title: string;
  subtitle?: string;
  spec: ChartSpec;
}

/** A heading and its charts. */
export interface FigureGroup {
  heading?: string;
  figures: Figure[];
}

export const SPLITS = ['train', 'validation'];
export const SPLIT_RANGE = ['#1f77b4', '#ff7f0e'];
/** Train/validation colours; the panels carry no legend of their own (the section shows one key). */
const SPLIT_COLORS = { field: 'split', values: SPLITS, range: SPLIT_RANGE };
const PANEL = { width: 205, height: 150 };
const WIDE = { width: 420, height: 200 };

const METRIC_LABELS: Record<string, string> = {
  accuracy: 'accuracy',
  macro_f1: 'macro-F1',
  micro_f1: 'micro-F1',
  f1: 'F1',
  log_loss: 'log-loss',
  roc_auc: 'ROC AUC',
  rmse: 'RMSE',
  mae: 'MAE',
  r2: 'R²',
  poisson_deviance: 'Poisson deviance',
};

/**
 * A number for tables: 4 significant digits (whole numbers from 10 000 on),
 * very large or small ones in exponent form, non-finite as "–". `trim` drops
 * trailing zeros (for prose).
 */
export function formatNumber(v: number | undefined | null, trim = false): string {
  if (v === undefined || v === null || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  if (Math.abs(v) >= 1e7 || Math.abs(v) < 1e-3) return v.toExponential(2);
  if (Math.abs(v) >= 1e4) return v.toFixed(0);
  const s = v.toPrecision(4);
  return trim ? String(Number(s)) : s;
}

/** A metric's display name (macro_f1 → macro-F1). */
export const metricLabel = (name: string): string => METRIC_LABELS[name] ?? name.replace(/_/g, ' ');
export const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Log scale when every value is positive and they span more than a factor 30. */
function yAxis(title: string, values: readonly number[], extra: Partial<AxisDef> = {}): AxisDef {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const log = values.length > 1 && min > 0 && max / min > 30 && extra.domain === undefined;
  return { field: 'value', title: log ? `${title} (log scale)` : title, ...(log ? { scale: 'log' as const } : {}), ...extra };
}

/** A line chart over epochs with the report's look (legend on top, markers when there are few epochs). */
function epochChart(o: {
  rows: Row[];
  y: AxisDef;
  series?: { field: string; title?: string; values?: string[]; range?: string[] };
  epochs: number;
  width?: number;
  height?: number;
}): ChartSpec {
  const spec = lineChart({
    data: o.rows,
    x: { field: 'epoch', integer: true },
    y: o.y,
    series: o.series,
    legend: o.series !== undefined && o.series.field !== 'split',
    points: o.epochs <= 30,
    width: o.width ?? PANEL.width,
    height: o.height ?? PANEL.height,
  });
  return { ...spec, config: { ...CHART_CONFIG, legend: { ...CHART_CONFIG.legend, orient: 'top', direction: 'horizontal', labelLimit: 400, symbolSize: 60 } } };
}

function splits(e: EpochLog): [string, SplitLog][] {
  return e.validation ? [['train', e.train], ['validation', e.validation]] : [['train', e.train]];
}

/** Per-head loss curves and the total. */
export function lossFigures(v: HistoryChartInput): Figure[] {
  const history = v.history;
  const figures: Figure[] = [];
  const n = history.length;
  for (const h of v.heads) {
    const rows: Row[] = [];
    for (const e of history) for (const [split, log] of splits(e)) if (finite(log.heads[h.name]?.loss)) rows.push({ epoch: e.epoch, value: log.heads[h.name].loss, split });
    if (rows.length === 0) continue;
    figures.push({
      kind: 'loss',
      head: h.name,
      title: h.name,
      subtitle: `${h.kind} · ${h.loss.name} loss`,
      spec: epochChart({ rows, y: yAxis('loss', rows.map((r) => r.value as number)), series: SPLIT_COLORS, epochs: n }),
    });
  }
  const total: Row[] = [];
  for (const e of history) for (const [split, log] of splits(e)) if (finite(log.loss)) total.push({ epoch: e.epoch, value: log.loss, split });
  if (total.length) {
    // Gradient methods weigh gradients, not losses: their total is the plain sum (SplitLog.total).
    const sum = history.at(-1)?.train.total === 'sum';
    figures.push({
      kind: 'loss-total',
      title: sum ? 'total: sum of head losses' : 'total',
      subtitle: sum
        ? `Σ head loss, unweighted (${v.method} weighs the heads’ gradients, not their losses)`
        : 'train: the objective minimised (with the balancing method’s own terms, if any); validation: Σ weight × head loss',
      spec: epochChart({ rows: total, y: yAxis(sum ? 'sum of losses' : 'weighted loss', total.map((r) => r.value as number)), series: SPLIT_COLORS, epochs: n }),
    });
  }
  return figures;
}

/** Per head, one chart per metric. */
export function metricGroups(v: HistoryChartInput): FigureGroup[] {
  const history = v.history;
  const groups: FigureGroup[] = [];
  for (const h of v.heads) {
    const names: string[] = [];
    for (const e of history) for (const [, log] of splits(e)) for (const k of Object.keys(log.heads[h.name]?.metrics ?? {})) if (!names.includes(k)) names.push(k);
    const figures: Figure[] = [];
    for (const name of names) {
      const rows: Row[] = [];
      for (const e of history) {
        for (const [split, log] of splits(e)) {
          const value = log.heads[h.name]?.metrics[name];
          if (finite(value)) rows.push({ epoch: e.epoch, value, split });
        }
      }
      if (rows.length === 0) continue;
      figures.push({
        kind: 'metric',
        head: h.name,
        title: metricLabel(name),
        spec: epochChart({ rows, y: yAxis(metricLabel(name), rows.map((r) => r.value as number)), series: SPLIT_COLORS, epochs: history.length }),
      });
    }
    if (figures.length) groups.push({ heading: `${h.name} (${h.kind})`, figures });
  }
  return groups;
}

/** Whether the history records what a gradient method's updates did to each head (EpochLog.update). */
export function hasUpdateFigures(history: readonly EpochLog[]): boolean {
  return history.some((e) => e.update !== undefined);
}

/**
 * Gradient methods: each head's share of the update and the cosine between its gradient
 * and the update, per epoch (bounded: [0, 1] and [−1, 1]; see docs/balancing.md).
 */
function updateFigures(v: HistoryChartInput): Figure[] {
  const names = v.heads.map((h) => h.name);
  const share: Row[] = [];
  const cosine: Row[] = [];
  for (const e of v.history) {
    for (const name of names) {
      const u = e.update?.[name];
      if (u && finite(u.share)) share.push({ epoch: e.epoch, value: u.share, head: name });
      if (u && finite(u.cosine)) cosine.push({ epoch: e.epoch, value: u.cosine, head: name });
    }
  }
  const series = { field: 'head', values: names };
  const figures: Figure[] = [];
  if (share.length) {
    figures.push({
      kind: 'update-share',
      title: 'Share of the update',
      subtitle: `${v.method}: ‖cₜgₜ‖ / Σₛ‖cₛgₛ‖, each head's part of the applied update d = Σₜ cₜgₜ (0 to 1, summing to 1), mean per epoch`,
      spec: epochChart({ rows: share, y: { field: 'value', title: 'share of update', domain: [0, 1] }, series, epochs: v.history.length, ...WIDE }),
    });
  }
  if (cosine.length) {
    figures.push({
      kind: 'update-cosine',
      title: 'Alignment of the update with each head',
      subtitle: `${v.method}: cos(gₜ, d); below 0 the update raised that head's loss (to first order)`,
      spec: epochChart({ rows: cosine, y: { field: 'value', title: 'cos(head gradient, update)', domain: [-1, 1] }, series, epochs: v.history.length, ...WIDE }),
    });
  }
  return figures;
}

/** The head weights (joint models; gradient methods: what the update did to each head) and the learning rate. */
export function weightFigures(v: HistoryChartInput): Figure[] {
  const history = v.history;
  const names = v.heads.map((h) => h.name);
  const rows: Row[] = [];
  for (const e of history) for (const name of names) if (finite(e.train.heads[name]?.weight)) rows.push({ epoch: e.epoch, value: e.train.heads[name].weight, head: name });
  const figures: Figure[] = [];
  // Separate models have one head each: nothing to weigh against.
  if (!v.separate && hasUpdateFigures(history)) {
    figures.push(...updateFigures(v));
  } else if (rows.length && !v.separate) {
    const same = rows.every((r) => r.value === rows[0].value);
    // Log scale when one weight dwarfs the others (e.g. a gradient method's coefficients in files written before the update figures).
    const y = yAxis('weight', rows.map((r) => r.value as number));
    figures.push({
      kind: 'weights',
      title: 'Head weights',
      subtitle: `${v.method}: mean weight applied per epoch${same && names.length > 1 ? `; every head's weight is ${formatNumber(rows[0].value as number, true)} throughout, so the lines coincide` : ''}`,
      spec: epochChart({ rows, y: y.scale === 'log' ? y : { ...y, zero: true }, series: { field: 'head', values: names }, epochs: history.length, ...WIDE }),
    });
  }
  const lr: Row[] = history.filter((e) => finite(e.learningRate)).map((e) => ({ epoch: e.epoch, value: e.learningRate }));
  if (lr.length) {
    figures.push({
      kind: 'learning-rate',
      title: 'Learning rate',
      subtitle: `${v.schedule ?? 'constant'} schedule`,
      spec: epochChart({ rows: lr, y: { field: 'value', title: 'learning rate', zero: true }, epochs: history.length, ...WIDE }),
    });
  }
  return figures;
}

/** Gradient cosines between heads and gradient norms, when recorded. */
export function diagnosticFigures(v: HistoryChartInput): Figure[] {
  const history = v.history;
  const names = v.heads.map((h) => h.name);
  const withDiag = history.filter((e) => e.diagnostics);
  if (withDiag.length === 0) return [];
  const pairs: [string, string][] = [];
  names.forEach((a, i) => names.slice(i + 1).forEach((b) => pairs.push([a, b])));
  const pairName = ([a, b]: [string, string]) => `${a} ↔ ${b}`;
  const cosine: Row[] = [];
  const norms: Row[] = [];
  for (const e of withDiag) {
    const d = e.diagnostics as NonNullable<EpochLog['diagnostics']>;
    for (const p of pairs) {
      const v = d.cosine[p[0]]?.[p[1]];
      if (finite(v)) cosine.push({ epoch: e.epoch, value: v, pair: pairName(p) });
    }
    for (const name of names) if (finite(d.gradNorm[name])) norms.push({ epoch: e.epoch, value: d.gradNorm[name], head: name });
  }
  const figures: Figure[] = [];
  if (cosine.length) {
    figures.push({
      kind: 'cosine',
      title: 'Gradient cosine similarity',
      subtitle: 'per pair of heads, on the shared trunk; below 0 the heads pull in conflicting directions',
      spec: epochChart({ rows: cosine, y: { field: 'value', title: 'cosine', domain: [-1, 1] }, series: { field: 'pair', values: pairs.map(pairName) }, epochs: history.length, ...WIDE }),
    });
  }
  if (norms.length) {
    figures.push({
      kind: 'grad-norm',
      title: 'Gradient norm per head',
      subtitle: 'on the shared trunk',
      spec: epochChart({ rows: norms, y: yAxis('‖gradient‖', norms.map((r) => r.value as number)), series: { field: 'head', values: names }, epochs: history.length, ...WIDE }),
    });
  }
  return figures;
}
