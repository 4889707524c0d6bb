import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import { balanceMatrix } from '../../../src/balancing/aggregation/methods/aligned.js';
import { Rng } from '../../../src/util/rng.js';
import { assertAllClose, assertClose, comb, dot, gramOf, randn, scenarios } from './helpers.js';

describe('aligned', () => {
  it('full rank: the aligned gradients BG are orthogonal with equal norms √λ_min (condition number 1)', () => {
    const rng = new Rng(700);
    for (let rep = 0; rep < 20; rep++) {
      const T = 2 + (rep % 5);
      const G = randn(rng, T, T + 4).map((g, t) => g.map((v) => v * (0.5 + t)));
      const K = gramOf(G);
      const { B } = balanceMatrix(K, T);
      const aligned = Array.from({ length: T }, (_, i) => comb(G, Array.from({ length: T }, (_, j) => B[i * T + j])));
      const n0 = dot(aligned[0], aligned[0]);
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          const v = dot(aligned[i], aligned[j]);
          if (i === j) assertClose(v, n0, 1e-8 * n0, 'equal norms');
          else assertClose(v, 0, 1e-8 * n0, 'orthogonal');
        }
      }
      // The direction is their sum, so it projects equally onto each of them.
      const d = aggregate('aligned', G).direction;
      for (const a of aligned) assertClose(dot(d, a), n0, 1e-8 * n0 * T);
    }
  });

  it('rank-deficient: aligned gradients still orthogonal-equal on the range, zero rows weighted 0', () => {
    for (const [name, G] of Object.entries(scenarios(710, 4, 3))) {
      // T = 4 rows in R³: rank ≤ 3.
      const K = gramOf(G);
      const { B } = balanceMatrix(K, 4);
      const BKB = new Float64Array(16);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
        let s = 0;
        for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) s += B[i * 4 + a] * K[a * 4 + b] * B[b * 4 + j];
        BKB[i * 4 + j] = s;
      }
      // BKB = λ·P with P a projection: (BKB)² = λ·BKB.
      let tr = 0;
      for (let i = 0; i < 4; i++) tr += BKB[i * 4 + i];
      assert.ok(tr > 0, name);
      const sq = new Float64Array(16);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) sq[i * 4 + j] += BKB[i * 4 + k] * BKB[k * 4 + j];
      const lam = sq.reduce((s, v, i) => s + (i % 5 === 0 ? v : 0), 0) / tr;
      assertAllClose(sq, Array.from(BKB, (v) => lam * v), 1e-6, name);
    }
    const r = aggregate('aligned', [[1, 0], [0, 0], [0, 2]]);
    assert.equal(r.weights?.[1], 0);
    // Orthogonal rows of norms 1 and 2: both brought to the smaller norm.
    assertAllClose(r.direction, [1, 1], 1e-12);
  });
});
