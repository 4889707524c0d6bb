import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import { assertAllClose } from './helpers.js';

describe('graddrop (gradient sign dropout)', () => {
  it('each entry keeps the positive sign with probability P = ½(1 + Σg/Σ|g|) (20,000 entries of purity 0.7)', () => {
    // Column j: task 0 gives +0.7, task 1 gives −0.3: P = ½(1 + 0.4/1) = 0.7.
    const d = 20000;
    const G = [new Array<number>(d).fill(0.7), new Array<number>(d).fill(-0.3)];
    const r = aggregate('graddrop', G, { seed: 3 });
    let positive = 0;
    for (const x of r.direction) {
      if (Math.abs(x - 0.7) < 1e-15) positive++;
      else assert.ok(Math.abs(x + 0.3) < 1e-15, `entry ${x}: neither task's entry alone`);
    }
    // Binomial(20000, 0.7): standard deviation 0.0032; 4σ.
    assert.ok(Math.abs(positive / d - 0.7) < 0.013, `positive share ${positive / d}`);
    // The kept shares: task 0 keeps its entries where the positive sign won.
    assertAllClose(r.weights!, [positive / d, 1 - positive / d], 1e-12);
  });

  it('agreeing tasks are summed untouched; leak 1 is the plain sum; a per-task leak lets that share of the dropped entries through', () => {
    assertAllClose(aggregate('graddrop', [[1, -2, 0], [3, -1, 0]]).direction, [4, -3, 0], 1e-15);
    const G = [[1, -2, 0.5, 4], [-3, 1, -0.5, -1]];
    assertAllClose(aggregate('graddrop', G, { leak: 1 }).direction, [-2, -1, 0, 3], 1e-15);
    const r0 = aggregate('graddrop', G, { seed: 9 }).direction;
    const r = aggregate('graddrop', G, { seed: 9, leak: [0.25, 0] }).direction;
    // Same draws: where task 0's entry was dropped (r0 has no part of it), a quarter of it comes back.
    for (let j = 0; j < 4; j++) {
      const dropped0 = Math.abs(r0[j] - G[1][j]) < 1e-15;
      assert.ok(Math.abs(r[j] - (dropped0 ? G[1][j] + 0.25 * G[0][j] : r0[j])) < 1e-15, `entry ${j}: ${r[j]} vs ${r0[j]}`);
    }
  });

  it('the draws come from (seed, step): the same state repeats them, the next step draws anew', () => {
    const d = 64;
    const G = [Array.from({ length: d }, (_, j) => Math.sin(j + 1)), Array.from({ length: d }, (_, j) => Math.cos(3 * j))];
    const a = aggregate('graddrop', G, { seed: 5 });
    assert.deepEqual(aggregate('graddrop', G, { seed: 5 }).direction, a.direction);
    const next = aggregate('graddrop', G, { seed: 5 }, a.state);
    assert.equal(next.state.step, 2);
    assert.notDeepEqual(next.direction, a.direction);
    assert.deepEqual(aggregate('graddrop', G, { seed: 5 }, JSON.parse(JSON.stringify(a.state))).direction, next.direction);
    assert.notDeepEqual(aggregate('graddrop', G, { seed: 6 }).direction, a.direction);
  });

  it('refuses a leak outside [0, 1] or of the wrong length, naming the option', () => {
    assert.throws(() => aggregate('graddrop', [[1], [2]], { leak: 1.5 }), /balance\.leak \(method "graddrop"\) must be a finite number in \[0, 1\], got 1\.5/);
    assert.throws(() => aggregate('graddrop', [[1], [2]], { leak: [0, 2] }), /balance\.leak \(method "graddrop"\) must be a number in \[0, 1\] or an array of them/);
    assert.throws(() => aggregate('graddrop', [[1], [2]], { leak: [0, 0.5, 1] }), /balance\.leak \(method "graddrop"\) has 3 entries but the gradient matrix has 2 task rows/);
  });
});
