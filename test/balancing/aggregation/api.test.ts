import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AGGREGATORS, aggregate, initialAggregatorState, validateAggregatorOptions } from '../../../src/balancing/aggregation/index.js';
import type { AggregatorName, AggregatorOptions, AggregatorState } from '../../../src/balancing/aggregation/index.js';
import { Rng } from '../../../src/util/rng.js';
import { assertAllClose, assertFiniteArray, comb, randn, scenarios } from './helpers.js';

function opts(m: AggregatorName, T: number): AggregatorOptions | undefined {
  if (m === 'static') return { weights: Array.from({ length: T }, (_, t) => 1 + t) };
  if (m === 'mgda') return { normalization: 'l2' };
  if (m === 'moco') return { losses: Array.from({ length: T }, (_, t) => 1 + t) };
  if (m === 'crmogm') return { inner: 'nash' };
  return undefined;
}

describe('aggregate: every method', () => {
  it('lists the methods', () => {
    assert.deepEqual([...AGGREGATORS].sort(), ['aligned', 'cagrad', 'config', 'crmogm', 'dbmtl', 'dualproj', 'excessmtl', 'fairgrad', 'graddrop', 'gradvac', 'imtl', 'mean', 'mgda', 'moco', 'modo', 'nash', 'pcgrad', 'sdmgrad', 'static', 'sum', 'upgrad']);
  });

  for (const T of [2, 3, 5]) {
    for (const [name, G] of Object.entries(scenarios(40 + T, T, 7))) {
      it(`T=${T}, ${name}: finite, right length, direction = Σ w_t g_t`, () => {
        for (const m of AGGREGATORS) {
          const r = aggregate(m, G, opts(m, T));
          assert.equal(r.direction.length, 7, m);
          assertFiniteArray(r.direction, `${m} direction`);
          assert.ok(r.weights, m);
          assert.equal(r.weights.length, T, m);
          assertFiniteArray(r.weights, `${m} weights`);
          // dbmtl and moco weigh their buffered rows, not these; graddrop masks entries (its weights are the kept shares).
          if (m !== 'dbmtl' && m !== 'moco' && m !== 'graddrop') assertAllClose(r.direction, comb(G, r.weights), 1e-9, `${m} direction vs weights`);
          assert.equal(r.state.method, m);
          assert.equal(r.state.step, 1);
        }
      });
    }
  }

  it('T = 1 gives the gradient itself (mean too; dbmtl its EMA warm-up (1 − β)g; moco β·L·g/‖g‖)', () => {
    const g = [[0.3, -1.2, 2.5, 0]];
    const n = Math.hypot(...g[0]);
    for (const m of AGGREGATORS) {
      const r = aggregate(m, g, m === 'static' ? { weights: [1] } : opts(m, 1));
      const expected = m === 'dbmtl' ? g[0].map((v) => 0.1 * v) : m === 'moco' ? g[0].map((v) => (0.5 * v) / n) : g[0];
      assertAllClose(r.direction, expected, m === 'dbmtl' || m === 'moco' ? 1e-7 : 1e-9, m); // dbmtl, moco: eps = 1e-8 next to a norm
    }
  });

  it('all-zero gradients give a zero direction without NaN', () => {
    for (const T of [1, 2, 4]) {
      const G = Array.from({ length: T }, () => [0, 0, 0]);
      for (const m of AGGREGATORS) {
        const r = aggregate(m, G, opts(m, T));
        assertAllClose(r.direction, [0, 0, 0], 0, `${m} T=${T}`);
        assertFiniteArray(r.weights ?? [], m);
      }
    }
  });

  it('exactly opposite and exactly duplicated rows stay finite', () => {
    const cases = [
      [[1, 2, 3], [-1, -2, -3]],
      [[1, 2, 3], [1, 2, 3], [1, 2, 3]],
      [[1, 2, 3], [2, 4, 6], [-1, -2, -3]],
    ];
    for (const G of cases) {
      for (const m of AGGREGATORS) {
        const r = aggregate(m, G, opts(m, G.length));
        assertFiniteArray(r.direction, m);
        assertFiniteArray(r.weights ?? [], m);
      }
    }
  });

  it('accepts rows as plain arrays, Float32Array/Float64Array rows and a flat buffer alike', () => {
    const rng = new Rng(3);
    const G = randn(rng, 3, 5).map((r) => r.map((v) => Math.fround(v)));
    const flat32 = new Float32Array(G.flat());
    for (const m of AGGREGATORS) {
      const a = aggregate(m, G, opts(m, 3));
      const b = aggregate(m, G.map((r) => Float32Array.from(r)), opts(m, 3));
      const c = aggregate(m, G.map((r) => Float64Array.from(r)), opts(m, 3));
      const d = aggregate(m, { data: flat32, rows: 3, cols: 5 }, opts(m, 3));
      const e = aggregate(m, { data: Float64Array.from(flat32), rows: 3, cols: 5 }, opts(m, 3));
      for (const x of [b, c, d, e]) assertAllClose(x.direction, a.direction, 1e-12, m);
    }
  });

  it('sum, mean and static are what they say', () => {
    const G = [[1, 2], [3, -4], [0.5, 0.5]];
    assert.deepEqual(Array.from(aggregate('sum', G).direction), [4.5, -1.5]);
    assertAllClose(aggregate('mean', G).direction, [1.5, -0.5], 1e-15);
    assertAllClose(aggregate('static', G, { weights: [2, 0, -1] }).direction, [1.5, 3.5], 1e-15);
  });

  it('states survive a JSON round trip: resuming gives the same next step', () => {
    const rng = new Rng(11);
    const steps = Array.from({ length: 4 }, () => randn(rng, 3, 6));
    for (const m of AGGREGATORS) {
      let state: AggregatorState | undefined;
      let resumed: AggregatorState | undefined;
      for (const G of steps) {
        const a = aggregate(m, G, opts(m, 3), state);
        const b = aggregate(m, G, opts(m, 3), resumed);
        assertAllClose(b.direction, a.direction, 1e-15, m);
        state = a.state;
        resumed = JSON.parse(JSON.stringify(a.state)) as AggregatorState;
      }
      assert.equal(state?.step, 4);
    }
  });

  it('does not modify the state it is given', () => {
    const rng = new Rng(12);
    for (const m of ['gradvac', 'dbmtl', 'pcgrad'] as const) {
      const s1 = aggregate(m, randn(rng, 3, 4)).state;
      const snapshot = JSON.stringify(s1);
      aggregate(m, randn(rng, 3, 4), undefined, s1);
      assert.equal(JSON.stringify(s1), snapshot, m);
    }
  });

  it('initialAggregatorState and validateAggregatorOptions fill the defaults', () => {
    assert.deepEqual(initialAggregatorState('dbmtl'), { method: 'dbmtl', step: 0, buffer: null });
    assert.deepEqual(validateAggregatorOptions('cagrad', undefined), { c: 0.5, rescale: 2 });
    assert.deepEqual(validateAggregatorOptions('gradvac', {}), { beta: 0.01, seed: 0 });
    assert.deepEqual(validateAggregatorOptions('mgda', { normalization: 'loss', losses: [1, 2] }), { normalization: 'loss', ub: false, losses: [1, 2] });
    assert.deepEqual(validateAggregatorOptions('nash', {}), { maxIter: 100, tol: 1e-10, scale: 'sum' });
    assert.deepEqual(validateAggregatorOptions('upgrad', {}), { normEps: 1e-12, regEps: 1e-4 });
    assert.deepEqual(validateAggregatorOptions('dbmtl', {}), { beta: 0.9, betaSigma: 0, eps: 1e-8 });
    assert.deepEqual(validateAggregatorOptions('aligned', {}), { rankTol: 1.1920929e-7 });
  });

  it('is invariant to a permutation of the tasks (deterministic methods)', () => {
    const rng = new Rng(21);
    const G = randn(rng, 4, 6);
    const perm = [2, 0, 3, 1];
    const P = perm.map((i) => G[i]);
    for (const m of ['sum', 'mgda', 'cagrad', 'imtl', 'nash', 'aligned', 'upgrad', 'dbmtl'] as const) {
      assertAllClose(aggregate(m, P).direction, aggregate(m, G).direction, 1e-9, m);
    }
  });

  it('scale: aligned equal-norm orthogonal gradients give the sum for every weighting', () => {
    const G = [[2, 0, 0], [0, 2, 0], [0, 0, 2]];
    for (const m of ['sum', 'mgda', 'pcgrad', 'gradvac', 'imtl', 'nash', 'aligned', 'upgrad'] as const) {
      assertAllClose(aggregate(m, G).direction, [2, 2, 2], 1e-9, m);
    }
    // CAGrad moves towards the worst task; with orthogonal equal gradients that is still the sum direction.
    assertAllClose(aggregate('cagrad', G).direction, [2, 2, 2], 1e-9, 'cagrad');
  });
});
