import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import { Rng } from '../../../src/util/rng.js';
import { assertAllClose, assertClose, comb, dot, gramOf, norm, randn, scenarios } from './helpers.js';
import type { Rows } from './helpers.js';

/** Smallest ‖Σ α_t g_t‖² over a grid on the simplex (T = 2 or 3). */
function gridMin(G: Rows, steps: number): number {
  let best = Infinity;
  const T = G.length;
  for (let i = 0; i <= steps; i++) {
    if (T === 2) {
      const a = i / steps;
      const v = comb(G, [a, 1 - a]);
      best = Math.min(best, dot(v, v));
      continue;
    }
    for (let j = 0; i + j <= steps; j++) {
      const v = comb(G, [i / steps, j / steps, (steps - i - j) / steps]);
      best = Math.min(best, dot(v, v));
    }
  }
  return best;
}

describe('mgda', () => {
  for (const T of [2, 3]) {
    for (const [name, G] of Object.entries(scenarios(100 + T, T, 5))) {
      it(`T=${T} ${name}: the min-norm point of the convex hull (brute-force grid)`, () => {
        const r = aggregate('mgda', G);
        const w = r.weights ?? new Float64Array(0);
        let sum = 0;
        for (const x of w) {
          assert.ok(x >= 0, 'weights ≥ 0');
          sum += x;
        }
        assertClose(sum, T, 1e-12, 'weights sum to T');
        const d = Array.from(r.direction, (v) => v / T);
        const ours = dot(d, d);
        const grid = gridMin(G, T === 2 ? 20000 : 400);
        const scale = Math.max(...G.map((g) => dot(g, g)));
        assert.ok(ours <= grid + 1e-12 * scale, `ours ${ours} > grid ${grid}`);
        // The grid is within its resolution of the true minimum.
        assert.ok(grid - ours <= (T === 2 ? 1e-6 : 1e-3) * scale, `grid ${grid} far above ours ${ours}`);
      });
    }
  }

  it('T=6: the KKT conditions of the simplex QP hold exactly', () => {
    const rng = new Rng(7);
    for (let rep = 0; rep < 20; rep++) {
      const G = randn(rng, 6, 4 + (rep % 5)).map((g, t) => g.map((v) => v * (1 + t)));
      const r = aggregate('mgda', G);
      const a = Array.from(r.weights ?? [], (x) => x / 6);
      const K = gramOf(G);
      const Ka = a.map((_, i) => a.reduce((s, aj, j) => s + K[i * 6 + j] * aj, 0));
      const val = a.reduce((s, ai, i) => s + ai * Ka[i], 0);
      const scale = Math.max(...G.map((g) => dot(g, g)));
      for (let i = 0; i < 6; i++) {
        assert.ok(a[i] >= 0);
        // g_iᵀd ≥ ‖d‖² for every task, with equality on the support.
        assert.ok(Ka[i] >= val - 1e-10 * scale, `task ${i}: ${Ka[i]} < ${val}`);
        if (a[i] > 1e-9) assertClose(Ka[i], val, 1e-9 * scale, `support ${i}`);
      }
    }
  });

  it('gradient norms eight orders of magnitude apart: still the exact min-norm point (KKT)', () => {
    const rng = new Rng(8);
    for (let rep = 0; rep < 20; rep++) {
      const T = 2 + (rep % 5);
      const G = randn(rng, T, 6).map((g) => g.map((v) => v * 10 ** (rng.next() * 8 - 4)));
      const a = Array.from(aggregate('mgda', G).weights ?? [], (x) => x / T);
      const K = gramOf(G);
      const Ka = a.map((_, i) => a.reduce((s, aj, j) => s + K[i * T + j] * aj, 0));
      const val = a.reduce((s, ai, i) => s + ai * Ka[i], 0);
      for (let i = 0; i < T; i++) {
        // The solver's relative 1e-12 ridge on the K_jj shifts the solution by ~1e-12·max_j K_jj·α_j.
        const tol = 1e-9 * val + 1e-10 * Math.max(...a.map((aj, j) => K[j * T + j] * aj));
        assert.ok(Ka[i] >= val - tol, `task ${i}: ${Ka[i]} < ${val}`);
        if (a[i] > 0) assert.ok(Math.abs(Ka[i] - val) <= tol, `support ${i}: ${Ka[i]} vs ${val}`);
      }
    }
  });

  it('T=2 closed form: γ = (g2·g2 − g1·g2)/‖g1 − g2‖², clipped to [0, 1]', () => {
    const g1 = [2, 0];
    const g2 = [-1, 1];
    const g = (dot(g2, g2) - dot(g1, g2)) / (dot(g1, g1) + dot(g2, g2) - 2 * dot(g1, g2));
    assertAllClose(aggregate('mgda', [g1, g2]).direction, comb([g1, g2], [2 * g, 2 * (1 - g)]), 1e-12);
    // A gradient inside the other's "shadow": all weight on the smaller one.
    assertAllClose(aggregate('mgda', [[1, 0], [3, 1]]).weights ?? [], [2, 0], 1e-12);
  });

  it('a zero gradient is Pareto-stationary: zero direction', () => {
    const r = aggregate('mgda', [[1, 2], [0, 0], [-3, 1]]);
    assertAllClose(r.direction, [0, 0], 1e-10);
    assertAllClose(r.weights ?? [], [0, 3, 0], 1e-9);
  });

  it("normalisations: weights from the normalised hull, applied to the raw gradients", () => {
    const rng = new Rng(9);
    const G = randn(rng, 3, 5).map((g, t) => g.map((v) => v * 10 ** t));
    const losses = [0.5, 2, 7];
    const norms = G.map(norm);
    const cases = [
      ['l2', norms],
      ['loss', losses],
      ['loss+', losses.map((l, t) => l * norms[t])],
    ] as const;
    for (const [normalization, n] of cases) {
      const r = aggregate('mgda', G, { normalization, losses });
      const scaled = G.map((g, t) => g.map((v) => v / n[t]));
      const ref = aggregate('mgda', scaled);
      assertAllClose(r.weights ?? [], ref.weights ?? [], 1e-9, normalization);
      assertAllClose(r.direction, comb(G, ref.weights ?? []), 1e-9, normalization);
    }
    // 'ub' only tells the training loop what the rows are.
    assertAllClose(aggregate('mgda', G, { ub: true }).direction, aggregate('mgda', G).direction, 0);
  });
});
