import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import { Rng } from '../../../src/util/rng.js';
import { assertAllClose, comb, dot, norm, randn, scenarios } from './helpers.js';
import type { Rows } from './helpers.js';

/**
 * CAGrad for two tasks in closed form: with g_w = x·g1 + (1 − x)·g2 the dual
 * objective is F(x) = ½(a − e)x + const + s·√(px² + 2qx + r); F′(x) = 0 is a
 * quadratic after squaring. Returns the unscaled direction g0 + (s/‖g_w‖)·g_w.
 */
function cagrad2(g1: number[], g2: number[], c: number): number[] {
  const a = dot(g1, g1);
  const b = dot(g1, g2);
  const e = dot(g2, g2);
  const g0 = g1.map((v, k) => (v + g2[k]) / 2);
  const s = c * norm(g0);
  const p = a + e - 2 * b;
  const q = b - e;
  const r = e;
  const F = (x: number): number => 0.5 * (a - e) * x + s * Math.sqrt(Math.max(0, p * x * x + 2 * q * x + r));
  const candidates = [0, 1];
  const k = -(a - e) / (2 * s);
  const A = p * (p - k * k);
  const B = 2 * q * (p - k * k);
  const C = q * q - k * k * r;
  if (Math.abs(A) > 1e-300) {
    const disc = B * B - 4 * A * C;
    if (disc >= 0) for (const sg of [-1, 1]) candidates.push((-B + sg * Math.sqrt(disc)) / (2 * A));
  } else if (Math.abs(B) > 1e-300) candidates.push(-C / B);
  let best = 0;
  for (const x of candidates) if (x >= 0 && x <= 1 && F(x) < F(best)) best = x;
  const gw = comb([g1, g2], [best, 1 - best]);
  const ngw = norm(gw);
  return g0.map((v, i) => v + (s / ngw) * gw[i]);
}

describe('cagrad', () => {
  it('T=2 matches the closed form, c ∈ {0.2, 0.5, 0.9}', () => {
    const rng = new Rng(400);
    const cases: Rows[] = [];
    for (let i = 0; i < 20; i++) cases.push(randn(rng, 2, 2 + (i % 4)).map((g, t) => g.map((v) => v * (t === 0 ? 1 : 0.1 + 3 * rng.next()))));
    for (const [, G] of Object.entries(scenarios(401, 2, 4))) if (norm(G[0]) > 0 && norm(G[1]) > 0) cases.push(G);
    for (const G of cases) {
      for (const c of [0.2, 0.5, 0.9]) {
        const ref = cagrad2(G[0], G[1], c).map((v) => (2 * v) / (1 + c));
        assertAllClose(aggregate('cagrad', G, { c }).direction, ref, 1e-8, `c=${c}`);
      }
    }
  });

  it('solves the primal: ‖d − g0‖ ≤ c‖g0‖ and no point of the ball does better on the worst task', () => {
    const rng = new Rng(402);
    for (let rep = 0; rep < 12; rep++) {
      const T = 3 + (rep % 3);
      const G = randn(rng, T, 4).map((g, t) => g.map((v) => v * (0.3 + t)));
      const c = 0.5;
      const d = Array.from(aggregate('cagrad', G, { c, rescale: 0 }).direction, (v) => v / T);
      const g0 = comb(G, new Array<number>(T).fill(1 / T));
      const radius = c * norm(g0);
      const gap = norm(d.map((v, k) => v - g0[k]));
      assert.ok(gap <= radius * (1 + 1e-9), `outside the ball: ${gap} > ${radius}`);
      const worst = (x: number[]): number => Math.min(...G.map((g) => dot(g, x)));
      const ours = worst(d);
      for (let s = 0; s < 4000; s++) {
        const u = randn(rng, 1, 4)[0];
        const nu = norm(u);
        const x = g0.map((v, k) => v + (radius * Math.sqrt(rng.next())) * (u[k] / nu));
        assert.ok(worst(x) <= ours + 1e-9 * norm(g0) ** 2, `sample beats CAGrad: ${worst(x)} > ${ours}`);
      }
    }
  });

  it('c = 0 is the sum; rescale 0 / 1 / 2 divide T·d by 1 / 1+c² / 1+c', () => {
    const G = scenarios(403, 3, 5).conflicting;
    assertAllClose(aggregate('cagrad', G, { c: 0 }).direction, aggregate('sum', G).direction, 1e-12);
    const raw = aggregate('cagrad', G, { c: 0.5, rescale: 0 }).direction;
    assertAllClose(aggregate('cagrad', G, { c: 0.5, rescale: 1 }).direction, Array.from(raw, (v) => v / 1.25), 1e-12);
    assertAllClose(aggregate('cagrad', G, { c: 0.5, rescale: 2 }).direction, Array.from(raw, (v) => v / 1.5), 1e-12);
  });

  it('agreeing gradients (no conflict) give exactly the sum with the default rescale', () => {
    const g = [1, -2, 0.5];
    const G = [g, g.map((v) => 2 * v), g.map((v) => 0.5 * v)];
    assertAllClose(aggregate('cagrad', G).direction, g.map((v) => 3.5 * v), 1e-9);
  });
});

describe('cagrad: degenerate hulls', () => {
  it('when the optimal g_w vanishes (0 in the hull) the direction is g0, with bounded weights', () => {
    for (const G of [[[1, 0], [-1, 0], [0, 1]], [[1, 2], [0, 0], [-3, 1]]]) {
      const r = aggregate('cagrad', G);
      const g0 = comb(G, [1 / 3, 1 / 3, 1 / 3]);
      assertAllClose(r.direction, g0.map((v) => (3 * v) / 1.5), 1e-9);
      for (const w of r.weights ?? []) assert.ok(Math.abs(w) < 10);
    }
  });
});
