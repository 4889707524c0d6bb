import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import type { DbmtlState } from '../../../src/balancing/aggregation/index.js';
import { Rng } from '../../../src/util/rng.js';
import { assertAllClose, assertClose, norm, randn, scenarios } from './helpers.js';

describe('dbmtl', () => {
  it('every buffered gradient is scaled to the largest buffered norm', () => {
    for (const [name, G] of Object.entries(scenarios(900, 4, 6))) {
      const r = aggregate('dbmtl', G, { beta: 0 });
      const maxN = Math.max(...G.map(norm));
      G.forEach((g, t) => {
        if (norm(g) > 0) assertClose((r.weights?.[t] ?? NaN) * norm(g), maxN, 1e-7 * maxN, name);
      });
    }
    // Equal norms and beta = 0: the sum.
    const G = [[3, 4], [0, 5], [-5, 0]];
    assertAllClose(aggregate('dbmtl', G, { beta: 0, eps: 0 }).direction, [-2, 9], 1e-12);
  });

  it('the buffer is the EMA ĝ ← (1 − β_k)g + β_k ĝ with β_k = β/k^σ, from zero', () => {
    const rng = new Rng(910);
    const beta = 0.8;
    const sigma = 0.5;
    const buf = [new Array<number>(3).fill(0), new Array<number>(3).fill(0)];
    let state: DbmtlState | undefined;
    for (let k = 1; k <= 6; k++) {
      const G = randn(rng, 2, 3);
      const bk = beta / Math.pow(k, sigma);
      for (let t = 0; t < 2; t++) for (let j = 0; j < 3; j++) buf[t][j] = (1 - bk) * G[t][j] + bk * buf[t][j];
      const r = aggregate('dbmtl', G, { beta, betaSigma: sigma, eps: 0 }, state);
      state = r.state as DbmtlState;
      for (let t = 0; t < 2; t++) assertAllClose(state.buffer?.[t] ?? [], buf[t], 1e-12);
      const maxN = Math.max(norm(buf[0]), norm(buf[1]));
      const expected = [0, 1, 2].map((j) => (maxN / norm(buf[0])) * buf[0][j] + (maxN / norm(buf[1])) * buf[1][j]);
      assertAllClose(r.direction, expected, 1e-12);
      assert.equal(state.step, k);
    }
  });

  it('the state is JSON: the buffer serialises as plain arrays and is accepted back', () => {
    const r = aggregate('dbmtl', [[1, 2], [3, 4]]);
    const json = JSON.parse(JSON.stringify(r.state)) as DbmtlState;
    assert.ok(Array.isArray(json.buffer?.[0]));
    assertAllClose(json.buffer?.[1] ?? [], [0.3, 0.4], 1e-15);
    const a = aggregate('dbmtl', [[0, 1], [1, 0]], undefined, r.state);
    const b = aggregate('dbmtl', [[0, 1], [1, 0]], undefined, json);
    assert.deepEqual(Array.from(a.direction), Array.from(b.direction));
  });
});

describe('dbmtl: corrupt state', () => {
  it('a non-finite buffer entry is reported with its position', () => {
    const state: DbmtlState = { method: 'dbmtl', step: 1, buffer: [[0, 1], [Number.NaN, 2]] };
    assert.throws(() => aggregate('dbmtl', [[1, 2], [3, 4]], undefined, state), /state.buffer has a non-finite entry at row 1, column 0/);
  });
});
