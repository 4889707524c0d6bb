/**
 * Small typed builders of Vega-Lite specs for reports: a line chart of series
 * over x, a path chart (points joined in their order, not sorted by x, with
 * markers and grey background curves) and a grid of charts. They return plain
 * Vega-Lite specs with the data inline, to render with `renderSvg` or to
 * embed in a page with vega-embed, and to adjust by hand where needed.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Field } from 'vega-lite/types_unstable/channeldef.js';
import type { Config } from 'vega-lite/types_unstable/config.js';
import type { LayerSpec } from 'vega-lite/types_unstable/spec/layer.js';
import type { NonNormalizedSpec, TopLevel } from 'vega-lite/types_unstable/spec/index.js';
import type { UnitSpec } from 'vega-lite/types_unstable/spec/unit.js';

/** One data record: field name → value. */
export type Row = Readonly<Record<string, string | number | boolean | null>>;

/** A quantitative axis: the data field and how to show it. A plain string is the field (also the title). */
export interface AxisDef {
  field: string;
  /** Axis title (default: the field name). */
  title?: string;
  /** Scale type (default 'linear'). */
  scale?: 'linear' | 'log';
  /** Fixed [min, max]; marks outside are clipped. Default: fitted to the data. */
  domain?: readonly [number, number];
  /** Whether a fitted linear domain includes zero (default false). */
  zero?: boolean;
  /** Whole-number ticks only, labelled without decimals (epochs, counts). */
  integer?: boolean;
}
export type AxisRef = string | AxisDef;

/** A categorical field shown by colour or shape with a legend. A plain string is the field (also the legend title). */
export interface CategoryDef {
  field: string;
  /** Legend title (default: the field name). */
  title?: string;
  /** Order of the categories (default: as they first appear in the data). */
  values?: readonly string[];
  /** The colours or shape names to use, in the order of `values` (default: Vega's category palette / shapes). */
  range?: readonly string[];
}
export type CategoryRef = string | CategoryDef;

export interface ChartFrame {
  title?: string;
  /** One or more lines below the title. */
  subtitle?: string | readonly string[];
  /** Plot area in pixels (defaults 400 × 250 for line charts, 240 × 240 for path charts). */
  width?: number;
  height?: number;
  /** Show the legends (default true). */
  legend?: boolean;
}

export interface LineChartOptions extends ChartFrame {
  data: readonly Row[];
  x: AxisRef;
  y: AxisRef;
  /** One line per value of this field, coloured, with a legend. Omit for a single line. */
  series?: CategoryRef;
  /** Also mark the data points (default false). */
  points?: boolean;
}

export interface MarkerLayer {
  /** The marked points; rows carrying the chart's `series` field are coloured like their path. */
  data: readonly Row[];
  /** Field giving the marker shape (e.g. 'start' / 'end'), with a legend. Default: circles. */
  shape?: CategoryRef;
  /** Marker area in square pixels (default 50). */
  size?: number;
  /** Filled markers (default true). */
  filled?: boolean;
}

export interface CurveLayer {
  /** Points with the chart's x and y fields, in order along each curve. */
  data: readonly Row[];
  /** Field naming each curve (one polyline per value). Default: a single curve. */
  curve?: string;
  /** Stroke colour (default light grey). */
  color?: string;
  /** Stroke width in pixels (default 1). */
  strokeWidth?: number;
  /** Dash pattern, e.g. [4, 2]. */
  dash?: readonly number[];
}

export interface PathChartOptions extends ChartFrame {
  /** The path points, in order along each path (or see `order`). */
  data: readonly Row[];
  x: AxisRef;
  y: AxisRef;
  /** One path per value of this field, coloured, with a legend. Omit for a single path. */
  series?: CategoryRef;
  /** Field giving each point's position along its path. Default: the row order. */
  order?: string;
  /** Markers drawn over the paths (e.g. start and end points). */
  markers?: MarkerLayer;
  /** Curves drawn beneath the paths in a fixed colour (contour lines, a Pareto front, …), first one lowest. */
  curves?: readonly CurveLayer[];
  /** Path stroke width in pixels (default 1.5). */
  strokeWidth?: number;
  /** Axis grid lines (default true; turn off over contour lines). */
  grid?: boolean;
}

export interface GridOptions {
  title?: string;
  subtitle?: string | readonly string[];
  /** Charts per row (default 3). */
  columns?: number;
  /** The panels; their titles become panel titles, their configs are replaced by the grid's. */
  charts: readonly ChartSpec[];
}

/** What the builders return: a Vega-Lite layer spec with inline data. */
export type ChartSpec = TopLevel<LayerSpec<Field>>;
type Layer = LayerSpec<Field>['layer'][number];
type Encoding = NonNullable<UnitSpec<Field>['encoding']>;

