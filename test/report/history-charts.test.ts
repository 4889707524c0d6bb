import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderSvg } from '../../src/report/index.js';
import { weightFigures } from '../../src/report/history-charts.js';
import type { EpochLog } from '../../src/training/history.js';
import { assertWellFormedSvg } from './svg.js';

const heads = ['species', 'sex', 'mass'].map((name) => ({ name, kind: 'classification', loss: { name: 'cross-entropy' } }));

/** An epoch whose train split has these head weights (and, optionally, update figures). */
function epoch(i: number, weights: number[], update?: EpochLog['update']): EpochLog {
  const split = { loss: 1, heads: Object.fromEntries(heads.map((h, t) => [h.name, { loss: 0.5, weight: weights[t], metrics: {} }])) };
  return { epoch: i, learningRate: 0.01, seconds: 1, train: split, ...(update ? { update } : {}) };
}

type YScale = { type: string; domain?: number[] };
/** The y scale of an epoch chart (a layered Vega-Lite spec). */
const yScale = (spec: unknown): YScale => (spec as { layer: { encoding: { y: { scale: YScale } } }[] }).layer[0].encoding.y.scale;

describe('report: the head-weight section', () => {
  it('a history written before the update figures, with a gradient method’s exploding coefficients as weights: log scale, rendered', async () => {
    // As pcgrad's history used to hold them (species' tiny gradient, coefficient up to 1.2·10⁵).
    const history = [1, 2, 3].map((i) => epoch(i, [1651 * i ** 4, 1.009, 1.03]));
    const figures = weightFigures({ heads, history, method: 'pcgrad' });
    const weights = figures.find((f) => f.kind === 'weights');
    assert.ok(weights);
    assert.equal(yScale(weights.spec).type, 'log');
    const svg = await renderSvg(weights.spec);
    assertWellFormedSvg(svg);
    assert.ok(svg.includes('(log scale)'));
  });

  it('weights within a factor 30 keep a linear scale from zero', () => {
    const figures = weightFigures({ heads, history: [epoch(1, [1, 2, 3]), epoch(2, [1.5, 2, 0.5])], method: 'dwa' });
    const y = yScale(figures.find((f) => f.kind === 'weights')?.spec);
    assert.equal(y.type, 'linear');
  });

  it('a history with update figures: share of the update on [0, 1] and cosine on [−1, 1] instead of weights', () => {
    const update = Object.fromEntries(heads.map((h, t) => [h.name, { coefficient: t === 0 ? 1651 : 1, share: [0.01, 0.5, 0.49][t], cosine: 0.5, relativeDecrease: 0.9 }]));
    const figures = weightFigures({ heads, history: [epoch(1, [1, 1, 1], update), epoch(2, [1, 1, 1], update)], method: 'pcgrad' });
    assert.deepEqual(
      figures.map((f) => f.kind),
      ['update-share', 'update-cosine', 'learning-rate'],
    );
    assert.deepEqual(yScale(figures[0].spec).domain, [0, 1]);
    assert.deepEqual(yScale(figures[1].spec).domain, [-1, 1]);
  });
});
