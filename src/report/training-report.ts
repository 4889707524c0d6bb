/**
 * The training report: one self-contained HTML page (inline SVG charts and
 * inline CSS; no scripts, nothing fetched) describing a trained model — its
 * summary and final metrics, per-head loss and metric curves, the head
 * weights the balancing method applied, gradient diagnostics when recorded,
 * and, given a labelled validation table, a confusion matrix per
 * classification or binary head and predicted-versus-actual per regression
 * or count head. Browser-safe: returns a string; writing it is the caller's
 * business (see io/report-file.ts).
 */
import type { ResolvedConfig } from '../config/resolve.js';
import type { Table } from '../data/table.js';
import { describeBlock } from '../model/blocks.js';
import { MultilossError } from '../errors.js';
import { headFactory, type EncodedTargets, type Head, type HeadPrediction } from '../model/heads/index.js';
import { imageSize, labelTable, subsetImages, type ImageSet, type ImageStream } from '../data/images/dataset.js';
import { normalizeMissing } from '../data/missing.js';
import { predictImageOutputs } from '../model/images.js';
import { MAX_SAMPLES, sampleGridHtml, type ImageSample } from './image-samples.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import type { EpochLog, HeadLog, SplitLog } from '../training/history.js';
import { describeStop } from '../training/early-stopping.js';
import type { Row } from './charts.js';
import { diagnosticFigures, finite, formatNumber, hasUpdateFigures, lossFigures, metricGroups, metricLabel, SPLIT_RANGE, SPLITS, weightFigures, type Figure, type FigureGroup, type HistoryChartInput } from './history-charts.js';
import { heatmapChart } from './heatmap.js';
import { prefixIds, renderSvg } from './render.js';
import { scatterChart } from './scatter.js';

/**
 * What a report can describe: a joint model, or separate models (one
 * single-head `MultilossModel` per target, e.g. `SeparateModels`), whose
 * histories are then shown side by side.
 */
export type ReportableModel = MultilossModel | { readonly models: readonly MultilossModel[] };

/** Narrows a trained model to what `buildTrainingReport` accepts (a joint model or separate models). */
export function asReportable(model: object): ReportableModel {
  const m = model as Partial<MultilossModel> & { models?: unknown };
  if (Array.isArray(m.models) && m.models.length > 0) return model as ReportableModel;
  if (m.meta && Array.isArray(m.heads) && typeof m.predictOutputs === 'function' && typeof m.encode === 'function') return model as MultilossModel;
  throw new MultilossError('model', 'training report: not a trained multiloss model');
}

export interface TrainingReportData {
  /** Labelled rows the model did not train on: drawn as confusion matrices and predicted-vs-actual plots. */
  validation?: Table;
  /**
   * An image model's held-out images (labelled): drawn as confusion matrices
   * and predicted-vs-actual plots as `validation` rows are, and as a grid of
   * sample images with each head's prediction and the truth.
   */
  validationImages?: ImageSet | ImageStream;
  /** A name per validation image for the sample grid (file names); default: its 1-based position. */
  imageNames?: readonly string[];
  /** Page title (default "Training report"). */
  title?: string;
}

/** At most this many points per predicted-vs-actual plot (an even sample of the rows beyond it). */
export const MAX_SCATTER_POINTS = 2000;

export { formatNumber } from './history-charts.js';

import { escapeHtml } from './html.js';

export { escapeHtml } from './html.js';

interface Section {
  id: string;
  title: string;
  /** Plain text paragraphs (escaped when written). */
  intro?: string[];
  /** Show the train/validation colour key under the intro. */
  splitKey?: boolean;
  /** Groups of charts, each with an optional heading. */
  groups: FigureGroup[];
  /** Plain-text notes (why something is not shown). */
  notes?: string[];
  /** Ready HTML after the charts (the sample image grid). */
  html?: string;
}

