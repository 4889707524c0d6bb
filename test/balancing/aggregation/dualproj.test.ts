import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import { assertAllClose, dot, scenarios } from './helpers.js';

describe('dualproj', () => {
  for (const T of [2, 3, 6]) {
    for (const [name, G] of Object.entries(scenarios(900 + T, T, 5))) {
      it(`T=${T} ${name}: no negative inner product with any task gradient (regEps 0)`, () => {
        const scale = Math.max(...G.map((g) => dot(g, g)));
        const r = aggregate('dualproj', G, { regEps: 0 });
        for (const g of G) assert.ok(dot(g, r.direction) >= -1e-9 * scale, `${dot(g, r.direction)}`);
        // v ≥ 1: the sum is kept and only conflicting parts are added (the projection's multipliers).
        for (const w of r.weights ?? []) assert.ok(w >= 1 - 1e-12, `weight ${w}`);
      });
    }
  }

  it('T=2: the sum projected onto the half-space of the task it conflicts with (hand-computed)', () => {
    // s = g1 + g2 = (−1, 1) has g1ᵀs = −1 < 0: its projection onto g1ᵀx ≥ 0 is (0, 1), which g2 agrees with.
    const r = aggregate('dualproj', [[1, 0], [-2, 1]], { regEps: 0 });
    // (1e-11: the QP's 1e-13 ridge floor, which keeps it strictly convex.)
    assertAllClose(r.direction, [0, 1], 1e-11);
    assertAllClose(r.weights ?? [], [2, 1], 1e-11);
    assert.ok(r.solver && r.solver.residual <= 1e-9);
  });

  it('no conflict: the sum (pref 1/T: the mean); one QP where UPGrad solves T', () => {
    const H = [[1, 0.1], [0.5, 1], [0.2, 0.3]];
    assertAllClose(aggregate('dualproj', H).direction, aggregate('sum', H).direction, 1e-12);
    assertAllClose(aggregate('dualproj', H, { pref: [1 / 3, 1 / 3, 1 / 3] }).direction, aggregate('mean', H).direction, 1e-12);
    const G = [[1, 0.2, -0.5], [-0.7, 1, 0.1], [0.3, -1, 0.4]];
    const one = aggregate('dualproj', G).solver?.iterations ?? 0;
    const many = aggregate('upgrad', G).solver?.iterations ?? 0;
    assert.ok(one >= 1 && one < many, `dualproj ${one} vs upgrad ${many} iterations`);
  });

  it('options: pref length and range are checked', () => {
    assert.throws(() => aggregate('dualproj', [[1, 0], [0, 1]], { pref: [1] }), /balance\.pref \(method "dualproj"\) has 1 entries but the gradient matrix has 2 task rows/);
    assert.throws(() => aggregate('dualproj', [[1, 0], [0, 1]], { pref: [1, -1] }), /balance\.pref \(method "dualproj"\) must be a non-empty array of finite numbers ≥ 0/);
  });
});
