import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoCandidates } from '../../src/compare/auto/candidates.js';
import { conflictSummary, stepCosts } from '../../src/compare/auto/reasons.js';
import { halvingSchedule, promote } from '../../src/compare/auto/schedule.js';
import { gradientConflict } from '../../src/compare/conflict.js';
import { chooseTrial, staticCandidates, type TunedStaticPlan } from '../../src/compare/tuned-static.js';
import { AUTO_MODES } from '../../src/compare/auto/candidates.js';
import { DEFAULT_COMPARE_METHODS } from '../../src/compare/compare.js';
import type { RunResult, RunTask } from '../../src/compare/run.js';
import { MultilossError } from '../../src/errors.js';

describe('successive halving: the schedule on plain numbers', () => {
  it('13 candidates, η 3, 120 epochs: 13 → 5 → 2 → 1 on 4, 12, 36 epochs', () => {
    assert.deepEqual(halvingSchedule({ candidates: 13, eta: 3, maxEpochs: 120 }), [
      { index: 0, epochs: 4, candidates: 13, keep: 5 },
      { index: 1, epochs: 12, candidates: 5, keep: 2 },
      { index: 2, epochs: 36, candidates: 2, keep: 1 },
    ]);
  });
  it('η 2 halves: 8 → 4 → 2 → 1; a given first budget grows η-fold and stops at the full budget', () => {
    assert.deepEqual(
      halvingSchedule({ candidates: 8, eta: 2, maxEpochs: 10, minEpochs: 2 }).map((r) => [r.candidates, r.keep, r.epochs]),
      [
        [8, 4, 2],
        [4, 2, 4],
        [2, 1, 8],
      ],
    );
    assert.deepEqual(
      halvingSchedule({ candidates: 9, eta: 3, maxEpochs: 10, minEpochs: 4 }).map((r) => r.epochs),
      [4, 10],
    );
  });
  it('one candidate needs no rung; two need one; a short budget still gives every rung an epoch', () => {
    assert.deepEqual(halvingSchedule({ candidates: 1, eta: 3, maxEpochs: 50 }), []);
    assert.deepEqual(halvingSchedule({ candidates: 2, eta: 3, maxEpochs: 50 }), [{ index: 0, epochs: 17, candidates: 2, keep: 1 }]);
    assert.deepEqual(
      halvingSchedule({ candidates: 30, eta: 3, maxEpochs: 3 }).map((r) => r.epochs),
      [1, 3, 3, 3],
    );
  });
  it('refuses η < 2, a first budget above the full one, no candidates', () => {
    assert.throws(() => halvingSchedule({ candidates: 5, eta: 1, maxEpochs: 10 }), (e) => e instanceof MultilossError && /auto\.eta: expected a whole number ≥ 2, got 1/.test(e.message));
    assert.throws(() => halvingSchedule({ candidates: 5, eta: 3, maxEpochs: 10, minEpochs: 11 }), /minEpochs: 11 is more than the full budget of 10 epochs/);
    assert.throws(() => halvingSchedule({ candidates: 0, eta: 3, maxEpochs: 10 }), /at least one candidate/);
  });
  it('promotes the best scores, best first; ties go to the earlier candidate; NaN (failed) ranks last', () => {
    assert.deepEqual(promote([-3, 1, -1, 1, 0.5], 3), [1, 3, 4]);
    assert.deepEqual(promote([2, NaN, 2, 5], 4), [3, 0, 2, 1]);
    assert.deepEqual(promote([NaN, NaN], 1), [0]);
    assert.deepEqual(promote([1, 2], 5), [1, 0]);
  });
});

describe('auto candidates: methods × gradient modes, and tuned-static', () => {
  it('a gradient method once per mode it supports, a loss-based one once, tuned-static last', () => {
    assert.deepEqual(
      autoCandidates(['equal', 'pcgrad', 'dbmtl'], ['param', 'rep'], true).map((c) => c.label),
      ['equal', 'pcgrad:param', 'pcgrad:rep', 'dbmtl:param', 'tuned-static'],
    );
    assert.deepEqual(
      autoCandidates(['nash', 'uncertainty'], ['rep'], false).map((c) => c.label),
      ['nash:rep', 'uncertainty'],
    );
    assert.deepEqual(autoCandidates(['mgda:rep'], ['param', 'rep'], false), [{ kind: 'method', label: 'mgda:rep', balance: { method: 'mgda', mode: 'rep' } }]);
  });
  it('13 by default: 4 loss-based methods, 4 gradient methods in 2 modes, tuned-static', () => {
    assert.equal(autoCandidates(DEFAULT_COMPARE_METHODS, AUTO_MODES, true).length, 13);
  });
  it('refuses unknown methods or modes, a mode on a loss-based method, a candidate given twice', () => {
    assert.throws(() => autoCandidates(['bogus'], ['param'], true), /methods: unknown balancing method "bogus"/);
    assert.throws(() => autoCandidates(['equal:rep'], ['param'], true), /"equal:rep": expected METHOD or METHOD:MODE .*loss-based methods have none/);
    assert.throws(() => autoCandidates(['pcgrad', 'pcgrad:rep'], ['param', 'rep'], true), /"pcgrad:rep" is given twice/);
    assert.throws(() => autoCandidates(['pcgrad'], ['sideways' as 'rep'], true), /unknown gradient mode "sideways"/);
  });
});

