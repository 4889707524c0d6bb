/**
 * The training report's history charts, drawn live: the epoch logs the worker
 * sends are collected, and the charts (the same Vega-Lite specs as the HTML
 * report's) are rendered to inline SVG at most one redraw at a time; logs that
 * arrive during a redraw are drawn by the next one.
 */
import { diagnosticFigures, hasUpdateFigures, lossFigures, metricGroups, weightFigures, type Figure, type FigureGroup, type HistoryChartInput, type HistoryHead } from '../../../src/report/history-charts.js';
import { prefixIds, renderSvg } from '../../../src/report/render.js';
import type { EpochLog } from '../../../src/training/history.js';

/** Lets clicks and key presses through between two charts of a redraw. */
const breathe = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export class LiveCharts {
  private input: HistoryChartInput = { heads: [], history: [], method: '' };
  private history: EpochLog[] = [];
  private drawing: Promise<void> | undefined;
  private dirty = false;
  private run = 0;
  private svgCount = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly onError: (message: string) => void,
  ) {}

  /** Starts a new run: the charts of the previous one are removed. */
  begin(heads: readonly HistoryHead[], method: string, schedule: string): void {
    this.run++;
    this.history = [];
    this.input = { heads, history: this.history, method, schedule };
    this.root.replaceChildren();
  }

  add(log: EpochLog): void {
    this.history.push(log);
    this.update();
  }

  /** Resolves once everything received so far is drawn. */
  async settled(): Promise<void> {
    while (this.drawing) await this.drawing;
  }

  private update(): void {
    if (this.drawing) {
      this.dirty = true;
      return;
    }
    this.drawing = this.draw().finally(() => {
      this.drawing = undefined;
      if (this.dirty) {
        this.dirty = false;
        this.update();
      }
    });
  }

  private groups(): { id: string; heading: string; figures: Figure[] }[] {
    const metrics: FigureGroup[] = metricGroups(this.input);
    return [
      { id: 'losses', heading: 'Loss per head', figures: lossFigures(this.input) },
      ...metrics.map((g, i) => ({ id: `metrics-${i}`, heading: g.heading ?? '', figures: g.figures })),
      {
        id: 'weights',
        // Gradient methods: what the updates did to each head (their raw coefficients are not weights).
        heading: hasUpdateFigures(this.input.history) ? 'What the updates did to each head, and learning rate' : 'Head weights and learning rate',
        figures: weightFigures(this.input),
      },
      { id: 'gradients', heading: 'Gradients between heads (shared part)', figures: diagnosticFigures(this.input) },
    ].filter((g) => g.figures.length > 0);
  }

  /**
   * One pass over every chart. Each chart's spec is built from the history as it is when that
   * chart's turn comes (cheap, unlike rendering), so a pass that outlasts a few epochs still
   * draws the newest ones.
   */
  private async draw(): Promise<void> {
    const run = this.run;
    try {
      for (let i = 0; ; i++) {
        const charts = this.groups().flatMap((group) => group.figures.map((figure) => ({ group, figure })));
        if (i >= charts.length) return;
        const { group, figure } = charts[i];
        const svg = await renderSvg(figure.spec);
        if (run !== this.run) return; // a new run started meanwhile
        this.figureBox(this.groupBox(group.id, group.heading), figure).querySelector('.svg')?.replaceChildren(svgElement(prefixIds(svg, `c${++this.svgCount}-`)));
        await breathe();
      }
    } catch (e) {
      this.onError(`drawing the charts failed: ${(e as Error).message}`);
    }
  }

  private groupBox(id: string, heading: string): HTMLElement {
    let group = this.root.querySelector<HTMLElement>(`[data-group="${id}"]`);
    if (!group) {
      group = document.createElement('div');
      group.className = 'chart-group';
      group.dataset.group = id;
      const h = document.createElement('h3');
      h.textContent = heading;
      const charts = document.createElement('div');
      charts.className = 'charts';
      group.append(h, charts);
      this.root.append(group);
    }
    return group.querySelector('.charts') as HTMLElement;
  }

  private figureBox(box: HTMLElement, figure: Figure): HTMLElement {
    const key = `${figure.kind}|${figure.head ?? ''}|${figure.title}`;
    let el = Array.from(box.querySelectorAll<HTMLElement>('figure.chart')).find((f) => f.dataset.key === key);
    if (!el) {
      el = document.createElement('figure');
      el.className = 'chart';
      el.dataset.key = key;
      el.dataset.chart = figure.kind;
      if (figure.head !== undefined) el.dataset.head = figure.head;
      const caption = document.createElement('figcaption');
      const title = document.createElement('b');
      title.textContent = figure.title;
      caption.append(title);
      const sub = document.createElement('span');
      caption.append(sub);
      const svg = document.createElement('div');
      svg.className = 'svg';
      el.append(caption, svg);
      box.append(el);
    }
    // The subtitle can change (e.g. "the lines coincide" once weights differ).
    (el.querySelector('figcaption span') as HTMLElement).textContent = figure.subtitle ?? '';
    return el;
  }
}

/** Parses Vega's SVG text into an element (Vega escapes the data it writes into it). */
function svgElement(svg: string): Element {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  return document.importNode(doc.documentElement, true);
}
