import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RlwBalancer } from '../../../src/balancing/strategies/index.js';
import { Rng } from '../../../src/util/rng.js';
import { close, combineValues, ctx, heads, throwsConfig, useCpu } from './helpers.js';

before(useCpu);

const H = heads(['regression', 'classification', 'binary', 'count']);

function sequence(seed: number, steps: number): number[][] {
  const b = new RlwBalancer(H);
  const rng = new Rng(seed);
  return Array.from({ length: steps }, (_, i) => combineValues(b, [1, 2, 3, 4], ctx(i, 0, rng)).weights);
}

describe('rlw', () => {
  it('weights are positive, sum to T and change every step', () => {
    const seq = sequence(7, 50);
    for (const w of seq) {
      assert.ok(w.every((x) => x > 0));
      close(
        w.reduce((a, x) => a + x, 0),
        4,
        1e-5,
      );
    }
    assert.notDeepEqual(seq[0], seq[1]);
    // E[wₜ] = 1: the mean over many steps is near 1 for every head.
    const long = sequence(3, 2000);
    for (let t = 0; t < 4; t++) close(long.reduce((a, w) => a + w[t], 0) / long.length, 1, 0.05, `head ${t}`);
  });

  it('the same seed gives the same sequence; another seed another one', () => {
    assert.deepEqual(sequence(11, 20), sequence(11, 20));
    assert.notDeepEqual(sequence(11, 20), sequence(12, 20));
  });

  it('weights are T·softmax(z) of T normals drawn from ctx.rng', () => {
    const b = new RlwBalancer(H);
    const z = (() => {
      const r = new Rng(5);
      return [r.normal(), r.normal(), r.normal(), r.normal()];
    })();
    const e = z.map(Math.exp);
    const s = e.reduce((a, x) => a + x, 0);
    const w = b.drawWeights(new Rng(5));
    w.forEach((x, t) => close(x, (4 * e[t]) / s, 1e-12));
  });

  it('takes no options and has no state', () => {
    throwsConfig(
      () => new RlwBalancer(H, { distribution: 'normal' } as never),
      /balance\.distribution is not an option of balance\.method "rlw"; it takes no options/,
    );
    assert.deepEqual(new RlwBalancer(H).getState(), {});
  });
});
