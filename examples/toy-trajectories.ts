/**
 * The figure of the CAGrad / Nash-MTL papers: every gradient aggregation
 * method run with Adam on the two-objective toy problem from the five
 * starting points, one panel per method, over the contour lines of the summed
 * objective 0.1·f1 + f2, with the Pareto set drawn as a black curve.
 *
 *   node --import tsx examples/toy-trajectories.ts [out.svg]
 *
 * Writes docs/toy-trajectories.svg by default (atomically) and prints, per
 * method and start, the final point and whether it reached the Pareto set.
 * Budget: Nash-MTL's 35 000 Adam steps at lr 1e-3, as in
 * test/balancing/aggregation/toy.test.ts (a few seconds per method at most).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOY_PARETO, TOY_STARTS, runToy, toyParetoX2, toyProblem } from '../src/balancing/aggregation/index.js';
import type { AggregatorName } from '../src/balancing/aggregation/index.js';
import { gridChart, pathChart, renderSvg } from '../src/report/index.js';
import type { ChartSpec, Row } from '../src/report/index.js';
import type { TopLevelSpec } from 'vega-lite';

/**
 * The methods in the figure, with their names in the papers; `sum` is the 'equal' baseline. Default
 * options unless `options` says (FairGrad's default α = 1 is Nash-MTL, so the figure shows α = 2;
 * CR-MOGM needs an inner method).
 */
export const TOY_METHODS: readonly { method: AggregatorName; label: string; options?: Record<string, unknown> }[] = [
  { method: 'sum', label: 'equal (sum)' },
  { method: 'mgda', label: 'MGDA' },
  { method: 'pcgrad', label: 'PCGrad' },
  { method: 'gradvac', label: 'GradVac' },
  { method: 'cagrad', label: 'CAGrad' },
  { method: 'imtl', label: 'IMTL-G' },
  { method: 'nash', label: 'Nash-MTL' },
  { method: 'aligned', label: 'Aligned-MTL' },
  { method: 'upgrad', label: 'UPGrad' },
  { method: 'dbmtl', label: 'DB-MTL' },
  { method: 'dualproj', label: 'DualProj' },
  { method: 'config', label: 'ConFIG' },
  { method: 'fairgrad', label: 'FairGrad (α = 2)', options: { alpha: 2 } },
  { method: 'excessmtl', label: 'ExcessMTL' },
  // The toy's losses go negative, so MoCo tracks the raw gradients (its paper's Algorithm 1), not L·g/‖g‖.
  { method: 'moco', label: 'MoCo (raw gradients)', options: { normalization: 'none' } },
  { method: 'crmogm', label: 'CR-MOGM (over MGDA)', options: { inner: 'mgda' } },
  // Training applies GradDrop at the shared representation; the toy has none, so it masks the parameters' gradients (torchjd's aggregator).
  { method: 'graddrop', label: 'GradDrop (on x)' },
  // Multi-batch methods: runToy gives each declared batch the same (deterministic) gradients, so they
  // run in their full-gradient form. LibMTL's defaults (MoDo γ 1e-3, ρ 0.1; SDMGrad λ 0.3).
  { method: 'modo', label: 'MoDo' },
  { method: 'sdmgrad', label: 'SDMGrad' },
];

/** Adam steps per run: the Nash-MTL toy script's budget, as the tests use. */
export const TOY_STEPS = 35_000;

/** Same criterion as the tests: x1 ∈ [−7, 7] (±0.01) and x2 within 0.05 of the Pareto curve there. */
export function onParetoSet(x: readonly [number, number]): boolean {
  return x[0] >= TOY_PARETO.x1Min - 0.01 && x[0] <= TOY_PARETO.x1Max + 0.01 && Math.abs(x[1] - toyParetoX2(Math.min(7, Math.max(-7, x[0])))) < 0.05;
}

export interface ToyStartResult {
  start: readonly [number, number];
  /** Final point and losses (f1 × 0.1, f2). */
  x: [number, number];
  losses: [number, number];
  reached: boolean;
  /** Thinned trajectory for plotting, from the start to the final point. */
  trajectory: [number, number][];
}

export interface ToyMethodResult {
  method: AggregatorName;
  label: string;
  /** Adam steps per run. */
  steps: number;
  runs: ToyStartResult[];
  /** Wall time of the method's runs. */
  seconds: number;
}

