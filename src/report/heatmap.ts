/**
 * A heatmap builder (e.g. a confusion matrix): categorical x and y, one cell
 * per pair coloured by a number, with the number printed in the cell.
 */
import type { ColorScheme } from 'vega';
import type { ChartFrame, ChartSpec, Row } from './charts.js';
import { CHART_CONFIG } from './charts.js';

/** A categorical axis of a heatmap: the field and the order of its categories. */
export interface BandAxisDef {
  field: string;
  /** Axis title (default: the field name). */
  title?: string;
  /** Order of the categories (default: as they first appear in the data). */
  values?: readonly string[];
}

export interface HeatmapOptions extends ChartFrame {
  /** One row per cell. */
  data: readonly Row[];
  x: string | BandAxisDef;
  y: string | BandAxisDef;
  /** The numeric field that colours each cell. */
  value: string;
  /** Colour legend title (default: the value field). */
  valueTitle?: string;
  /** Vega colour scheme (default 'blues'). */
  scheme?: ColorScheme;
  /** Print each cell's value in it (default true). */
  labels?: boolean;
  /** Side of a cell in pixels when width/height are not given (default 44). */
  cellSize?: number;
}

function band(ref: string | BandAxisDef): BandAxisDef {
  return typeof ref === 'string' ? { field: ref } : ref;
}

function distinct(rows: readonly Row[], field: string): string[] {
  return [...new Set(rows.map((r) => String(r[field])))];
}

/** A heatmap of `value` over the categories of x and y, with the values printed in the cells. */
export function heatmapChart(opts: HeatmapOptions): ChartSpec {
  const x = band(opts.x);
  const y = band(opts.y);
  const xs = x.values ? [...x.values] : distinct(opts.data, x.field);
  const ys = y.values ? [...y.values] : distinct(opts.data, y.field);
  const cell = opts.cellSize ?? 44;
  const max = Math.max(0, ...opts.data.map((r) => Number(r[opts.value])).filter(Number.isFinite));
  const longLabels = xs.some((v) => v.length > 6) && xs.length > 3;
  const enc = {
    x: { field: x.field, type: 'nominal' as const, title: x.title ?? x.field, sort: xs, scale: { domain: xs }, axis: { labelAngle: longLabels ? -40 : 0 } },
    y: { field: y.field, type: 'nominal' as const, title: y.title ?? y.field, sort: ys, scale: { domain: ys } },
  };
  const valueRef = `datum[${JSON.stringify(opts.value)}]`;
  return {
    config: CHART_CONFIG,
    title: opts.title === undefined ? undefined : opts.subtitle === undefined ? opts.title : { text: opts.title, subtitle: typeof opts.subtitle === 'string' ? opts.subtitle : [...opts.subtitle] },
    width: opts.width ?? cell * xs.length,
    height: opts.height ?? cell * ys.length,
    data: { values: opts.data as Row[] },
    layer: [
      {
        mark: { type: 'rect', stroke: '#fff', strokeWidth: 1 },
        encoding: {
          ...enc,
          color: {
            field: opts.value,
            type: 'quantitative',
            title: opts.valueTitle ?? opts.value,
            scale: { scheme: opts.scheme ?? 'blues', domain: [0, max > 0 ? max : 1] },
            ...(opts.legend === false ? { legend: null } : {}),
          },
        },
      },
      ...(opts.labels === false
        ? []
        : [
            {
              mark: { type: 'text' as const, fontSize: 12 },
              encoding: {
                ...enc,
                text: { field: opts.value, type: 'quantitative' as const },
                // Light text on the dark half of the scale.
                color: { condition: { test: `${valueRef} > ${max / 2}`, value: 'white' }, value: 'black' },
              },
            },
          ]),
    ],
  };
}
