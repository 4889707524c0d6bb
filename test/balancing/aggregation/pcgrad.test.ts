import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import { pcgradRows } from '../../../src/balancing/aggregation/methods/pcgrad.js';
import { taskOrders } from '../../../src/balancing/aggregation/orders.js';
import { Rng } from '../../../src/util/rng.js';
import { assertAllClose, comb, dot, gramOf, randn, scenarios } from './helpers.js';

describe('pcgrad', () => {
  it('T=2: each gradient loses its component along the other when they conflict', () => {
    const g1 = [1, 0.2, -0.5];
    const g2 = [-0.7, 1, 0.1];
    assert.ok(dot(g1, g2) < 0);
    const p1 = g1.map((v, k) => v - (dot(g1, g2) / dot(g2, g2)) * g2[k]);
    const p2 = g2.map((v, k) => v - (dot(g1, g2) / dot(g1, g1)) * g1[k]);
    assertAllClose(aggregate('pcgrad', [g1, g2]).direction, p1.map((v, k) => v + p2[k]), 1e-12);
    assert.ok(Math.abs(dot(p1, g2)) < 1e-12 && Math.abs(dot(p2, g1)) < 1e-12);
  });

  it('no conflict: the plain sum', () => {
    const G = [[1, 0.1], [0.5, 1], [0.2, 0.3]];
    assertAllClose(aggregate('pcgrad', G).direction, [1.7, 1.4], 1e-15);
  });

  for (const [name, G] of Object.entries(scenarios(200, 5, 6))) {
    it(`${name}: no negative inner product between a projected gradient and the task it was projected on`, () => {
      const K = gramOf(G);
      const scale = Math.max(...G.map((g) => dot(g, g)));
      for (let step = 0; step < 5; step++) {
        let projections = 0;
        const W = pcgradRows(K, 5, taskOrders(5, 'pcgrad', 3, step), (_i, _j, after) => {
          projections++;
          assert.ok(after >= -1e-12 * scale, `inner product after projection ${after}`);
        });
        // Check the same on the actual vectors.
        for (let i = 0; i < 5; i++) assert.equal(W[i * 5 + i], 1);
        if (name === 'conflicting') assert.ok(projections > 0);
      }
    });
  }

  it('explicit order is deterministic and matches the projection loop', () => {
    const rng = new Rng(5);
    const G = randn(rng, 4, 3);
    const order = [3, 1, 0, 2];
    const a = aggregate('pcgrad', G, { order, seed: 1 });
    const b = aggregate('pcgrad', G, { order, seed: 2 }, { method: 'pcgrad', step: 17 });
    assert.deepEqual(Array.from(a.direction), Array.from(b.direction));
    // Reference: the loop on the vectors themselves.
    const expected = new Array<number>(3).fill(0);
    for (let i = 0; i < 4; i++) {
      const r = [...G[i]];
      for (const j of order) {
        if (j === i) continue;
        const c = dot(r, G[j]);
        if (c < 0) for (let k = 0; k < 3; k++) r[k] -= (c / dot(G[j], G[j])) * G[j][k];
      }
      for (let k = 0; k < 3; k++) expected[k] += r[k];
    }
    assertAllClose(a.direction, expected, 1e-12);
  });

  it('same seed and step: same result; the orders change with the seed and from step to step', () => {
    const G = scenarios(201, 6, 3).conflicting;
    const a = aggregate('pcgrad', G, { seed: 42 });
    const b = aggregate('pcgrad', G, { seed: 42 });
    assert.deepEqual(Array.from(a.direction), Array.from(b.direction));
    const seen = new Set<string>();
    let state = a.state;
    for (let s = 0; s < 8; s++) {
      const r = aggregate('pcgrad', G, { seed: 42 }, state);
      state = r.state;
      seen.add(Array.from(r.direction, (v) => v.toFixed(9)).join(','));
    }
    for (let seed = 0; seed < 8; seed++) seen.add(Array.from(aggregate('pcgrad', G, { seed }).direction, (v) => v.toFixed(9)).join(','));
    assert.ok(seen.size > 3, `only ${seen.size} distinct results`);
  });

  it('weights are the column sums of the projected-row coefficients', () => {
    const G = scenarios(202, 3, 4).random;
    const r = aggregate('pcgrad', G, { order: [0, 1, 2] });
    assertAllClose(comb(G, r.weights ?? []), r.direction, 1e-12);
  });
});