export interface ToyTrajectoryOptions {
  /** Adam steps per run (default TOY_STEPS). */
  steps?: number;
  /** Record every n-th point (default 200); points closer than `minGap` to the previous kept one are dropped too. */
  record?: number;
  /** Minimum distance between consecutive plotted points (default 0.08, under a pixel in the figure). */
  minGap?: number;
  /** Methods to run (default: TOY_METHODS). */
  methods?: readonly AggregatorName[];
  /** Starting points (default: TOY_STARTS). */
  starts?: readonly (readonly [number, number])[];
}

/** Drops points closer than `gap` to the previously kept one; always keeps the first and last. */
function thin(points: [number, number][], gap: number): [number, number][] {
  if (points.length <= 2) return points;
  const out: [number, number][] = [points[0]];
  for (let i = 1; i < points.length - 1; i++) {
    const p = out[out.length - 1];
    if (Math.hypot(points[i][0] - p[0], points[i][1] - p[1]) >= gap) out.push(points[i]);
  }
  out.push(points[points.length - 1]);
  return out;
}

/** Runs every method from every start (f1 × 0.1, Adam lr 1e-3, the options TOY_METHODS gives) and records thinned trajectories. */
export function runToyTrajectories(opts: ToyTrajectoryOptions = {}): ToyMethodResult[] {
  const steps = opts.steps ?? TOY_STEPS;
  const record = opts.record ?? 200;
  const gap = opts.minGap ?? 0.08;
  const starts = opts.starts ?? TOY_STARTS;
  const methods = opts.methods ?? TOY_METHODS.map((m) => m.method);
  return methods.map((method) => {
    const entry = TOY_METHODS.find((m) => m.method === method);
    const label = entry?.label ?? method;
    const t0 = performance.now();
    const runs = starts.map((start): ToyStartResult => {
      const r = runToy(method, start, { steps, record, options: entry?.options as never });
      return { start, x: r.x, losses: r.losses, reached: onParetoSet(r.x), trajectory: thin(r.trajectory, gap) };
    });
    return { method, label, steps, runs, seconds: (performance.now() - t0) / 1000 };
  });
}

// ------------------------------------------------------------------ contours

const DOMAIN: readonly [number, number] = [-10, 10];

/** The summed objective of the scaled problem, 0.1·f1 + f2 (what 'equal' descends). */
function summed(x1: number, x2: number): number {
  const [a, b] = toyProblem([x1, x2], 0.1).losses;
  return a + b;
}

/**
 * Contour lines of `f` on [lo, hi]² by marching squares on an n×n grid, at the
 * given levels; returns one polyline per connected piece.
 */