/** The report's view of a joint model, or of separate models merged by epoch. */
interface View extends HistoryChartInput {
  separate: boolean;
  /** The joint model, or the separate single-head models. */
  parts: readonly MultilossModel[];
  heads: readonly Head[];
  history: EpochLog[];
  method: string;
  /** Final weight per head. */
  weights: number[];
  metrics: { train?: SplitLog; validation?: SplitLog };
  parameters: number;
  config: ResolvedConfig;
  libraryVersion: string;
  createdAt: string;
  /** How training ended, one line per model (empty for models saved without the record). */
  stops: string[];
}

/** Merges per-model split logs: every head's figures; the total only when every model has one. */
function mergeSplits(logs: readonly (SplitLog | undefined)[]): SplitLog | undefined {
  const present = logs.filter((l): l is SplitLog => l !== undefined);
  if (present.length === 0) return undefined;
  const heads: Record<string, HeadLog> = {};
  for (const l of present) Object.assign(heads, l.heads);
  return { loss: present.length === logs.length ? present.reduce((a, l) => a + l.loss, 0) : NaN, heads };
}

function viewOf(model: ReportableModel): View {
  if (!('models' in model)) {
    return {
      separate: false,
      parts: [model],
      heads: model.heads,
      history: model.meta.history,
      method: model.meta.balance.method,
      schedule: model.meta.config.training.schedule?.kind,
      weights: model.meta.balance.weights,
      metrics: model.meta.metrics,
      parameters: model.network.countParams(),
      config: model.meta.config,
      libraryVersion: model.meta.libraryVersion,
      createdAt: model.meta.createdAt,
      stops: model.meta.stop ? [describeStop(model.meta.stop)] : [],
    };
  }
  const parts = model.models;
  const epochs = Math.max(0, ...parts.map((m) => m.meta.history.length));
  const history: EpochLog[] = [];
  for (let i = 0; i < epochs; i++) {
    const logs = parts.map((m) => m.meta.history[i]);
    const first = logs.find((l) => l !== undefined) as EpochLog;
    const validation = mergeSplits(logs.map((l) => l?.validation));
    history.push({
      epoch: first.epoch,
      learningRate: first.learningRate,
      seconds: logs.reduce((a, l) => a + (l?.seconds ?? 0), 0),
      train: mergeSplits(logs.map((l) => l?.train)) as SplitLog,
      ...(validation ? { validation } : {}),
    });
  }
  const first = parts[0];
  return {
    separate: true,
    parts,
    heads: parts.flatMap((m) => m.heads),
    history,
    method: 'separate models',
    schedule: first.meta.config.training.schedule?.kind,
    weights: parts.flatMap((m) => m.meta.balance.weights),
    metrics: {
      train: mergeSplits(parts.map((m) => m.meta.metrics.train)),
      validation: mergeSplits(parts.map((m) => m.meta.metrics.validation)),
    },
    parameters: parts.reduce((a, m) => a + m.network.countParams(), 0),
    config: first.meta.config,
    libraryVersion: first.meta.libraryVersion,
    createdAt: first.meta.createdAt,
    stops: parts.flatMap((m) => (m.meta.stop ? [`${m.heads[0].name}: ${describeStop(m.meta.stop)}`] : [])),
  };
}

/** A part model's encoded targets and raw outputs on the held-out data (rows or images). */
interface HeldOut {
  n: number;
  targets: EncodedTargets[];
  outputs: Float32Array[];
}

/** Rows of a labelled table as a part model sees them. */
function heldOutRows(table: Table): (model: MultilossModel) => HeldOut {
  return (model) => {
    const encoded = model.encode(table);
    return { n: encoded.n, targets: encoded.targets, outputs: model.predictOutputs(table) };
  };
}

/** Labelled images as a part model sees them. */
function heldOutImages(images: ImageSet | ImageStream): (model: MultilossModel) => HeldOut {
  return (model) => {
    const table = normalizeMissing(labelTable(images), model.meta.missingValues);
    return { n: images.n, targets: model.heads.map((h) => h.encode(table)), outputs: predictImageOutputs(model, images) };
  };
}

