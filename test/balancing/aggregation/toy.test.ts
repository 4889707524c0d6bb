import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, TOY_PARETO, TOY_STARTS, runToy, toyParetoX2, toyProblem } from '../../../src/balancing/aggregation/index.js';
import type { AggregatorName } from '../../../src/balancing/aggregation/index.js';
import { assertClose } from './helpers.js';

/** On the Pareto set: x1 ∈ [−7, 7] and x2 within 0.05 of the Pareto curve there (≈ −8.355 in the middle). */
function onPareto(x: [number, number]): boolean {
  return x[0] >= TOY_PARETO.x1Min - 0.01 && x[0] <= TOY_PARETO.x1Max + 0.01 && Math.abs(x[1] - toyParetoX2(x[0])) < 0.05;
}

const show = (x: [number, number]): string => `(${x[0].toFixed(3)}, ${x[1].toFixed(3)})`;

describe('toy problem', () => {
  it('analytic gradients match central differences (f1 scaled by 0.1 and unscaled)', () => {
    const points: [number, number][] = [[-8.5, 7.5], [0.3, 0.7], [9, 9], [-7.5, -0.5], [9, -1], [2, -3], [-4.2, 1.3], [6, -8.3]];
    for (const scale of [0.1, 1]) {
      for (const x of points) {
        const { grads } = toyProblem(x, scale);
        for (let i = 0; i < 2; i++) {
          const h = 1e-6;
          const xp: [number, number] = [x[0], x[1]];
          const xm: [number, number] = [x[0], x[1]];
          xp[i] += h;
          xm[i] -= h;
          const fp = toyProblem(xp, scale).losses;
          const fm = toyProblem(xm, scale).losses;
          for (let t = 0; t < 2; t++) {
            const fd = (fp[t] - fm[t]) / (2 * h);
            assertClose(grads[t][i], fd, 1e-5 * Math.max(1, Math.abs(fd)), `∂f${t + 1}/∂x${i + 1} at ${x}`);
          }
        }
      }
    }
  });

  it('the Pareto curve: x2 = −8.3552 at x1 = 0, gradients opposed along it', () => {
    assertClose(toyParetoX2(0), TOY_PARETO.x2, 1e-4);
    for (const x1 of [-6.5, -3, 0, 2, 5.5]) {
      const { grads } = toyProblem([x1, toyParetoX2(x1)]);
      const [g1, g2] = grads;
      const cos = (g1[0] * g2[0] + g1[1] * g2[1]) / (Math.hypot(...g1) * Math.hypot(...g2));
      assertClose(cos, -1, 1e-9);
    }
  });

  it('Adam: PyTorch defaults, bias-corrected first step of size lr along −sign(g)', () => {
    const x = Float64Array.of(1, -2);
    const adam = new Adam(2);
    adam.step(x, [0.5, -3]);
    assertClose(x[0], 1 - 1e-3, 1e-10);
    assertClose(x[1], -2 + 1e-3, 1e-10);
    // Second step by hand.
    const m = [0.9 * 0.05 + 0.1 * 0.2, 0.9 * -0.3 + 0.1 * 1];
    const v = [0.999 * 0.00025 + 0.001 * 0.04, 0.999 * 0.009 + 0.001 * 1];
    const expected = [0, 1].map((i) => x[i] - (1e-3 / (1 - 0.81)) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - 0.998001) + 1e-8)));
    adam.step(x, [0.2, 1]);
    assertClose(x[0], expected[0], 1e-12);
    assertClose(x[1], expected[1], 1e-12);
  });

  // Nash-MTL's setting: f1 × 0.1, Adam lr 1e-3, its five starts, 35 000 steps.
  // Expected to reach the Pareto set from every start (Nash-MTL paper, Fig. 3:
  // Nash-MTL and MGDA do; IMTL-G is scale-invariant like Nash-MTL and does too).
  for (const m of ['mgda', 'nash', 'imtl'] as AggregatorName[]) {
    it(`${m} reaches the Pareto set from all five starts within 35k steps (f1 × 0.1)`, () => {
      for (const s of TOY_STARTS) {
        const r = runToy(m, s);
        assert.ok(onPareto(r.x), `${m} from ${show(s as [number, number])} ended at ${show(r.x)}`);
      }
    });
  }

  // FairGrad (α = 2; α = 1 is Nash-MTL) gets there from every start like Nash-MTL.
  it('fairgrad (α = 2) reaches the Pareto set from all five starts within 35k steps (f1 × 0.1)', () => {
    for (const s of TOY_STARTS) {
      const r = runToy('fairgrad', s, { options: { alpha: 2 } });
      assert.ok(onPareto(r.x), `fairgrad from ${show(s as [number, number])} ended at ${show(r.x)}`);
    }
  });

  // The stateful methods, from the starts they reach within 35k steps (docs/aggregation.md): ExcessMTL
  // stalls above the x1 axis from (−8.5, 7.5) and (9, 9); MoCo on the raw gradients (the toy's losses go
  // negative, so no loss scaling) ends 0.06–0.07 off the curve from the two starts below the x1 axis, its
  // tracked gradients lagging; CR-MOGM's averaged MGDA weights are still on their way from (−8.5, 7.5).
  for (const [m, options, reached] of [
    ['excessmtl', {}, [[0, 0], [-7.5, -0.5], [9, -1]]],
    ['moco', { normalization: 'none' }, [[-8.5, 7.5], [0, 0], [9, 9]]],
    ['crmogm', { inner: 'mgda' }, [[0, 0], [9, 9], [-7.5, -0.5], [9, -1]]],
    // GradDrop (seed 0) from the three starts below or on the x1 axis; from the far two its sign draws end it off the curve.
    ['graddrop', {}, [[0, 0], [-7.5, -0.5], [9, -1]]],
  ] as [AggregatorName, Record<string, unknown>, [number, number][]][]) {
    it(`${m} reaches the Pareto set from ${reached.length} of the 5 starts within 35k steps (f1 × 0.1)`, () => {
      for (const s of reached) {
        const r = runToy(m, s, { options: options as never });
        assert.ok(onPareto(r.x), `${m} from ${show(s)} ended at ${show(r.x)}`);
      }
    });
  }

  // The multi-batch methods (needs.batches 3): runToy gives every batch the same deterministic gradients, so
  // they run in their full-gradient form, with LibMTL's defaults. Both reach the Pareto set from four starts
  // and, their weights staying near equal where the gradients are flat, stall above the x1 axis from (9, 9)
  // like the plain sum. On the Pareto set both losses are negative (why the loss-based methods, which take
  // log L or 1/L, are not on the toy).
  for (const m of ['modo', 'sdmgrad'] as AggregatorName[]) {
    it(`${m} reaches the Pareto set from 4 of the 5 starts within 35k steps and stalls from (9, 9) (f1 × 0.1)`, () => {
      for (const s of TOY_STARTS) {
        const r = runToy(m, s);
        const stalls = s[0] === 9 && s[1] === 9;
        if (stalls) {
          assert.ok(!onPareto(r.x) && r.x[1] > 0, `${m} from (9, 9) ended at ${show(r.x)}`);
        } else {
          assert.ok(onPareto(r.x), `${m} from ${show(s as [number, number])} ended at ${show(r.x)}`);
          assert.ok(r.losses[0] < 0 && r.losses[1] < 0, `losses at ${show(r.x)}: ${r.losses.join(', ')}`);
        }
      }
    });
  }

  // Within Nash-MTL's budget PCGrad and CAGrad do not reach the Pareto set from
  // every start, as that paper reports (nor do UPGrad, Aligned-MTL and plain
  // summation): they stall in the valley above the x1 axis from (9, 9), and
  // CAGrad is still on its way down from (−8.5, 7.5).
  const far = (p: readonly number[]): boolean => (p[0] === 9 && p[1] === 9) || (p[0] === -8.5 && p[1] === 7.5);
  // DualProj stalls from (9, 9) like UPGrad; ConFIG (IMTL-G's direction with its own length) is still on its
  // way from the two far starts.
  for (const m of ['pcgrad', 'cagrad', 'upgrad', 'aligned', 'dualproj', 'config'] as AggregatorName[]) {
    const starts = TOY_STARTS.filter((p) => (m === 'cagrad' || m === 'config' ? !far(p) : p[0] !== 9 || p[1] !== 9));
    it(`${m} reaches the Pareto set from ${starts.length} of the 5 starts within 35k steps (f1 × 0.1)`, () => {
      for (const s of starts) {
        const r = runToy(m, s);
        assert.ok(onPareto(r.x), `${m} from ${show(s as [number, number])} ended at ${show(r.x)}`);
      }
    });
  }

  it('pcgrad, cagrad and config reach it from the remaining starts within the CAGrad paper budget of 100k steps', () => {
    const cases: [AggregatorName, [number, number]][] = [['pcgrad', [9, 9]], ['cagrad', [9, 9]], ['cagrad', [-8.5, 7.5]], ['config', [9, 9]], ['config', [-8.5, 7.5]]];
    for (const [m, s] of cases) {
      const r = runToy(m, s, { steps: 100_000 });
      assert.ok(onPareto(r.x), `${m} from ${show(s)} ended at ${show(r.x)}`);
    }
  });

  it("CAGrad paper's setting (unscaled, its three starts, 100k steps): CAGrad finds the average's optimum, Aligned-MTL and MGDA the Pareto set", () => {
    const starts: [number, number][] = [[-8.5, 7.5], [-8.5, -5], [9, 9]];
    for (const s of starts) {
      const c = runToy('cagrad', s, { steps: 100_000, scale: 1 });
      assertClose(c.x[0], 0, 0.02, `cagrad x1 from ${show(s)}`);
      assertClose(c.x[1], TOY_PARETO.x2, 0.02, `cagrad x2 from ${show(s)}`);
      for (const m of ['aligned', 'mgda'] as AggregatorName[]) {
        const r = runToy(m, s, { steps: 100_000, scale: 1 });
        assert.ok(onPareto(r.x), `${m} from ${show(s)} ended at ${show(r.x)}`);
      }
    }
  });

  it('control: plain summation stalls from (9, 9) and ends off the Pareto set from (-8.5, 7.5) (the failures the methods above address)', () => {
    const r = runToy('sum', [9, 9]);
    assert.ok(!onPareto(r.x) && r.x[1] > 0, `sum ended at ${show(r.x)}`);
    const left = runToy('sum', [-8.5, 7.5]);
    assert.ok(!onPareto(left.x), `sum from (-8.5, 7.5) ended at ${show(left.x)}`);
  });

  it('records trajectories for plotting', () => {
    const r = runToy('nash', [0, 0], { steps: 1000, record: 100 });
    assert.equal(r.trajectory.length, 11);
    assert.deepEqual(r.trajectory[0], [0, 0]);
    assert.deepEqual(r.trajectory[10], r.x);
  });
});