export function contourLines(
  f: (x: number, y: number) => number,
  levels: readonly number[],
  lo = DOMAIN[0],
  hi = DOMAIN[1],
  n = 121,
  tolerance = 0.02,
): { level: number; points: [number, number][] }[] {
  const h = (hi - lo) / (n - 1);
  const z = new Float64Array(n * n); // z[j * n + i] = f(lo + i h, lo + j h)
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) z[j * n + i] = f(lo + i * h, lo + j * h);
  const out: { level: number; points: [number, number][] }[] = [];
  for (const level of levels) {
    // Crossing points keyed by edge: 'h i j' joins (i, j)–(i+1, j), 'v i j' joins (i, j)–(i, j+1).
    const point = new Map<string, [number, number]>();
    const cross = (key: string, i0: number, j0: number, i1: number, j1: number): string => {
      if (!point.has(key)) {
        const a = z[j0 * n + i0] - level;
        const b = z[j1 * n + i1] - level;
        const t = a / (a - b);
        point.set(key, [lo + (i0 + t * (i1 - i0)) * h, lo + (j0 + t * (j1 - j0)) * h]);
      }
      return key;
    };
    const links = new Map<string, string[]>();
    const link = (a: string, b: string): void => {
      for (const [p, q] of [
        [a, b],
        [b, a],
      ]) {
        const l = links.get(p);
        if (l) l.push(q);
        else links.set(p, [q]);
      }
    };
    for (let j = 0; j < n - 1; j++) {
      for (let i = 0; i < n - 1; i++) {
        const v = [z[j * n + i], z[j * n + i + 1], z[(j + 1) * n + i + 1], z[(j + 1) * n + i]]; // bl, br, tr, tl
        const c = (v[0] > level ? 1 : 0) | (v[1] > level ? 2 : 0) | (v[2] > level ? 4 : 0) | (v[3] > level ? 8 : 0);
        if (c === 0 || c === 15) continue;
        const bottom = (): string => cross(`h ${i} ${j}`, i, j, i + 1, j);
        const top = (): string => cross(`h ${i} ${j + 1}`, i, j + 1, i + 1, j + 1);
        const left = (): string => cross(`v ${i} ${j}`, i, j, i, j + 1);
        const right = (): string => cross(`v ${i + 1} ${j}`, i + 1, j, i + 1, j + 1);
        const centreAbove = (v[0] + v[1] + v[2] + v[3]) / 4 > level;
        switch (c) {
          case 1:
          case 14:
            link(left(), bottom());
            break;
          case 2:
          case 13:
            link(bottom(), right());
            break;
          case 3:
          case 12:
            link(left(), right());
            break;
          case 4:
          case 11:
            link(right(), top());
            break;
          case 6:
          case 9:
            link(bottom(), top());
            break;
          case 7:
          case 8:
            link(left(), top());
            break;
          case 5: // bl and tr above
            if (centreAbove) {
              link(left(), top());
              link(bottom(), right());
            } else {
              link(left(), bottom());
              link(right(), top());
            }
            break;
          case 10: // br and tl above
            if (centreAbove) {
              link(left(), bottom());
              link(right(), top());
            } else {
              link(left(), top());
              link(bottom(), right());
            }
            break;
        }
      }
    }
    // Chain the segments: every crossing has one or two neighbours; open chains start at an end.
    const seen = new Set<string>();
    const walk = (from: string): void => {
      const keys = [from];
      seen.add(from);
      for (;;) {
        const next = (links.get(keys[keys.length - 1]) ?? []).find((k) => !seen.has(k));
        if (next === undefined) break;
        seen.add(next);
        keys.push(next);
      }
      const first = links.get(from) ?? [];
      if (keys.length > 2 && first.includes(keys[keys.length - 1])) keys.push(from); // closed loop
      out.push({
        level,
        points: simplify(
          keys.map((k) => point.get(k) as [number, number]),
          tolerance,
        ),
      });
    };
    for (const [k, l] of links) if (l.length === 1 && !seen.has(k)) walk(k);
    for (const k of links.keys()) if (!seen.has(k)) walk(k);
  }
  return out;
}

/** Douglas–Peucker: drops points within `tol` of the polyline through the kept ones. */
function simplify(points: [number, number][], tol: number): [number, number][] {
  if (points.length <= 2 || tol <= 0) return points;
  const keep = new Uint8Array(points.length);
  keep[0] = 1;
  keep[points.length - 1] = 1;
  const stack: [number, number][] = [[0, points.length - 1]];
  while (stack.length > 0) {
    const [a, b] = stack.pop() as [number, number];
    const [ax, ay] = points[a];
    const dx = points[b][0] - ax;
    const dy = points[b][1] - ay;
    const len = Math.hypot(dx, dy);
    let worst = -1;
    let at = -1;
    for (let i = a + 1; i < b; i++) {
      const px = points[i][0] - ax;
      const py = points[i][1] - ay;
      const d = len > 0 ? Math.abs(px * dy - py * dx) / len : Math.hypot(px, py);
      if (d > worst) {
        worst = d;
        at = i;
      }
    }
    if (worst > tol) {
      keep[at] = 1;
      stack.push([a, at], [at, b]);
    }
  }
  return points.filter((_, i) => keep[i] === 1);
}

/** Levels of the summed objective at evenly spaced quantiles of its values on the plotted square. */
function summedLevels(count: number): number[] {
  const n = 81;
  const vals: number[] = [];
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) vals.push(summed(DOMAIN[0] + (i * 20) / (n - 1), DOMAIN[0] + (j * 20) / (n - 1)));
  vals.sort((a, b) => a - b);
  return Array.from({ length: count }, (_, k) => vals[Math.floor(((k + 0.5) / count) * vals.length)]);
}

// ------------------------------------------------------------------ figure

/** Fixed decimals with a typographic minus, and no "−0.000". */
const fmt = (v: number, d: number): string => (Number(v.toFixed(d)) === 0 ? 0 : v).toFixed(d).replace('-', '−');
const startName = (s: readonly [number, number]): string => `(${String(s[0]).replace('-', '−')}, ${String(s[1]).replace('-', '−')})`;