describe('tuned-static candidates: equal weights, then seeded draws from the simplex', () => {
  const heads = ['a', 'b', 'c'];
  it('starts with equal weights; every draw is positive and sums to the number of heads', () => {
    const c = staticCandidates(heads, 6, 7);
    assert.equal(c.length, 6);
    assert.deepEqual(c[0], { a: 1, b: 1, c: 1 });
    for (const w of c.slice(1)) {
      const values = heads.map((h) => w[h]);
      assert.ok(values.every((v) => v >= 0));
      assert.ok(Math.abs(values.reduce((s, v) => s + v, 0) - 3) < 0.0021, JSON.stringify(w));
    }
    assert.equal(new Set(c.map((w) => JSON.stringify(w))).size, 6);
  });
  it('the same seed gives the same vectors, another seed others', () => {
    assert.deepEqual(staticCandidates(heads, 5, 7), staticCandidates(heads, 5, 7));
    assert.notDeepEqual(staticCandidates(heads, 5, 7), staticCandidates(heads, 5, 8));
    assert.deepEqual(staticCandidates(heads, 3, 7), staticCandidates(heads, 5, 7).slice(0, 3));
  });
});

describe('tuned-static: the choice among trials', () => {
  const reference = { heads: [{ name: 'a', metric: 'accuracy', higherIsBetter: true, value: 0.5 }] };
  const plan: TunedStaticPlan = { candidates: [{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }], seed: 1 };
  const tasks = plan.candidates.map((_, i) => ({ id: i, key: `k${i}`, config: { training: { epochs: 5 } } }) as unknown as RunTask);
  const result = (key: string, accuracy: number) => ({ key, epochs: 5, seconds: 1, validation: { loss: 0, heads: { a: { loss: 0, metrics: { accuracy } } } } }) as unknown as RunResult;
  it('the highest validation Δm wins; a tie goes to the earlier trial; a failed trial (no result) is NaN and never chosen', () => {
    const runs = new Map([
      ['k0', result('k0', 0.5)],
      ['k1', result('k1', 0.6)],
      ['k3', result('k3', 0.6)],
    ]);
    const chosen = chooseTrial(plan, tasks, runs, reference);
    assert.ok(chosen);
    assert.equal(chosen.chosen, 1);
    assert.deepEqual(chosen.weights, { a: 2 });
    assert.ok(Math.abs(chosen.trials[1].deltaM - 20) < 1e-9);
    assert.ok(Number.isNaN(chosen.trials[2].deltaM));
    assert.equal(chooseTrial(plan, tasks, new Map(), reference), undefined);
  });
});

describe('reasons on plain numbers', () => {
  it('gradient conflict: per pair, the mean over epochs; then over runs, with the share of negative figures', () => {
    const history = [
      { diagnostics: { gradNorm: {}, cosine: { a: { b: 0.2, c: -0.4 }, b: { a: 0.2, c: 0.1 }, c: { a: -0.4, b: 0.1 } } } },
      {},
      { diagnostics: { gradNorm: {}, cosine: { a: { b: 0.4, c: -0.2 }, b: { a: 0.4, c: NaN }, c: { a: -0.2, b: NaN } } } },
    ];
    const c = gradientConflict(history, ['a', 'b', 'c']);
    assert.ok(c);
    assert.equal(c.epochs, 2);
    assert.deepEqual(
      c.pairs.map((p) => [p.a, p.b, Number(p.cosine.toFixed(6))]),
      [
        ['a', 'b', 0.3],
        ['a', 'c', -0.3],
        ['b', 'c', 0.1],
      ],
    );
    assert.equal(gradientConflict([{}], ['a', 'b']), undefined);
    const s = conflictSummary([
      { label: 'x', conflict: c },
      { label: 'y', conflict: { pairs: [{ a: 'a', b: 'b', cosine: -0.1 }, { a: 'a', b: 'c', cosine: -0.1 }, { a: 'b', b: 'c', cosine: -0.1 }], mean: -0.1, epochs: 1 } },
      { label: 'z' },
    ]);
    assert.ok(s);
    assert.deepEqual(s.measuredBy, ['x', 'y']);
    assert.ok(Math.abs(s.pairs[0].cosine - 0.1) < 1e-9);
    assert.equal(s.conflictingShare, 4 / 6);
    assert.equal(conflictSummary([{ label: 'equal' }]), undefined);
  });
  it('cost per step relative to the cheapest', () => {
    assert.deepEqual(
      stepCosts([
        { label: 'a', secondsPerStep: 0.002 },
        { label: 'b', secondsPerStep: 0.001 },
      ]).map((c) => c.relative),
      [2, 1],
    );
  });
});
