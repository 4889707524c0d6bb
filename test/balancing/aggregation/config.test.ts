import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import { assertAllClose, assertClose, dot, norm, scenarios } from './helpers.js';

describe('config (ConFIG)', () => {
  for (const T of [2, 3, 5]) {
    for (const [name, G] of Object.entries(scenarios(950 + T, T, 8))) {
      it(`T=${T} ${name}: equal positive projections onto every unit gradient, length Σ_t g_tᵀd̂`, () => {
        const r = aggregate('config', G);
        const n = norm(r.direction);
        const scale = Math.max(...G.map(norm));
        assertClose(n, G.reduce((s, g) => s + dot(g, r.direction) / n, 0), 1e-9 * scale, '‖d‖');
        const proj = G.filter((g) => norm(g) > 0).map((g) => dot(r.direction, g) / norm(g));
        for (const p of proj) {
          assertClose(p, proj[0], 1e-7 * scale, 'projection');
          assert.ok(p > 0, `projection ${p}: conflicts with a task`);
        }
      });
    }
  }

  it('T=2: the bisector of the unit gradients, as long as the gradients’ projections onto it (hand-computed)', () => {
    const G = [[3, 0], [0, -1]];
    // u1 = (1, 0), u2 = (0, −1): bisector (1, −1)/√2; projections 3/√2 and 1/√2.
    const r = aggregate('config', G);
    assertAllClose(r.direction, [2, -2], 1e-12);
    // Aligned gradients: their sum.
    assertAllClose(aggregate('config', [[1, 2], [2, 4]]).direction, [3, 6], 1e-12);
  });

  it('differs from IMTL-G only in length', () => {
    const G = scenarios(960, 4, 6).conflicting;
    const c = aggregate('config', G).direction;
    const i = aggregate('imtl', G).direction;
    assertAllClose(c.map((x) => x / norm(c)), i.map((x) => x / norm(i)), 1e-9);
    assert.ok(Math.abs(norm(c) - norm(i)) > 1e-3 * norm(i));
  });

  it('zero and cancelling gradients give a zero direction', () => {
    assertAllClose(aggregate('config', [[0, 0], [0, 0]]).direction, [0, 0], 0);
    assertAllClose(aggregate('config', [[1, 2], [-1, -2]]).direction, [0, 0], 0);
  });
});
