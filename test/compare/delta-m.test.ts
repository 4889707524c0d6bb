import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkMethods, deltaM, seedStat, summarize, type CompareHead } from '../../src/compare/compare.js';
import { formatCompareTable } from '../../src/compare/report.js';
import type { RunResult } from '../../src/compare/run.js';
import { barChart } from '../../src/report/bar-chart.js';
import { renderSvg } from '../../src/report/render.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('Δm and the summary, on hand-made numbers', () => {
  it('Δm: mean relative change against the reference, sign-corrected, in percent', () => {
    // accuracy 0.9 vs 1.0 → −10 %; accuracy 0.8 vs 0.8 → 0 %; rmse 300 vs 250 (lower is better) → −20 %.
    close(deltaM([0.9, 0.8, 300], [1.0, 0.8, 250], [true, true, false]), -10);
    // Better on every head: accuracy +5 %, rmse 200 vs 250 → +20 %.
    close(deltaM([0.84, 200], [0.8, 250], [true, false]), 12.5);
    // The reference against itself.
    assert.equal(deltaM([0.7, 3], [0.7, 3], [true, false]), 0);
    assert.throws(() => deltaM([1], [1, 2], [true]), RangeError);
  });

  it('seedStat: mean and sample standard deviation', () => {
    const s = seedStat([1, 2, 3, 4]);
    assert.equal(s.mean, 2.5);
    close(s.std, Math.sqrt(5 / 3));
    assert.deepEqual(seedStat([7]), { mean: 7, std: 0, values: [7] });
  });

  it('summarize: rows, Δm per seed against the separate mean, best per column', () => {
    const heads: CompareHead[] = [
      { name: 'a', kind: 'classification', metric: 'accuracy', higherIsBetter: true },
      { name: 'r', kind: 'regression', metric: 'rmse', higherIsBetter: false },
    ];
    let id = 0;
    const run = (label: string, seed: number, acc: number, rmse: number, seconds: number, parameters: number): RunResult => ({
      id: id++,
      key: `run-${id}`,
      label,
      approach: label === 'separate' ? 'separate' : 'joint',
      seed,
      parameters,
      seconds,
      epochs: 10,
      validation: { loss: 0, heads: { a: { loss: 0, weight: 1, metrics: { accuracy: acc } }, r: { loss: 0, weight: 1, metrics: { rmse } } } },
    });
    const runs = [
      run('separate', 1, 0.8, 10, 4, 200),
      run('separate', 2, 0.6, 30, 6, 200),
      run('equal', 1, 0.77, 16, 2, 100),
      run('equal', 2, 0.63, 24, 3, 100),
      run('famo', 2, 0.9, 20, 5, 100), // seeds in any order
      run('famo', 1, 0.7, 20, 1, 100),
    ];
    const { rows, best } = summarize(heads, ['separate', 'equal', 'famo'], runs);
    // Reference: accuracy 0.7, rmse 20.
    const sep = rows[0];
    assert.equal(sep.approach, 'separate');
    assert.deepEqual(sep.heads.a.values, [0.8, 0.6]);
    close(sep.heads.a.mean, 0.7);
    // Per seed: ((0.8 − 0.7)/0.7 − (10 − 20)/20)/2·100 and ((0.6 − 0.7)/0.7 − (30 − 20)/20)/2·100.
    close(sep.deltaM.values[0], ((0.1 / 0.7 + 0.5) / 2) * 100, 1e-9);
    close(sep.deltaM.values[1], ((-0.1 / 0.7 - 0.5) / 2) * 100, 1e-9);
    close(sep.deltaM.mean, 0, 1e-9);
    const equal = rows[1];
    close(equal.heads.a.mean, 0.7);
    close(equal.heads.r.mean, 20);
    close(equal.deltaM.mean, 0, 1e-9);
    const famo = rows[2];
    assert.deepEqual(famo.heads.a.values, [0.7, 0.9], 'sorted by seed');
    close(famo.heads.a.mean, 0.8);
    // Δm of famo: accuracy +1/7, rmse 0 → (1/7)/2·100.
    close(famo.deltaM.mean, (1 / 7 / 2) * 100, 1e-9);
    close(famo.seconds.mean, 3);
    assert.deepEqual(best.heads.a, ['famo']);
    assert.deepEqual(best.heads.r, ['separate', 'equal', 'famo'], 'ties: all marked');
    assert.deepEqual(best.deltaM, ['famo']);
    assert.deepEqual(best.parameters, ['equal', 'famo']);
    assert.deepEqual(best.seconds, ['equal']);
    const text = formatCompareTable({
      heads,
      rows,
      best,
      seeds: [1, 2],
      methods: ['equal', 'famo'],
      runs,
      split: { train: 1, validation: 1, seed: 1 },
      epochs: 10,
      workers: 1,
      seconds: 1,
    });
    assert.match(text, /joint famo\s+0\.8000 ± 0\.1414 \*/);
    assert.match(text, /\+7\.14 ± /);
  });

  it('an unknown or repeated method is an error listing the valid ones', () => {
    assert.throws(() => checkMethods(['equal', 'nope'], '--methods'), /--methods: unknown balancing method "nope"; valid methods: static, .*upgrad/);
    assert.throws(() => checkMethods(['famo', 'famo']), /"famo" is given twice/);
    assert.deepEqual(checkMethods(['mgda', 'nash']), ['mgda', 'nash']);
  });

  it('barChart renders bars, error bars and a reference rule', async () => {
    const svg = await renderSvg(
      barChart({
        title: 'bars',
        data: [
          { m: 'a', v: 0.5, e: 0.1 },
          { m: 'b', v: 0.7, e: 0.05 },
          { m: 'c', v: 0.6, e: 0 },
        ],
        category: 'm',
        value: { field: 'v', zero: false },
        error: 'e',
        rule: { value: 0.55, dash: [4, 2] },
        labelFormat: '.2f',
      }),
    );
    assert.match(svg, /^<svg /);
    assert.equal((svg.match(/role-mark[^"]*marktype-rect|mark-rect role-mark/g) ?? []).length >= 1, true);
    for (const t of ['bars', '0.70', '0.60']) assert.ok(svg.includes(t), t);
    assert.ok(!svg.includes('NaN'));
  });
});