/** Confusion matrices and predicted-vs-actual plots on labelled held-out data. */
function validationFigures(v: View, heldOut: (model: MultilossModel) => HeldOut, unit: string): { figures: Figure[]; notes: string[] } {
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const model of v.parts) {
    const { figures: f, notes: n } = modelValidationFigures(model, heldOut(model), unit);
    figures.push(...f);
    notes.push(...n);
  }
  return { figures, notes };
}

/** The head's metrics named by its kind's figure, over the labelled rows, as "RMSE 1.2 · R² 0.9". */
function figureStats(h: Head, names: readonly string[], yMetric: Float32Array, predicted: Float32Array, mask: Float32Array): string {
  const metrics = h.createMetrics();
  return names
    .flatMap((name) => {
      const metric = metrics.find((m) => m.name === name);
      if (!metric) return [];
      metric.update(yMetric, predicted, mask);
      return [`${metricLabel(name)} ${formatNumber(metric.result())}`];
    })
    .join(' · ');
}

function modelValidationFigures(model: MultilossModel, encoded: HeldOut, unit: string): { figures: Figure[]; notes: string[] } {
  const figures: Figure[] = [];
  const notes: string[] = [];
  const outputs = encoded.outputs;
  model.heads.forEach((h: Head, k) => {
    const { yMetric, mask } = encoded.targets[k];
    const labelled: number[] = [];
    for (let i = 0; i < encoded.n; i++) if (mask[i] > 0) labelled.push(i);
    if (labelled.length === 0) {
      notes.push(`${h.name}: no labelled ${unit} in the validation data.`);
      return;
    }
    // The kind's definition says which figure its heads get (built-in and registered kinds alike).
    const figure = headFactory(h.kind, `head "${h.name}"`).validationFigure;
    const predicted = h.toMetricSpace(outputs[k]);
    const stats = figure ? figureStats(h, figure.metrics, yMetric, predicted, mask) : '';
    const statsText = stats ? ` · ${stats}` : '';
    const classes = h.toJSON().classes ?? [];
    if (figure?.type === 'confusion' && classes.length > 0) {
      const K = classes.length;
      const counts = new Array<number>(K * K).fill(0);
      for (const i of labelled) counts[figure.classOf(yMetric, i, h, 'actual') * K + figure.classOf(predicted, i, h, 'predicted')]++;
      const rows: Row[] = [];
      for (let a = 0; a < K; a++) for (let p = 0; p < K; p++) rows.push({ actual: classes[a], predicted: classes[p], count: counts[a * K + p] });
      figures.push({
        kind: 'confusion',
        head: h.name,
        title: `${h.name}: confusion matrix`,
        subtitle: `${labelled.length} labelled ${unit}${statsText}`,
        spec: heatmapChart({
          data: rows,
          x: { field: 'predicted', values: classes },
          y: { field: 'actual', values: classes },
          value: 'count',
          valueTitle: unit,
          cellSize: K > 8 ? 28 : 52,
        }),
      });
    } else if (figure?.type === 'scatter' && h.units === 1) {
      const step = Math.max(1, labelled.length / MAX_SCATTER_POINTS);
      const rows: Row[] = [];
      for (let j = 0; j < labelled.length; j += step) {
        const i = labelled[Math.floor(j)];
        if (finite(yMetric[i]) && finite(predicted[i])) rows.push({ actual: yMetric[i], predicted: predicted[i] });
      }
      const shown = rows.length < labelled.length ? ` (${rows.length} shown)` : '';
      figures.push({
        kind: 'scatter',
        head: h.name,
        title: `${h.name}: predicted vs actual`,
        subtitle: `${labelled.length} labelled ${unit}${shown}${statsText}`,
        spec: scatterChart({
          data: rows,
          x: { field: 'actual', title: `actual ${h.spec.column}` },
          y: { field: 'predicted', title: `predicted ${h.spec.column}` },
          diagonal: true,
          width: 260,
          height: 260,
        }),
      });
    } else {
      notes.push(`${h.name}: ${h.kind} heads get no confusion matrix or scatter plot; see their metric curves.`);
    }
  });
  return { figures, notes };
}