/** The look shared by the builders' charts. */
export const CHART_CONFIG: Config = {
  font: 'Helvetica, Arial, sans-serif',
  title: { fontSize: 14, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555' },
  axis: { titleFontSize: 11, labelFontSize: 10, gridColor: '#eee', titleFontWeight: 'normal' },
  legend: { titleFontSize: 11, labelFontSize: 10 },
  header: { titleFontSize: 13, labelFontSize: 12 },
  view: { stroke: '#bbb' },
  concat: { spacing: 18 },
};

const ORDER_FIELD = '__order';

function axisDef(ref: AxisRef): AxisDef {
  return typeof ref === 'string' ? { field: ref } : ref;
}

function categoryDef(ref: CategoryRef): CategoryDef {
  return typeof ref === 'string' ? { field: ref } : ref;
}

function positional(ref: AxisRef, grid = true): Encoding['x'] {
  const a = axisDef(ref);
  return {
    field: a.field,
    type: 'quantitative',
    title: a.title ?? a.field,
    ...(grid && !a.integer ? {} : { axis: { ...(grid ? {} : { grid: false }), ...(a.integer ? { format: 'd', tickMinStep: 1 } : {}) } }),
    scale: {
      type: a.scale ?? 'linear',
      ...(a.scale === 'log' ? {} : { zero: a.zero ?? false }),
      ...(a.domain ? { domain: [a.domain[0], a.domain[1]], nice: false } : {}),
    },
  };
}

function category(
  ref: CategoryRef,
  legend: boolean,
): { field: string; type: 'nominal'; title: string; sort?: string[]; scale?: { domain?: string[]; range: string[] }; legend?: null } {
  const c = categoryDef(ref);
  return {
    field: c.field,
    type: 'nominal',
    title: c.title ?? c.field,
    ...(c.values ? { sort: [...c.values] } : {}),
    ...(c.range ? { scale: { ...(c.values ? { domain: [...c.values] } : {}), range: [...c.range] } } : {}),
    ...(legend ? {} : { legend: null }),
  };
}

function titleOf(frame: { title?: string; subtitle?: string | readonly string[] }): ChartSpec['title'] {
  if (frame.title === undefined) return undefined;
  if (frame.subtitle === undefined) return frame.title;
  return { text: frame.title, subtitle: typeof frame.subtitle === 'string' ? frame.subtitle : [...frame.subtitle] };
}

function values(rows: readonly Row[]): { values: Row[] } {
  return { values: rows as Row[] };
}

/** A line chart of one or more series over x (each line sorted by x). */
export function lineChart(opts: LineChartOptions): ChartSpec {
  const legend = opts.legend ?? true;
  const clip = axisDef(opts.x).domain !== undefined || axisDef(opts.y).domain !== undefined;
  const line: Layer = {
    mark: { type: 'line', point: opts.points ?? false, clip, strokeWidth: 1.5 },
    encoding: {
      x: positional(opts.x),
      y: positional(opts.y),
      ...(opts.series ? { color: category(opts.series, legend) } : {}),
    },
  };
  return {
    config: CHART_CONFIG,
    title: titleOf(opts),
    width: opts.width ?? 400,
    height: opts.height ?? 250,
    data: values(opts.data),
    layer: [line],
  };
}

/**
 * A chart of paths in the plane (e.g. optimisation trajectories): the points
 * of each series joined in their order, over optional grey background curves,
 * with optional markers on top. Curves and markers use the chart's x and y
 * field names.
 */
export function pathChart(opts: PathChartOptions): ChartSpec {
  const legend = opts.legend ?? true;
  const x = positional(opts.x, opts.grid);
  const y = positional(opts.y, opts.grid);
  const clip = axisDef(opts.x).domain !== undefined || axisDef(opts.y).domain !== undefined;
  const order = opts.order ?? ORDER_FIELD;
  const layers: Layer[] = [];
  for (const c of opts.curves ?? []) {
    layers.push({
      data: values(c.data.map((r, i) => ({ ...r, [ORDER_FIELD]: i }))),
      mark: {
        type: 'line',
        clip,
        aria: false, // no per-curve labels in the SVG: background only
        color: c.color ?? '#ccc',
        strokeWidth: c.strokeWidth ?? 1,
        ...(c.dash ? { strokeDash: [...c.dash] } : {}),
      },
      encoding: {
        x,
        y,
        order: { field: ORDER_FIELD, type: 'quantitative' },
        ...(c.curve ? { detail: { field: c.curve, type: 'nominal' } } : {}),
      },
    });
  }
  const pathRows = opts.order ? opts.data : opts.data.map((r, i) => ({ ...r, [ORDER_FIELD]: i }));
  layers.push({
    data: values(pathRows),
    mark: { type: 'line', clip, strokeWidth: opts.strokeWidth ?? 1.5 },
    encoding: {
      x,
      y,
      order: { field: order, type: 'quantitative' },
      ...(opts.series ? { color: category(opts.series, legend) } : {}),
    },
  });
  if (opts.markers) {
    const m = opts.markers;
    layers.push({
      data: values(m.data),
      mark: { type: 'point', clip, filled: m.filled ?? true, size: m.size ?? 50, opacity: 1, stroke: 'black', strokeWidth: 0.75 },
      encoding: {
        x,
        y,
        ...(opts.series ? { color: category(opts.series, legend) } : {}),
        ...(m.shape ? { shape: category(m.shape, legend) } : {}),
      },
    });
  }
  return {
    config: CHART_CONFIG,
    title: titleOf(opts),
    width: opts.width ?? 240,
    height: opts.height ?? 240,
    layer: layers,
  };
}

/**
 * Charts side by side, `columns` per row, sharing colour and shape scales (so
 * one legend serves all panels when they encode the same fields).
 */
export function gridChart(opts: GridOptions): TopLevelSpec {
  const panels: NonNormalizedSpec[] = opts.charts.map((c) => {
    const { config: _config, $schema: _schema, datasets: _datasets, usermeta: _usermeta, ...panel } = c;
    return panel;
  });
  return {
    config: CHART_CONFIG,
    title: titleOf(opts),
    columns: opts.columns ?? 3,
    concat: panels,
    resolve: { scale: { color: 'shared', shape: 'shared' }, legend: { color: 'shared', shape: 'shared' } },
  };
}