export interface ToyFigureOptions {
  /** Draw contour lines of 0.1·f1 + f2 (default true). */
  contours?: boolean;
  /** Panels per row (default 5). */
  columns?: number;
}

/** The papers' figure as a Vega-Lite spec: one panel per method. */
export function toyFigureSpec(results: readonly ToyMethodResult[], opts: ToyFigureOptions = {}): TopLevelSpec {
  const contours: Row[] =
    opts.contours === false ? [] : contourLines(summed, summedLevels(14)).flatMap((c, k) => c.points.map(([x1, x2]) => ({ x1, x2, curve: `c${k}` })));
  const pareto: Row[] = Array.from({ length: 57 }, (_, k) => {
    const x1 = TOY_PARETO.x1Min + ((TOY_PARETO.x1Max - TOY_PARETO.x1Min) * k) / 56;
    return { x1, x2: toyParetoX2(x1) };
  });
  const starts = results[0]?.runs.map((r) => startName(r.start)) ?? [];
  const panels: ChartSpec[] = results.map((res) => {
    const reached = res.runs.filter((r) => r.reached).length;
    const paths: Row[] = res.runs.flatMap((r) => r.trajectory.map(([x1, x2]) => ({ x1, x2, start: startName(r.start) })));
    const markers: Row[] = res.runs.flatMap((r) => [
      { x1: r.start[0], x2: r.start[1], start: startName(r.start), point: 'start' },
      { x1: r.x[0], x2: r.x[1], start: startName(r.start), point: 'end' },
    ]);
    return pathChart({
      title: `${res.label}: ${reached}/${res.runs.length}`,
      width: 200,
      height: 200,
      x: { field: 'x1', title: 'x₁', domain: DOMAIN },
      y: { field: 'x2', title: 'x₂', domain: DOMAIN },
      series: { field: 'start', title: 'start point', values: starts },
      data: paths,
      strokeWidth: 2,
      grid: false,
      curves: [
        { data: contours, curve: 'curve', color: '#d6d6d6', strokeWidth: 0.8 },
        { data: pareto, color: '#222', strokeWidth: 2.5 },
      ],
      markers: { data: markers, shape: { field: 'point', title: 'marker', values: ['start', 'end'], range: ['circle', 'diamond'] }, size: 55 },
    });
  });
  const steps = (results[0]?.steps ?? TOY_STEPS).toLocaleString('en-US').replace(/,/g, ' ');
  return gridChart({
    title: 'Gradient aggregation methods on the two-objective toy problem',
    subtitle: [
      `f₁ × 0.1 (Nash-MTL setting), Adam lr 1e-3, ${steps} steps from ${starts.length} starts. Black: Pareto set; grey: contours of 0.1·f₁ + f₂.`,
      'k/5 in a panel title: number of starts from which the run ends on the Pareto set (x₁ ∈ [−7, 7], within 0.05 of the curve).',
    ],
    columns: opts.columns ?? 5,
    charts: panels,
  });
}

/** The per-method, per-start table printed by the example. */
export function formatTable(results: readonly ToyMethodResult[]): string {
  const rows: string[][] = [['method', 'start', 'final x', 'x₂ − Pareto x₂', 'on Pareto set']];
  for (const res of results) {
    for (const r of res.runs) {
      const dev = r.x[1] - toyParetoX2(Math.min(7, Math.max(-7, r.x[0])));
      rows.push([res.label, startName(r.start), `(${fmt(r.x[0], 3)}, ${fmt(r.x[1], 3)})`, fmt(dev, 3), r.reached ? 'yes' : 'no']);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]): string =>
    r
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Writes `text` to `path` through a temporary file in the same directory and a rename. */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'toy-trajectories.svg'));
  const t0 = performance.now();
  const results = runToyTrajectories();
  console.log(formatTable(results));
  console.log();
  for (const r of results) {
    console.log(`${r.label.padEnd(12)} ${r.runs.filter((x) => x.reached).length}/${r.runs.length} on the Pareto set  (${r.seconds.toFixed(1)} s)`);
  }
  const svg = await renderSvg(toyFigureSpec(results));
  writeFileAtomic(out, svg);
  console.log(`\nwrote ${out} (${(svg.length / 1024).toFixed(0)} KiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
