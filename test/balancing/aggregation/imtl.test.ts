import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import { Rng } from '../../../src/util/rng.js';
import { assertAllClose, assertClose, comb, dot, norm, randn, scenarios } from './helpers.js';

describe('imtl', () => {
  for (const T of [2, 3, 5]) {
    for (const [name, G] of Object.entries(scenarios(500 + T, T, 8))) {
      it(`T=${T} ${name}: equal projections onto every unit task gradient, weights sum to T`, () => {
        const r = aggregate('imtl', G);
        const w = Array.from(r.weights ?? []);
        assertClose(w.reduce((s, x) => s + x, 0), T, 1e-9, 'Σw');
        const proj = G.filter((g) => norm(g) > 0).map((g) => dot(r.direction, g) / norm(g));
        const scale = Math.max(...G.map(norm));
        for (const p of proj) assertClose(p, proj[0], 1e-7 * scale, 'projection');
        G.forEach((g, t) => {
          if (norm(g) === 0) assert.equal(w[t], 0, 'zero-norm task gets weight 0');
        });
      });
    }
  }

  it("matches the paper's closed form α_{2..T} = g_1Uᵀ(DUᵀ)⁻¹, α_1 = 1 − Σ", () => {
    const rng = new Rng(510);
    let negated = 0;
    for (let rep = 0; rep < 10; rep++) {
      const G = randn(rng, 3, 5).map((g, t) => g.map((v) => v * (1 + 2 * t)));
      const u = G.map((g) => g.map((v) => v / norm(g)));
      // D rows g1 − g_t, U rows u1 − u_t (t = 2, 3); solve x (DUᵀ) = g1Uᵀ for the 2×2 system.
      const D = [1, 2].map((t) => G[0].map((v, k) => v - G[t][k]));
      const U = [1, 2].map((t) => u[0].map((v, k) => v - u[t][k]));
      const M = [[dot(D[0], U[0]), dot(D[0], U[1])], [dot(D[1], U[0]), dot(D[1], U[1])]];
      const rhs = [dot(G[0], U[0]), dot(G[0], U[1])];
      // x M = rhs  ⇔  Mᵀ xᵀ = rhsᵀ
      const det = M[0][0] * M[1][1] - M[0][1] * M[1][0];
      const x0 = (rhs[0] * M[1][1] - rhs[1] * M[1][0]) / det;
      const x1 = (M[0][0] * rhs[1] - M[0][1] * rhs[0]) / det;
      const alpha = [1 - x0 - x1, x0, x1];
      const paper = comb(G, alpha.map((a) => 3 * a));
      // Where the paper's Σα = 1 gives every task the same negative projection (an ascent
      // direction), the library returns the opposite direction; otherwise exactly the paper's.
      const sign = dot(paper, u[0]) < 0 ? -1 : 1;
      if (sign < 0) negated++;
      assertAllClose(aggregate('imtl', G).direction, paper.map((v) => sign * v), 1e-9);
    }
    assert.ok(negated > 0 && negated < 10, `both cases occur (${negated} of 10 negated)`);
  });

  it('the common projection is positive even where the paper normalisation would make it negative', () => {
    // Here x = K⁻¹n has Σx < 0: the paper's α = x/Σx would give every task the projection 1/Σx < 0.
    const G = [[-4, -4, -6], [-8, 0, 7], [-5, -3, -1]];
    const r = aggregate('imtl', G);
    assertClose(Array.from(r.weights ?? []).reduce((a, b) => a + b, 0), -3, 1e-9, 'Σw = −T');
    const proj = G.map((g) => dot(r.direction, g) / norm(g));
    for (const p of proj) assertClose(p, proj[0], 1e-9 * Math.abs(proj[0]));
    assert.ok(proj[0] > 0, `common projection ${proj[0]}`);
  });
});
