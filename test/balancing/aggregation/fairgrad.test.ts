import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import { Rng } from '../../../src/util/rng.js';
import { assertAllClose, assertClose, dot, gramOf, norm, randn } from './helpers.js';

describe('fairgrad', () => {
  const rng = new Rng(970);
  const cases = Array.from({ length: 6 }, (_, k) => randn(rng, 2 + k, 10).map((g, t) => g.map((x) => x * (0.1 + t))));

  it('paper scale: every task gets g_tᵀd = w_t^(−1/α), i.e. GGᵀw = w^(−1/α), for α in 0.5…5', () => {
    let newton = 0;
    for (const G of cases) {
      for (const alpha of [0.5, 1, 2, 5]) {
        const r = aggregate('fairgrad', G, { alpha, scale: 'paper' });
        const w = r.weights ?? new Float64Array(0);
        G.forEach((g, t) => assertClose(dot(g, r.direction), Math.pow(w[t], -1 / alpha), 1e-8 * Math.pow(w[t], -1 / alpha), `α ${alpha} task ${t}`));
        assert.ok(r.solver && r.solver.residual <= 1e-10, JSON.stringify(r.solver));
        newton += r.solver.iterations;
      }
    }
    // (T = 2 with α = 1 starts on the solution: the rows of a 2×2 cosine matrix have equal sums.)
    assert.ok(newton >= 4 * cases.length, `${newton} Newton iterations in all`);
  });

  it("α = 1 is Nash-MTL; the default scale is the paper's weights rescaled to Σw = T", () => {
    for (const G of cases) {
      assertAllClose(aggregate('fairgrad', G).weights ?? [], aggregate('nash', G).weights ?? [], 1e-9);
      const paper = aggregate('fairgrad', G, { alpha: 2, scale: 'paper' }).weights ?? new Float64Array(0);
      const total = paper.reduce((a, b) => a + b, 0);
      assertAllClose(aggregate('fairgrad', G, { alpha: 2 }).weights ?? [], paper.map((x) => (x * G.length) / total), 1e-12);
    }
  });

  it('larger α moves towards max-min fairness (the ratio of the largest to the smallest decrease g_tᵀd falls), small α towards the sum', () => {
    const G = cases[2];
    const spreads = [0.5, 1, 2, 5, 10].map((alpha) => {
      const d = aggregate('fairgrad', G, { alpha }).direction;
      const decreases = G.map((g) => dot(g, d));
      return Math.max(...decreases) / Math.min(...decreases);
    });
    for (let k = 1; k < spreads.length; k++) assert.ok(spreads[k] < spreads[k - 1], `max/min decrease by α: ${spreads}`);
    // Smaller α: closer to the plain sum (w_t = (GGᵀw)_t^(−α) → 1).
    const sum = aggregate('sum', G).direction;
    const distances = [1, 0.5, 0.2, 0.1].map((alpha) => {
      const d = aggregate('fairgrad', G, { alpha }).direction;
      return norm(d.map((x, k) => x - sum[k])) / norm(sum);
    });
    for (let k = 1; k < distances.length; k++) assert.ok(distances[k] < distances[k - 1], `distance to the sum by α: ${distances}`);
  });

  it('gradients of very different sizes (1e-2 … 1e4) and cancelling ones', () => {
    const G = randn(rng, 4, 6).map((g, t) => g.map((x) => x * 10 ** (2 * t - 2)));
    for (const alpha of [0.5, 2]) {
      const r = aggregate('fairgrad', G, { alpha, scale: 'paper' });
      const w = r.weights ?? new Float64Array(0);
      const K = gramOf(G);
      for (let t = 0; t < 4; t++) {
        let s = 0;
        for (let j = 0; j < 4; j++) s += K[t * 4 + j] * w[j];
        assertClose(Math.pow(w[t], 1 / alpha) * s, 1, 1e-7, `α ${alpha} task ${t}`);
      }
    }
    // Opposite gradients: no positive solution; the ridged system gives them equal weights.
    const w = aggregate('fairgrad', [[1, 0], [-1, 0]], { alpha: 2 }).weights ?? [];
    assertClose(w[0], w[1], 1e-9 * Math.abs(w[0]));
  });

  it('options are checked', () => {
    assert.throws(() => aggregate('fairgrad', [[1, 0]], { alpha: 0 }), /balance\.alpha \(method "fairgrad"\) must be a finite number in \(0, 10\], got 0/);
    assert.throws(() => aggregate('fairgrad', [[1, 0]], { scale: 'official' as never }), /balance\.scale \(method "[^"]+"\) must be one of "sum", "paper"/);
    assert.throws(() => aggregate('fairgrad', cases[3], { maxIter: 1, tol: 1e-14 }), /aggregator 'fairgrad': Newton's method on the α-fair condition .* did not converge: residual .* after 1 iterations/);
  });
});