/** The first `count` images with every head's decoded prediction and the truth from their labels. */
function imageSamples(v: View, images: ImageSet | ImageStream, names: readonly string[] | undefined, count: number): ImageSample[] {
  const first = subsetImages(images, Array.from({ length: count }, (_, i) => i));
  const d = imageSize(first.shape);
  const decoded = v.parts.flatMap((model) => {
    const outputs = predictImageOutputs(model, first);
    return model.heads.map((h, k) => ({ head: h, outputs: outputs[k] }));
  });
  return Array.from({ length: count }, (_, i) => ({
    pixels: first.x.subarray(i * d, (i + 1) * d),
    shape: first.shape,
    name: names?.[i] ?? `image ${i + 1}`,
    heads: decoded.map(({ head, outputs }) => {
      const truth = first.labels[head.spec.column]?.[i];
      return { head: head.name, predicted: predictionText(head.decode(outputs, i)), truth: truth === undefined || truth === null || truth === '' ? null : String(truth) };
    }),
  }));
}

/** A decoded prediction in a few characters: the label(s), or the number. */
function predictionText(p: HeadPrediction): string {
  if (typeof p === 'number') return formatNumber(p);
  return 'labels' in p ? p.labels.join(', ') || '(none)' : p.label;
}

function trunkText(config: ResolvedConfig): string {
  const blocks = config.trunk.map(describeBlock);
  return blocks.length ? blocks.join(' → ') : '(none: heads on the inputs)';
}

