// ExcessMTL, MoCo and CR-MOGM: the three stateful additions, on plain matrices.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import type { AggregatorState, ExcessmtlState, MocoState } from '../../../src/balancing/aggregation/index.js';
import { Rng } from '../../../src/util/rng.js';
import { assertAllClose, assertClose, comb, dot, norm, randn } from './helpers.js';

describe('excessmtl', () => {
  it('first step: weights 1 (the sum), r⁰_t = Σ_j g²/√(g² + eps) recorded', () => {
    const G = [[3, 4], [0.1, 0]];
    const r = aggregate('excessmtl', G);
    assertAllClose(r.weights ?? [], [1, 1], 0);
    assertAllClose(r.direction, [3.1, 4], 1e-15);
    const s = r.state as ExcessmtlState;
    assertClose(s.initial![0], 9 / Math.sqrt(9 + 1e-7) + 16 / Math.sqrt(16 + 1e-7), 1e-12);
  });

  it('the task whose gradient (excess risk) stays large relative to its start gains weight; weights sum to T', () => {
    let state: AggregatorState | undefined;
    let w: Float64Array = new Float64Array(0);
    for (let k = 0; k < 50; k++) {
      // Task 0 keeps its gradient; task 1's shrinks (its loss nears its best).
      const r = aggregate('excessmtl', [[1, 0.5, 0], [0, 1 / (1 + k), 1 / (1 + k)]], { stepSize: 0.1 }, state);
      state = r.state;
      w = r.weights ?? w;
    }
    assert.ok(w[0] > 1.2 * w[1], `weights ${w}`);
    assertClose(w[0] + w[1], 2, 1e-12);
  });

  it('the JSON state resumes exactly; a state of the wrong shape is a one-line error', () => {
    const rng = new Rng(980);
    const steps = Array.from({ length: 4 }, () => randn(rng, 3, 5));
    let a: AggregatorState | undefined;
    let b: AggregatorState | undefined;
    for (const [k, G] of steps.entries()) {
      const ra = aggregate('excessmtl', G, {}, a);
      const rb = aggregate('excessmtl', G, {}, b);
      assertAllClose(ra.direction, rb.direction, 0);
      a = ra.state;
      b = k === 1 ? (JSON.parse(JSON.stringify(rb.state)) as AggregatorState) : rb.state;
    }
    assert.throws(() => aggregate('excessmtl', randn(rng, 2, 5), {}, a), /aggregator 'excessmtl': state.sumSquares has 3 rows but the gradient matrix has 2 task rows/);
    assert.throws(() => aggregate('excessmtl', [[1]], { stepSize: -1 }), /balance\.stepSize \(method "excessmtl"\) must be a finite number in \[0, ∞\)/);
  });
});

describe('moco', () => {
  it("needs the losses (the training loop passes them), unless normalization is 'none' (raw gradients)", () => {
    assert.throws(() => aggregate('moco', [[1, 0]]), /balance\.losses \(method "moco"\) must be given/);
    const r = aggregate('moco', [[3, 4], [0, -2]], { normalization: 'none', betaSigma: 0, beta: 1 });
    // β = 1: y = g; λ = softmax(1/2 − 0.1·GGᵀ·1/2).
    const z = [0.5 - 0.05 * (25 - 8), 0.5 - 0.05 * (-8 + 4)];
    const e = z.map(Math.exp);
    assertAllClose(r.weights ?? [], e.map((x) => (2 * x) / (e[0] + e[1])), 1e-14);
  });

  it('first step by hand: y = β·L·g/‖g‖, λ = softmax(1/T − γ·YYᵀ/T), d = T·Σλ_t y_t', () => {
    const G = [[3, 4], [0, -2]];
    const r = aggregate('moco', G, { losses: [2, 1], eps: 0 });
    const y = [[0.5 * 2 * 0.6, 0.5 * 2 * 0.8], [0, -0.5]];
    const YY = [[dot(y[0], y[0]), dot(y[0], y[1])], [dot(y[1], y[0]), dot(y[1], y[1])]];
    const z = [0.5 - 0.1 * 0.5 * (YY[0][0] + YY[0][1]), 0.5 - 0.1 * 0.5 * (YY[1][0] + YY[1][1])];
    const e = z.map(Math.exp);
    const lambda = e.map((x) => x / (e[0] + e[1]));
    assertAllClose(r.weights ?? [], lambda.map((l) => 2 * l), 1e-14);
    assertAllClose(r.direction, comb(y, lambda.map((l) => 2 * l)), 1e-14);
  });

  it('tracks the normalised, loss-scaled gradients: with fixed gradients y_t → L_t·g_t/‖g_t‖', () => {
    const G = [[3, 4, 0], [0, -2, 1]];
    let state: AggregatorState | undefined;
    for (let k = 0; k < 300; k++) state = aggregate('moco', G, { losses: [2, 1] }, state).state;
    const y = (state as MocoState).tracked!;
    G.forEach((g, t) => assertAllClose(Array.from(y[t], Number), g.map((x) => ([2, 1][t] * x) / norm(g)), 1e-4));
  });
});

describe('crmogm', () => {
  const rng = new Rng(990);
  const steps = Array.from({ length: 3 }, () => randn(rng, 3, 6));

  it('first step: the inner method; then λ = β·λ_prev + (1 − β)·ŵ on each step’s gradients', () => {
    let state: AggregatorState | undefined;
    let prev: Float64Array | undefined;
    for (const G of steps) {
      const r = aggregate('crmogm', G, { inner: 'mgda', beta: 0.8 }, state);
      const inner = aggregate('mgda', G).weights ?? new Float64Array(0);
      const want = prev === undefined ? inner : prev.map((p, t) => 0.8 * p + 0.2 * inner[t]);
      assertAllClose(r.weights ?? [], want, 1e-14);
      assertAllClose(r.direction, comb(G, want), 1e-12);
      state = r.state;
      prev = r.weights;
    }
  });

  it('passes innerOptions, and the inner state and solver report through', () => {
    const G = steps[0];
    const r = aggregate('crmogm', G, { inner: 'cagrad', innerOptions: { c: 0.2 } });
    assertAllClose(r.direction, aggregate('cagrad', G, { c: 0.2 }).direction, 1e-12);
    assert.ok(r.solver, 'the inner solver report');
    const g = aggregate('crmogm', G, { inner: 'gradvac' });
    assert.equal((g.state as { inner: { method: string } }).inner.method, 'gradvac');
  });

  it('option and state errors', () => {
    assertAllClose(aggregate('crmogm', steps[0]).weights ?? [], aggregate('mgda', steps[0]).weights ?? [], 0, 'inner defaults to mgda');
    assert.throws(() => aggregate('crmogm', [[1]], { inner: 'magic' as never }), /balance\.inner \(method "crmogm"\) must be one of "sum", .*"fairgrad", "excessmtl", got "magic"/);
    assert.throws(() => aggregate('crmogm', [[1]], { inner: 'dbmtl' as never }), /balance\.inner \(method "crmogm"\) must be one of/);
    assert.throws(() => aggregate('crmogm', [[1]], { inner: 'crmogm' as never }), /balance\.inner \(method "crmogm"\) must be one of/);
    assert.throws(() => aggregate('crmogm', [[1]], { inner: 'cagrad', innerOptions: { c: -1 } }), /balance\.c \(method "cagrad"\) must be/);
    const s = aggregate('crmogm', steps[0], { inner: 'mgda' }).state;
    assert.throws(() => aggregate('crmogm', steps[1], { inner: 'nash' }, s), /state.inner belongs to aggregator 'mgda', not to inner 'nash'/);
  });
});
