/**
 * A bar chart builder: one bar per category (in the data's order), with
 * optional error bars (value ± error), a colour field, a horizontal reference
 * rule and value labels. Returns a Vega-Lite spec with the data inline, like
 * the builders of charts.ts.
 */
import type { ChartFrame, ChartSpec, Row } from './charts.js';
import { CHART_CONFIG } from './charts.js';

export interface BarChartOptions extends ChartFrame {
  data: readonly Row[];
  /** The category field: one bar per row, in the data's order. */
  category: string | { field: string; title?: string };
  /** The bar height field. `zero: false` fits the axis to the values (bars are then clipped at the axis' bottom). */
  value: string | { field: string; title?: string; zero?: boolean };
  /** Field holding each bar's error (a ± half-width, e.g. a standard deviation): drawn as an error bar. */
  error?: string;
  /** Colour the bars by this field (e.g. marking a reference row); default: one colour. */
  color?: string | { field: string; title?: string; values?: readonly string[]; range?: readonly string[] };
  /** A horizontal rule at this value (e.g. 0, or the reference's value). */
  rule?: { value: number; color?: string; dash?: readonly number[] };
  /** Print the value above each bar with this d3 format (e.g. '.3f'); default: no labels. */
  labelFormat?: string;
}

const LO = '__lo';
const HI = '__hi';

/** A bar chart of one value per category (see the module comment). */
export function barChart(opts: BarChartOptions): ChartSpec {
  const cat = typeof opts.category === 'string' ? { field: opts.category } : opts.category;
  const val = typeof opts.value === 'string' ? { field: opts.value } : opts.value;
  const order = [...new Set(opts.data.map((r) => String(r[cat.field])))];
  const rows: Row[] = opts.data.map((r) => {
    if (!opts.error) return r;
    const v = Number(r[val.field]);
    const e = Number(r[opts.error]);
    return { ...r, [LO]: Number.isFinite(e) ? v - e : v, [HI]: Number.isFinite(e) ? v + e : v };
  });
  const x = { field: cat.field, type: 'nominal' as const, title: cat.title ?? cat.field, sort: order, axis: { labelAngle: -35 } };
  const zero = val.zero ?? true;
  const y = { field: val.field, type: 'quantitative' as const, title: val.title ?? val.field, scale: { zero }, ...(zero ? {} : { stack: null }) };
  const color = typeof opts.color === 'string' ? { field: opts.color } : opts.color;
  const legend = opts.legend ?? true;
  const layers: ChartSpec['layer'] = [
    {
      mark: { type: 'bar', clip: !zero, ...(color ? {} : { color: '#4c78a8' }) },
      encoding: {
        x,
        y,
        ...(color
          ? {
              color: {
                field: color.field,
                type: 'nominal',
                title: color.title ?? color.field,
                ...(color.values || color.range
                  ? { scale: { ...(color.values ? { domain: [...color.values] } : {}), ...(color.range ? { range: [...color.range] } : {}) } }
                  : {}),
                ...(legend ? {} : { legend: null }),
              },
            }
          : {}),
      },
    },
  ];
  if (opts.error) {
    layers.push({
      mark: { type: 'rule', color: '#333', strokeWidth: 1.25 },
      encoding: { x, y: { field: LO, type: 'quantitative', title: y.title, scale: y.scale }, y2: { field: HI } },
    });
  }
  if (opts.labelFormat) {
    layers.push({
      mark: { type: 'text', dy: -6, fontSize: 9, color: '#333' },
      encoding: {
        x,
        y: opts.error ? { field: HI, type: 'quantitative', title: y.title, scale: y.scale } : y,
        text: { field: val.field, type: 'quantitative', format: opts.labelFormat },
      },
    });
  }
  if (opts.rule) {
    layers.push({
      data: { values: [{ __rule: opts.rule.value }] },
      mark: { type: 'rule', color: opts.rule.color ?? '#888', strokeWidth: 1, ...(opts.rule.dash ? { strokeDash: [...opts.rule.dash] } : {}) },
      encoding: { y: { field: '__rule', type: 'quantitative', title: y.title, scale: y.scale } },
    });
  }
  return {
    config: CHART_CONFIG,
    title:
      opts.title === undefined
        ? undefined
        : opts.subtitle === undefined
          ? opts.title
          : { text: opts.title, subtitle: typeof opts.subtitle === 'string' ? opts.subtitle : [...opts.subtitle] },
    width: opts.width ?? Math.max(160, 34 * order.length),
    height: opts.height ?? 200,
    data: { values: rows as Row[] },
    layer: layers,
  };
}
