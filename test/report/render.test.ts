import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gridChart, lineChart, pathChart, renderSvg } from '../../src/report/index.js';
import type { Row } from '../../src/report/index.js';
import { assertWellFormedSvg } from './svg.js';

/** The `d` attributes of all line marks, in drawing order. */
function linePaths(svg: string): string[] {
  const group = /<g class="mark-line role-mark[^"]*"[^>]*>(.*?)<\/g>/g;
  return [...svg.matchAll(group)].flatMap((g) => [...g[1].matchAll(/ d="([^"]+)"/g)].map((m) => m[1]));
}

const count = (s: string, sub: string): number => s.split(sub).length - 1;

describe('report: renderSvg and the chart builders', () => {
  const data: Row[] = [0, 1, 2, 3].flatMap((x) => [
    { epoch: x, loss: 1 / (x + 1), head: 'species' },
    { epoch: x, loss: 2 / (x + 1), head: 'mass' },
  ]);

  it('renders a tiny line chart to a well-formed SVG with one line per series, titles and legend', async () => {
    const svg = await renderSvg(
      lineChart({ title: 'Tiny chart', subtitle: 'two heads', x: 'epoch', y: { field: 'loss', title: 'validation loss' }, series: 'head', data }),
    );
    assertWellFormedSvg(svg);
    assert.equal(linePaths(svg).length, 2);
    for (const text of ['Tiny chart', 'two heads', 'epoch', 'validation loss', 'species', 'mass', '>head<']) assert.ok(svg.includes(text), text);
    // Scaled output: twice the width and height, same viewBox.
    const size = (s: string): number[] => (/width="(\d+)" height="(\d+)"/.exec(s) ?? []).slice(1).map(Number);
    const svg2 = await renderSvg(
      lineChart({ title: 'Tiny chart', subtitle: 'two heads', x: 'epoch', y: { field: 'loss', title: 'validation loss' }, series: 'head', data }),
      { scale: 2 },
    );
    assert.deepEqual(
      size(svg2),
      size(svg).map((v) => 2 * v),
    );
    assert.ok(size(svg)[0] > 100);
  });

  it('a log y axis and a single series without legend', async () => {
    const svg = await renderSvg(lineChart({ x: 'epoch', y: { field: 'loss', scale: 'log' }, data: data.filter((r) => r.head === 'mass'), points: true }));
    assertWellFormedSvg(svg);
    assert.equal(linePaths(svg).length, 1);
    assert.ok(!svg.includes('role-legend'));
    assert.ok(svg.includes('mark-symbol'), 'points drawn');
  });

  it('pathChart joins points in their order (not sorted by x), draws curves below and markers on top', async () => {
    const path: Row[] = [
      { x: 0, y: 0, run: 'a' },
      { x: 2, y: 1, run: 'a' },
      { x: 1, y: 2, run: 'a' },
    ];
    const spec = pathChart({
      title: 'Paths',
      x: { field: 'x', domain: [-1, 3] },
      y: { field: 'y', domain: [-1, 3] },
      series: 'run',
      data: path,
      curves: [
        {
          data: [
            { x: -1, y: -0.5 },
            { x: 3, y: -0.5 },
          ],
          color: 'black',
          strokeWidth: 2,
        },
      ],
      markers: {
        data: [
          { x: 0, y: 0, run: 'a', kind: 'start' },
          { x: 1, y: 2, run: 'a', kind: 'end' },
        ],
        shape: { field: 'kind', values: ['start', 'end'], range: ['circle', 'diamond'] },
      },
    });
    const svg = await renderSvg(spec);
    assertWellFormedSvg(svg);
    const paths = linePaths(svg);
    assert.equal(paths.length, 2, 'one curve and one path');
    // The path layer comes after the curve layer; its x pixel coordinates go 0 → 2 → 1 in data units.
    const xs = [...paths[1].matchAll(/[ML]([\d.]+),/g)].map((m) => Number(m[1]));
    assert.equal(xs.length, 3);
    assert.ok(xs[1] > xs[2] && xs[2] > xs[0], `path order ${xs}`);
    assert.ok(svg.indexOf('stroke="black"') < svg.indexOf('mark-symbol'), 'curves below markers');
    assert.equal(count(svg.slice(svg.indexOf('mark-symbol role-mark')), 'aria-roledescription="point"'), 2, 'two markers');
    for (const text of ['start', 'end', 'Paths']) assert.ok(svg.includes(`>${text}<`), text);
  });

  it('gridChart lays out panels with their titles and one shared legend', async () => {
    const panel = (name: string): ReturnType<typeof pathChart> =>
      pathChart({ title: name, x: 'epoch', y: 'loss', series: 'head', data, width: 100, height: 80 });
    const spec = gridChart({ title: 'Grid', columns: 2, charts: [panel('first'), panel('second'), panel('third')] });
    const svg = await renderSvg(spec);
    assertWellFormedSvg(svg);
    for (const t of ['Grid', 'first', 'second', 'third']) assert.ok(svg.includes(`>${t}<`), t);
    assert.equal(linePaths(svg).length, 6);
    assert.equal(count(svg, '>species<'), 1, 'one legend');
  });

  it('loads nothing: a spec with a data URL is rejected', async () => {
    await assert.rejects(
      renderSvg({ data: { url: 'https://example.com/data.json' }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative' } } }),
      /refused to load https:\/\/example\.com\/data\.json/,
    );
  });
});
