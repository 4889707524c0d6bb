import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import { projectionWeights } from '../../../src/balancing/aggregation/methods/upgrad.js';
import { Rng } from '../../../src/util/rng.js';
import { assertAllClose, dot, gramOf, norm, randn, scenarios } from './helpers.js';

describe('upgrad', () => {
  for (const T of [2, 3, 6]) {
    for (const [name, G] of Object.entries(scenarios(800 + T, T, 5))) {
      it(`T=${T} ${name}: non-negative inner product with every task gradient`, () => {
        const scale = Math.max(...G.map((g) => dot(g, g)));
        // Exactly (no ridge).
        const exact = aggregate('upgrad', G, { regEps: 0 }).direction;
        for (const g of G) assert.ok(dot(g, exact) >= -1e-9 * scale, `regEps 0: ${dot(g, exact)}`);
        // torchjd's ridge 1e-4·trace may leave at most −regEps·trace·Σ_t v_t[j].
        const r = aggregate('upgrad', G);
        const tr = G.reduce((s, g) => s + dot(g, g), 0);
        const V = projectionWeights(gramOf(G), T, new Array<number>(T).fill(1), 1e-12, 1e-4).rows;
        G.forEach((g, j) => {
          const bound = 1e-4 * tr * V.reduce((s, v) => s + v[j], 0);
          assert.ok(dot(g, r.direction) >= -bound - 1e-9 * scale, `default: ${dot(g, r.direction)} < −${bound}`);
        });
      });
    }
  }

  it('each projection solves its QP: v ≥ u, Kv ≥ 0, (v − u)ᵢ(Kv)ᵢ = 0', () => {
    const rng = new Rng(810);
    for (let rep = 0; rep < 20; rep++) {
      const T = 2 + (rep % 7);
      const G = randn(rng, T, 4);
      const K = gramOf(G);
      let tr = 0;
      for (let t = 0; t < T; t++) tr += K[t * T + t];
      const V = projectionWeights(K, T, new Array<number>(T).fill(1), 0, 0).rows;
      V.forEach((v, t) => {
        for (let i = 0; i < T; i++) {
          let kv = 0;
          for (let j = 0; j < T; j++) kv += (K[i * T + j] / tr) * v[j];
          const u = i === t ? 1 : 0;
          assert.ok(v[i] >= u - 1e-12);
          assert.ok(kv >= -1e-10);
          assert.ok(Math.abs((v[i] - u) * kv) < 1e-9, `complementarity ${(v[i] - u) * kv}`);
        }
      });
    }
  });

  it('T=2 with conflict (no ridge) is PCGrad; no conflict is the sum; pref 1/T is the mean', () => {
    const G = [[1, 0.2, -0.5], [-0.7, 1, 0.1]];
    assertAllClose(aggregate('upgrad', G, { regEps: 0 }).direction, aggregate('pcgrad', G).direction, 1e-10);
    const H = [[1, 0.1], [0.5, 1], [0.2, 0.3]];
    assertAllClose(aggregate('upgrad', H).direction, aggregate('sum', H).direction, 1e-12);
    assertAllClose(aggregate('upgrad', H, { pref: [1 / 3, 1 / 3, 1 / 3] }).direction, aggregate('mean', H).direction, 1e-12);
    assert.ok(norm(aggregate('upgrad', H, { pref: [1, 0, 0] }).direction) > 0);
  });
});