function summaryHtml(v: View, data: TrainingReportData): string {
  const history = v.history;
  const cfg = v.config;
  const preprocessor = v.parts[0].preprocessor;
  const features = preprocessor.features.map((f) => f.name);
  const seconds = history.reduce((s, e) => s + (finite(e.seconds) ? e.seconds : 0), 0);
  const opt = cfg.training.optimizer;
  const facts: [string, string][] = [
    ['heads', v.heads.map((h) => h.name).join(', ')],
    ['parameters', `${v.parameters.toLocaleString('en-US')}${v.separate ? ` in ${v.parts.length} separate models` : ''}`],
    ['balancing', v.separate ? 'none: one model per head, trained independently' : v.method],
    ['trunk', `${trunkText(cfg)}${v.separate ? ' (in each model)' : ''}`],
    ['features', `${features.length}: ${features.slice(0, 12).join(', ')}${features.length > 12 ? ', …' : ''} (${preprocessor.outputSize} inputs)`],
    ['training', `${history.length} of ${cfg.training.epochs} epochs · batch ${cfg.training.batchSize} · ${opt.name}, learning rate ${formatNumber(opt.learningRate, true)}, ${cfg.training.schedule?.kind ?? 'constant'} schedule · seed ${cfg.training.seed} · ${seconds.toFixed(1)} s`],
    ...v.stops.map((s): [string, string] => ['stopped', s]),
    ['validation', data.validation ? `${data.validation.length} rows, from ${data.validation.source}` : data.validationImages ? `${data.validationImages.n} images, from ${data.validationImages.source}` : history.some((e) => e.validation) ? 'in the history (no rows given to this report)' : 'none'],
    ['created', `${v.createdAt} · multiloss ${v.libraryVersion}`],
  ];
  const factRows = facts.map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n');

  // Gradient methods: what the last epoch's updates did to each head, instead of their raw coefficients.
  const lastUpdate = [...history].reverse().find((e) => e.update)?.update;
  const headRows = v.heads
    .map((h, k) => {
      const classes = h.toJSON().classes;
      const weight = v.weights[k];
      const out = classes?.length ? classes.join(', ') : `${h.units} value${h.units === 1 ? '' : 's'}`;
      const u = lastUpdate?.[h.name];
      const updateCells = lastUpdate ? [u?.share, u?.cosine, u?.relativeDecrease].map((x) => `<td class="num">${escapeHtml(formatNumber(x ?? NaN))}</td>`).join('') : '';
      return `<tr><td>${escapeHtml(h.name)}</td><td>${escapeHtml(h.kind)}</td><td>${escapeHtml(h.spec.column)}</td><td>${escapeHtml(h.loss.name)}</td><td>${escapeHtml(out)}</td><td class="num">${escapeHtml(formatNumber(weight, true))}</td>${updateCells}</tr>`;
    })
    .join('\n');

  // Final metrics: from the model (evaluated after training), else the last epoch.
  const last = history[history.length - 1];
  const train = v.metrics.train ?? last?.train;
  const validation = v.metrics.validation ?? last?.validation;
  const metricRows: string[] = [];
  for (const h of v.heads) {
    const names = ['loss', ...new Set([...Object.keys(train?.heads[h.name]?.metrics ?? {}), ...Object.keys(validation?.heads[h.name]?.metrics ?? {})])];
    names.forEach((name, j) => {
      const pick = (s: SplitLog | undefined) => (name === 'loss' ? s?.heads[h.name]?.loss : s?.heads[h.name]?.metrics[name]);
      const headCell = j === 0 ? `<th scope="rowgroup" rowspan="${names.length}">${escapeHtml(h.name)}</th>` : '';
      metricRows.push(
        `<tr${j === 0 ? ' class="first"' : ''}>${headCell}<td>${escapeHtml(metricLabel(name))}</td><td class="num">${escapeHtml(formatNumber(pick(train)))}</td>${validation ? `<td class="num">${escapeHtml(formatNumber(pick(validation)))}</td>` : ''}</tr>`,
      );
    });
  }
  return `<section id="summary">
<h2>Model</h2>
<div class="summary">
<div>
<table class="facts">
${factRows}
</table>
<h3>Heads</h3>
<table class="grid">
<thead><tr><th>head</th><th>kind</th><th>column</th><th>loss</th><th>output</th>${
    lastUpdate
      ? '<th title="the head’s weight in the total loss: gradient methods sum the losses unweighted">weight in total</th><th title="‖cₜgₜ‖ / Σₛ‖cₛgₛ‖, last epoch (0 to 1)">share of update</th><th title="cos(gₜ, d), last epoch (−1 to 1)">cos(gradient, update)</th><th title="gₜ·d / |gₜ·Σₛgₛ|, last epoch: 1 = as much as the plain sum">decrease vs sum</th>'
      : '<th>final weight</th>'
  }</tr></thead>
<tbody>
${headRows}
</tbody>
</table>
</div>
<div>
<h3>Final metrics</h3>
<table class="grid metrics">
<thead><tr><th>head</th><th>metric</th><th>train</th>${validation ? '<th>validation</th>' : ''}</tr></thead>
<tbody>
${metricRows.join('\n')}
</tbody>
</table>
</div>
</div>
</section>`;
}

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; background: #fafafa; }
header { border-bottom: 2px solid #ddd; margin-bottom: 16px; }
h1 { font-size: 24px; margin: 0 0 4px; }
header p { margin: 0 0 12px; color: #555; }
nav { margin: 0 0 8px; font-size: 13px; }
nav a { color: #1f5fa8; margin-right: 14px; text-decoration: none; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #e3e3e3; }
h3 { font-size: 15px; margin: 16px 0 6px; }
section > p, .note { color: #444; max-width: 70em; margin: 4px 0 8px; }
.note { font-style: italic; color: #666; }
.summary { display: flex; flex-wrap: wrap; gap: 16px 40px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
table.facts th { text-align: left; font-weight: 600; padding: 3px 14px 3px 0; vertical-align: top; white-space: nowrap; color: #444; }
table.facts td { padding: 3px 0; max-width: 44em; }
.summary h3:first-child { margin-top: 0; }
table.grid { margin-bottom: 8px; }
table.grid th, table.grid td { border: 1px solid #e0e0e0; padding: 3px 10px; text-align: left; }
table.grid thead th { background: #f0f0f0; font-weight: 600; }
table.grid td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.metrics tr.first > * { border-top: 2px solid #ccc; }
table.metrics th[scope=rowgroup] { vertical-align: top; background: #f7f7f7; }
.charts { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
figure.chart { margin: 0; padding: 8px; background: #fff; border: 1px solid #e3e3e3; border-radius: 4px; max-width: 100%; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
.samples { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 14px; }
figure.sample { margin: 0; padding: 6px; background: #fff; border: 1px solid #e3e3e3; border-radius: 4px; width: 150px; font-size: 12px; }
figure.sample svg { display: block; margin: 0 auto 4px; }
figure.sample figcaption { color: #666; overflow-wrap: anywhere; }
figure.sample ul { margin: 2px 0 0; padding: 0; list-style: none; }
figure.sample li.right::before { content: '✓ '; color: #2a7d2a; }
figure.sample li.wrong::before { content: '✗ '; color: #b22; }
figure.sample li span { color: #666; }
figcaption { margin: 0 0 6px; width: 0; min-width: 100%; } /* as wide as the chart, never wider */
figcaption b { display: block; font-size: 14px; }
figcaption span { display: block; font-size: 12px; color: #666; }
p.key { font-size: 13px; }
.swatch { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin: 0 6px 0 10px; }
.swatch.s0 { background: ${SPLIT_RANGE[0]}; }
.swatch.s1 { background: ${SPLIT_RANGE[1]}; }
footer { margin-top: 36px; font-size: 12px; color: #888; }
`;

/**
 * Renders the training report of a model as one self-contained HTML page.
 * With `data.validation` (labelled rows), also draws a confusion matrix per
 * classification/binary head and predicted-vs-actual per regression/count head.
 */
export async function buildTrainingReport(model: ReportableModel, data: TrainingReportData = {}): Promise<string> {
  const v = viewOf(asReportable(model));
  const history = v.history;
  const title = data.title ?? 'Training report';
  const sections: Section[] = [];
  const noHistory = history.length === 0 ? ['No epochs were recorded.'] : [];

  const hasValidation = history.some((e) => e.validation);
  sections.push({
    id: 'losses',
    title: 'Losses',
    intro: [`Each head's unweighted loss per epoch on the training rows${hasValidation ? ' and the validation rows' : ''}; the last chart is the total.`],
    splitKey: hasValidation,
    groups: [{ figures: lossFigures(v) }],
    notes: noHistory,
  });
  const metrics = metricGroups(v);
  sections.push({
    id: 'metrics',
    title: 'Metrics',
    intro: ['Each head’s metrics per epoch, in the target’s own units.'],
    splitKey: hasValidation,
    groups: metrics,
    notes: history.length && metrics.length === 0 ? ['No metrics were recorded.'] : noHistory,
  });
  sections.push({
    id: 'weights',
    title: !v.separate && hasUpdateFigures(history) ? 'What the updates did to each head' : 'Head weights',
    intro: [
      v.separate
        ? 'Each separate model has one head, so there are no head weights to balance; the learning rate follows the same schedule in every model.'
        : hasUpdateFigures(history)
          ? `${v.method} combines the heads' gradients gₜ into one update d = Σₜ cₜgₜ; its raw coefficients cₜ are not weights (a head with a tiny gradient gets a huge one). Shown instead, averaged over each epoch's steps: each head's share of the update and how well the update is aligned with the head's gradient; and the learning rate. docs/balancing.md defines the figures.`
          : `The weight the balancing method (${v.method}) applied to each head's loss, averaged over each epoch's steps, and the learning rate.`,
    ],
    groups: [{ figures: weightFigures(v) }],
    notes: noHistory,
  });
  const diagnostics = diagnosticFigures(v);
  sections.push({
    id: 'gradients',
    title: 'Gradient diagnostics',
    intro: diagnostics.length ? ['How the heads’ gradients on the shared trunk relate: similarity of direction between each pair of heads, and each head’s gradient size.'] : [],
    groups: [{ figures: diagnostics }],
    notes: diagnostics.length
      ? []
      : [v.separate ? 'Separate models share no trunk, so there are no gradients between heads to compare.' : 'Not recorded for this run (set training.diagnostics: true to record gradient norms and cosines).'],
  });
  if (data.validation) {
    const vf = validationFigures(v, heldOutRows(data.validation), 'rows');
    sections.push({
      id: 'predictions',
      title: 'Predictions on the validation data',
      intro: [`${data.validation.length} validation rows (${data.validation.source}): confusion matrices of the classification and binary heads (rows: actual class; columns: predicted) and predicted against actual values of the regression and count heads (dashed: perfect prediction).`],
      groups: [{ figures: vf.figures }],
      notes: vf.notes,
    });
  } else if (data.validationImages) {
    const images = data.validationImages;
    const vf = validationFigures(v, heldOutImages(images), 'images');
    const shown = Math.min(images.n, MAX_SAMPLES);
    sections.push({
      id: 'predictions',
      title: 'Predictions on the validation images',
      intro: [
        `${images.n} validation images of ${images.shape.join('×')} (${images.source}): confusion matrices of the classification and binary heads (rows: actual class; columns: predicted) and predicted against actual values of the regression and count heads (dashed: perfect prediction).`,
        `Below, ${shown === images.n ? `the ${shown}` : `the first ${shown} of the`} validation images with each head's prediction (and the truth, where the image has a label).`,
      ],
      groups: [{ figures: vf.figures }],
      notes: vf.notes,
      html: sampleGridHtml(imageSamples(v, images, data.imageNames, shown)),
    });
  } else {
    sections.push({
      id: 'predictions',
      title: 'Predictions',
      groups: [],
      notes: ['No validation data was given, so there are no confusion matrices or predicted-vs-actual plots.'],
    });
  }

  let chartNo = 0;
  const body: string[] = [];
  for (const s of sections) {
    const parts = [`<section id="${escapeHtml(s.id)}">`, `<h2>${escapeHtml(s.title)}</h2>`];
    for (const p of s.intro ?? []) parts.push(`<p>${escapeHtml(p)}</p>`);
    if (s.splitKey) parts.push(`<p class="key">${SPLITS.map((name, i) => `<span class="swatch s${i}"></span>${escapeHtml(name)}`).join(' ')}</p>`);
    for (const g of s.groups) {
      if (g.figures.length === 0) continue;
      if (g.heading) parts.push(`<h3>${escapeHtml(g.heading)}</h3>`);
      parts.push('<div class="charts">');
      for (const f of g.figures) {
        chartNo++;
        const svg = prefixIds(await renderSvg(f.spec), `c${chartNo}-`);
        const attrs = `class="chart" id="chart-${chartNo}" data-chart="${escapeHtml(f.kind)}"${f.head !== undefined ? ` data-head="${escapeHtml(f.head)}"` : ''}`;
        const caption = `<figcaption><b>${escapeHtml(f.title)}</b>${f.subtitle ? `<span>${escapeHtml(f.subtitle)}</span>` : ''}</figcaption>`;
        parts.push(`<figure ${attrs}>\n${caption}\n${svg}\n</figure>`);
      }
      parts.push('</div>');
    }
    if (s.html) parts.push(s.html);
    for (const n of s.notes ?? []) parts.push(`<p class="note">${escapeHtml(n)}</p>`);
    parts.push('</section>');
    body.push(parts.join('\n'));
  }
  const nav = [['summary', 'Model'], ...sections.map((s) => [s.id, s.title])].map(([id, t]) => `<a href="#${escapeHtml(id)}">${escapeHtml(t)}</a>`).join('');
  const subtitle = `${v.heads.length} heads · ${v.separate ? `${v.parts.length} separate models` : `${v.method} balancing`} · ${history.length} epochs · ${v.parameters.toLocaleString('en-US')} parameters`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="multiloss ${escapeHtml(v.libraryVersion)}">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(subtitle)}</p>
<nav>${nav}</nav>
</header>
<main>
${summaryHtml(v, data)}
${body.join('\n')}
</main>
<footer>Written by multiloss ${escapeHtml(v.libraryVersion)}. Self-contained: charts are inline SVG drawn with Vega-Lite; nothing is loaded from elsewhere.</footer>
</body>
</html>
`;
}
