/**
 * A scatter chart builder, with an optional y = x reference line for
 * predicted-versus-actual plots (then both axes share one domain).
 */
import type { AxisDef, AxisRef, CategoryRef, ChartFrame, ChartSpec, Row } from './charts.js';
import { CHART_CONFIG } from './charts.js';

export interface ScatterChartOptions extends ChartFrame {
  data: readonly Row[];
  x: AxisRef;
  y: AxisRef;
  /** Colour the points by this field, with a legend. */
  series?: CategoryRef;
  /** Draw the line y = x and give both axes the same domain (default false). */
  diagonal?: boolean;
  /** Point area in square pixels (default 20). */
  size?: number;
  /** Point opacity (default 0.6). */
  opacity?: number;
}

function axisDef(ref: AxisRef): AxisDef {
  return typeof ref === 'string' ? { field: ref } : ref;
}

/** [min, max] of the finite values of some fields over the rows, widened by 3% on each side. */
function paddedRange(rows: readonly Row[], fields: readonly string[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    for (const f of fields) {
      const v = r[f];
      if (typeof v === 'number' && Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  if (!Number.isFinite(lo)) return [0, 1];
  const pad = (hi - lo || Math.abs(hi) || 1) * 0.03;
  return [lo - pad, hi + pad];
}

/** A scatter plot of the rows; with `diagonal`, over the line y = x on a shared square domain. */
export function scatterChart(opts: ScatterChartOptions): ChartSpec {
  const x = axisDef(opts.x);
  const y = axisDef(opts.y);
  const domain = opts.diagonal ? paddedRange(opts.data, [x.field, y.field]) : undefined;
  const positional = (a: AxisDef) => ({
    field: a.field,
    type: 'quantitative' as const,
    title: a.title ?? a.field,
    scale: {
      type: a.scale ?? 'linear',
      ...(a.scale === 'log' ? {} : { zero: a.zero ?? false }),
      ...(a.domain || domain ? { domain: [...(a.domain ?? (domain as [number, number]))], nice: false } : {}),
    },
  });
  const legend = opts.legend ?? true;
  const series = typeof opts.series === 'string' ? { field: opts.series } : opts.series;
  const layers: ChartSpec['layer'] = [];
  if (domain) {
    layers.push({
      data: {
        values: [
          { [x.field]: domain[0], [y.field]: domain[0] },
          { [x.field]: domain[1], [y.field]: domain[1] },
        ],
      },
      mark: { type: 'line', color: '#999', strokeDash: [4, 3], strokeWidth: 1, clip: true },
      encoding: { x: positional(x), y: positional(y) },
    });
  }
  layers.push({
    data: { values: opts.data as Row[] },
    mark: { type: 'point', filled: true, size: opts.size ?? 20, opacity: opts.opacity ?? 0.6, clip: true },
    encoding: {
      x: positional(x),
      y: positional(y),
      ...(series
        ? {
            color: {
              field: series.field,
              type: 'nominal',
              title: series.title ?? series.field,
              ...(series.values ? { sort: [...series.values] } : {}),
              ...(series.range ? { scale: { ...(series.values ? { domain: [...series.values] } : {}), range: [...series.range] } } : {}),
              ...(legend ? {} : { legend: null }),
            },
          }
        : {}),
    },
  });
  return {
    config: CHART_CONFIG,
    title: opts.title === undefined ? undefined : opts.subtitle === undefined ? opts.title : { text: opts.title, subtitle: typeof opts.subtitle === 'string' ? opts.subtitle : [...opts.subtitle] },
    width: opts.width ?? 260,
    height: opts.height ?? 260,
    layer: layers,
  };
}
