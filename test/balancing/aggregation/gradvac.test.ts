import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import type { GradvacState } from '../../../src/balancing/aggregation/index.js';
import { gradvacRows } from '../../../src/balancing/aggregation/methods/gradvac.js';
import { taskOrders } from '../../../src/balancing/aggregation/orders.js';
import { Rng } from '../../../src/util/rng.js';
import { assertAllClose, assertClose, dot, gramOf, norm, randn, scenarios } from './helpers.js';

describe('gradvac', () => {
  it('with the initial targets 0 it is PCGrad', () => {
    for (const [name, G] of Object.entries(scenarios(300, 4, 5))) {
      const order = [2, 0, 3, 1];
      assertAllClose(aggregate('gradvac', G, { order }).direction, aggregate('pcgrad', G, { order }).direction, 1e-10, name);
    }
  });

  it('after an adjustment the cosine with g_j equals the target φ̂_ij (Eq. 2)', () => {
    const rng = new Rng(301);
    for (let rep = 0; rep < 10; rep++) {
      const G = randn(rng, 4, 6);
      const K = gramOf(G);
      const targets = Array.from({ length: 4 }, () => Array.from({ length: 4 }, () => rng.next() * 1.6 - 0.6));
      let adjusted = 0;
      gradvacRows(K, 4, targets, 0.01, taskOrders(4, 'gradvac', rep, 0), (_i, _j, cos, target) => {
        adjusted++;
        assertClose(cos, target, 1e-9, 'cos after');
      });
      assert.ok(adjusted > 0);
    }
  });

  it('T=2 by hand: g1 is moved along g2 until cos(g1′, g2) = φ̂', () => {
    const g1 = [1, 0];
    const g2 = [0.6, 0.8]; // cos = 0.6
    const phi = 0.9;
    const state: GradvacState = { method: 'gradvac', step: 3, targets: [[0, phi], [phi, 0]] };
    const r = aggregate('gradvac', [g1, g2], { beta: 0.25 }, state);
    // Row 1 adjusted: w = ‖g1‖(φ√(1−ρ²) − ρ√(1−φ²)) / (‖g2‖√(1−φ²)).
    const rho = 0.6;
    const w = (phi * Math.sqrt(1 - rho * rho) - rho * Math.sqrt(1 - phi * phi)) / Math.sqrt(1 - phi * phi);
    const g1p = [g1[0] + w * g2[0], g1[1] + w * g2[1]];
    assertClose(dot(g1p, g2) / (norm(g1p) * norm(g2)), phi, 1e-12);
    const w2 = w; // symmetric: ‖g1‖ = ‖g2‖ = 1
    const g2p = [g2[0] + w2 * g1[0], g2[1] + w2 * g1[1]];
    assertAllClose(r.direction, [g1p[0] + g2p[0], g1p[1] + g2p[1]], 1e-12);
    // EMA of the targets, updated for every pair at every step (Eq. 3).
    const next = r.state as GradvacState;
    assertClose(next.targets?.[0][1] ?? NaN, 0.75 * phi + 0.25 * rho, 1e-12);
    assertClose(next.targets?.[1][0] ?? NaN, 0.75 * phi + 0.25 * rho, 1e-12);
    assert.equal(next.step, 4);
  });

  it('targets track the EMA of the observed cosines over steps', () => {
    const G = [[1, 0], [0.6, 0.8]];
    let state: GradvacState | undefined;
    let expected = 0;
    for (let s = 0; s < 50; s++) {
      const r = aggregate('gradvac', G, { beta: 0.1 }, state);
      state = r.state as GradvacState;
      // cos observed before adjustment: 0.6 while the target is below 0.6 (no adjustment happens).
      expected = 0.9 * expected + 0.1 * 0.6;
      assertClose(state.targets?.[0][1] ?? NaN, expected, 1e-12);
    }
  });
});
