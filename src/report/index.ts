/**
 * Charts for reports: typed Vega-Lite spec builders and an SVG renderer that
 * works in Node and in the browser (no canvas, no network). Browser-safe: no
 * Node built-ins here; writing files is the caller's business.
 */
export { prefixIds, renderSvg } from './render.js';
export type { RenderOptions } from './render.js';
export { CHART_CONFIG, gridChart, lineChart, pathChart } from './charts.js';
export { heatmapChart } from './heatmap.js';
export type { BandAxisDef, HeatmapOptions } from './heatmap.js';
export { scatterChart } from './scatter.js';
export type { ScatterChartOptions } from './scatter.js';
export { diagnosticFigures, lossFigures, metricGroups, metricLabel, weightFigures, SPLITS, SPLIT_RANGE } from './history-charts.js';
export type { Figure, FigureGroup, HistoryChartInput, HistoryHead } from './history-charts.js';
export { asReportable, buildTrainingReport, escapeHtml, formatNumber, MAX_SCATTER_POINTS } from './training-report.js';
export type { ReportableModel, TrainingReportData } from './training-report.js';
export type {
  AxisDef,
  AxisRef,
  CategoryDef,
  CategoryRef,
  ChartFrame,
  ChartSpec,
  CurveLayer,
  GridOptions,
  LineChartOptions,
  MarkerLayer,
  PathChartOptions,
  Row,
} from './charts.js';
