import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { aggregate, AggregatingBalancer, createStrategy } from '../../src/balancing/index.js';
import type { AggregatorName } from '../../src/balancing/aggregation/index.js';
import { rowsToTable } from '../../src/data/json.js';
import { fitHead, type Head } from '../../src/model/heads/index.js';
import { MultiHeadNetwork } from '../../src/model/network.js';
import type { EncodedData } from '../../src/training/data.js';
import type { EpochLog } from '../../src/training/history.js';
import { Rng } from '../../src/util/rng.js';
import { tidyValue } from '../../src/engine/tidy.js';
import { headLosses, Trainer } from '../../src/training/trainer.js';
import { useDefaultBackend } from '../helpers.js';

// What a gradient method did to each head (EpochLog.update, docs/balancing.md): on a problem
// where head `tiny`'s gradient is ~1000× smaller than the others', one training step (batch =
// all rows) under each method and mode; the recorded figures are checked against their
// definitions computed here from the per-head gradients (autodiff, independent of the trainer).
const n = 40;
const inputs = 5;
const units = 6;
const rng = new Rng(31);
const rows = Array.from({ length: n }, (_, i) => ({ a: rng.normal(), b: ['p', 'q', 'r'][i % 3], tiny: rng.normal() }));
const x = Float32Array.from({ length: n * inputs }, () => rng.normal());
const TINY = 2;

function setup(): { heads: Head[]; data: EncodedData; validation: EncodedData; net: MultiHeadNetwork } {
  const table = rowsToTable(rows);
  const heads = [
    fitHead({ name: 'a', column: 'a', kind: 'regression' }, table, table),
    fitHead({ name: 'b', column: 'b', kind: 'classification' }, table, table),
    fitHead({ name: 'tiny', column: 'tiny', kind: 'regression' }, table, table),
  ];
  const data = { n, inputSize: inputs, x, targets: heads.map((h) => h.encode(table)) };
  const validation = { n: 20, inputSize: inputs, x: x.slice(0, 20 * inputs).map((v) => -v), targets: heads.map((h) => h.encode(rowsToTable(rows.slice(20)))) };
  const net = MultiHeadNetwork.create(inputs, [{ units, activation: 'tanh' }], heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })), new Rng(5));
  // Scaling the head's layer by 10⁻³ scales its gradient on the trunk by as much (≈10⁻³ of the others').
  for (const v of net.headVariables[TINY]) v.assign(tf.mul(v, 4e-4));
  return { heads, data, validation, net };
}

type Vec = Float64Array;
const dot = (a: Vec, b: Vec) => a.reduce((s, v, i) => s + v * b[i], 0);
const norm = (a: Vec) => Math.sqrt(dot(a, a));

/** Each head's gradient on the aggregated part (param: the shared variables; rep: the trunk output), before the step. */
function perHeadGradients(net: MultiHeadNetwork, heads: Head[], data: EncodedData, mode: 'param' | 'rep'): { g: Vec[]; losses: number[] } {
  return tidyValue(() => {
    const batch = {
      x: tf.tensor2d(data.x, [data.n, inputs]),
      y: data.targets.map((t, h) => tf.tensor2d(t.y, [data.n, heads[h].units])),
      w: data.targets.map((t) => tf.tensor1d(t.weight)),
    };
    const losses = headLosses(net, heads, batch, true).losses.map((l) => l.dataSync()[0]);
    const g = heads.map((h, t) => {
      if (mode === 'param') {
        const { grads } = tf.variableGrads(() => headLosses(net, heads, batch, true).losses[t], net.sharedVariables);
        return Float64Array.from(tf.concat(net.sharedVariables.map((v) => tf.reshape(grads[v.name], [-1]))).dataSync());
      }
      const rep = net.forwardTrunk(batch.x, true);
      const grad = tf.grad((r: tf.Tensor) => tf.div(tf.sum(tf.mul(h.loss.perSample(batch.y[t], net.forwardHead(t, r as tf.Tensor2D)), batch.w[t])), tf.sum(batch.w[t])) as tf.Scalar)(rep);
      return Float64Array.from(grad.dataSync());
    });
    return { g, losses };
  });
}

/** PCGrad on explicit vectors: head i's gradient projected off each conflicting gₖ in turn (orders[i]). */
function pcgradDirection(g: Vec[], orders: number[][]): Vec {
  const out = new Float64Array(g[0].length);
  g.forEach((gi, i) => {
    const p = Float64Array.from(gi);
    for (const k of orders[i]) {
      const c = dot(p, g[k]);
      if (c < 0) p.forEach((_, j) => (p[j] -= (c / dot(g[k], g[k])) * g[k][j]));
    }
    p.forEach((v, j) => (out[j] += v));
  });
  return out;
}

function close(got: number | undefined, want: number, what: string, tol = 1e-6): void {
  assert.ok(got !== undefined && Number.isFinite(got), `${what}: ${got} is not finite`);
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
}

async function oneStep(method: AggregatorName, mode: 'param' | 'rep') {
  const { heads, data, validation, net } = setup();
  const { g, losses } = perHeadGradients(net, heads, data, mode);
  const strategy = new AggregatingBalancer(method as 'pcgrad', mode, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })), {});
  const trainer = new Trainer(net, heads, strategy, { epochs: 1, batchSize: n, seed: 3, optimizer: { name: 'sgd', learningRate: 0.1 } });
  await trainer.fit(data, validation);
  trainer.dispose();
  net.dispose();
  return { heads, g, losses, log: trainer.history[0] as EpochLog };
}

describe('per-head update figures of gradient methods (one head 1000× smaller)', () => {
  before(useDefaultBackend);

  for (const method of ['pcgrad', 'mgda', 'nash', 'upgrad', 'dualproj', 'config', 'fairgrad'] as const) {
    for (const mode of ['param', 'rep'] as const) {
      it(`${method} (${mode}): coefficient, share, cosine and relative decrease match their definitions; the totals are unweighted sums`, async () => {
        const { heads, g, losses, log } = await oneStep(method, mode);
        const names = heads.map((h) => h.name);
        const ratio = norm(g[TINY]) / Math.min(norm(g[0]), norm(g[1]));
        assert.ok(ratio < 2e-3 && ratio > 2e-4, `‖g_tiny‖ / others = ${ratio}`);
        const update = log.update;
        assert.ok(update, 'the epoch records update figures');
        const c = names.map((h) => update[h].coefficient);
        // d = Σₜ cₜgₜ must be the method's own direction, computed here from the vectors.
        const d = new Float64Array(g[0].length);
        g.forEach((gt, t) => gt.forEach((v, j) => (d[j] += c[t] * v)));
        let want: Vec;
        if (method === 'pcgrad') {
          // The trainer draws each head's order from its seed: one of the 2³ order combinations.
          const pairs = [0, 1, 2].map((i) => [0, 1, 2].filter((k) => k !== i));
          const candidates: Vec[] = [];
          for (let m = 0; m < 8; m++) candidates.push(pcgradDirection(g, pairs.map((p, i) => ((m >> i) & 1 ? [p[1], p[0]] : p))));
          want = candidates.reduce((best, v) => (norm(v.map((x, j) => x - d[j])) < norm(best.map((x, j) => x - d[j])) ? v : best));
        } else {
          const flat = new Float32Array(g.length * g[0].length);
          g.forEach((gt, t) => flat.set(gt, t * gt.length));
          want = Float64Array.from(aggregate(method, { data: flat, rows: g.length, cols: g[0].length }, method === 'mgda' ? { losses } : {}).direction);
        }
        assert.ok(norm(want.map((v, j) => v - d[j])) <= 1e-4 * norm(want), `Σ cₜgₜ is ${method}'s direction`);
        const sum = new Float64Array(d.length);
        g.forEach((gt) => gt.forEach((v, j) => (sum[j] += v)));
        const parts = g.map((gt, t) => Math.abs(c[t]) * norm(gt));
        const partSum = parts.reduce((a, b) => a + b, 0);
        let shares = 0;
        names.forEach((h, t) => {
          close(update[h].cosine, dot(g[t], d) / (norm(g[t]) * norm(d)), `${h} cosine`);
          close(update[h].relativeDecrease, dot(g[t], d) / Math.abs(dot(g[t], sum)), `${h} relativeDecrease`);
          close(update[h].share, parts[t] / partSum, `${h} share`);
          const share = update[h].share ?? NaN;
          assert.ok(share >= 0 && share <= 1, `${h} share ${share} outside [0, 1]`);
          shares += share;
          // The "weight" of a gradient method is its weight in the total: 1, whatever the coefficient.
          assert.equal(log.train.heads[h].weight, 1);
          assert.equal(log.validation?.heads[h].weight, 1);
        });
        close(shares, 1, 'shares sum');
        // The defining property on this training step's gradients: DualProj's update conflicts with no head
        // up to its ridge (gₜ·d ≥ −1e-4·tr(GGᵀ)·cₜ; the tiny head's ‖gₜ‖² is below the ridge, so it may be
        // slightly negative there), ConFIG's has the same projection d·gₜ/‖gₜ‖ onto every head's gradient.
        if (method === 'dualproj') {
          const tr = g.reduce((s, gt) => s + dot(gt, gt), 0);
          g.forEach((gt, t) => assert.ok(dot(gt, d) >= -1e-4 * tr * c[t] * 1.01 - 1e-6 * norm(gt) * norm(d), `${names[t]}: gₜ·d = ${dot(gt, d)}`));
        }
        // FairGrad (default α = 1, sum scale): cₜ·(gₜ·d) is the same for every head (GGᵀw ∝ w^(−1/α)).
        if (method === 'fairgrad') {
          const products = g.map((gt, t) => c[t] * dot(gt, d));
          for (const p of products) close(p, products[0], 'cₜ·gₜ·d equal', 1e-4);
        }
        if (method === 'config') {
          const proj = g.map((gt) => dot(gt, d) / norm(gt));
          for (const p of proj) close(p, proj[0], 'equal projections', 1e-4);
        }
        assert.ok(Math.abs(c[TINY]) > 10 * Math.max(Math.abs(c[0]), Math.abs(c[1])) || method !== 'mgda', 'MGDA puts a huge coefficient on the tiny head');
        // Both totals are the unweighted sums of the head losses.
        const validation = log.validation;
        assert.ok(validation);
        assert.equal(validation.total, 'sum');
        assert.equal(log.train.total, 'sum');
        close(validation.loss, names.reduce((s, h) => s + validation.heads[h].loss, 0), 'validation total', 1e-9);
        close(log.train.loss, losses.reduce((s, l) => s + l, 0), 'train total', 1e-5);
      });
    }
  }

  it('dbmtl (param): d is not Σₜ cₜgₜ of this step, so gₜ·d is measured on d itself: cosine against the applied step, share undefined', async () => {
    const { heads, data, validation, net } = setup();
    const { g } = perHeadGradients(net, heads, data, 'param');
    const before = Float64Array.from(tf.tidy(() => tf.concat(net.sharedVariables.map((v) => tf.reshape(v, [-1]))).dataSync()));
    const lr = 0.1;
    const strategy = new AggregatingBalancer('dbmtl', 'param', heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })), {});
    const trainer = new Trainer(net, heads, strategy, { epochs: 1, batchSize: n, seed: 3, optimizer: { name: 'sgd', learningRate: lr } });
    await trainer.fit(data, validation);
    const after = Float64Array.from(tf.tidy(() => tf.concat(net.sharedVariables.map((v) => tf.reshape(v, [-1]))).dataSync()));
    trainer.dispose();
    net.dispose();
    // Plain SGD: the shared parameters moved by −lr·d.
    const d = before.map((b, j) => (b - after[j]) / lr);
    const update = trainer.history[0].update;
    assert.ok(update);
    heads.forEach((h, t) => {
      // d from the parameters' float32 change: looser than the 1e-6 above.
      close(update[h.name].cosine, dot(g[t], d) / (norm(g[t]) * norm(d)), `${h.name} cosine`, 1e-3);
      assert.equal(update[h.name].share, undefined, 'share is not defined for DB-MTL');
      assert.equal(trainer.history[0].train.heads[h.name].weight, 1);
    });
  });

  it('static: the totals are the static weights times the head losses', async () => {
    const { heads, data, validation, net } = setup();
    const weights = [2, 0.5, 3];
    const strategy = createStrategy({ method: 'static' }, heads.map((h, t) => ({ name: h.name, kind: h.kind, weight: weights[t] })));
    const trainer = new Trainer(net, heads, strategy, { epochs: 1, batchSize: n, seed: 3, optimizer: { name: 'sgd', learningRate: 0.1 } });
    await trainer.fit(data, validation);
    trainer.dispose();
    net.dispose();
    const log = trainer.history[0];
    const v = log.validation;
    assert.ok(v);
    assert.equal(v.total, 'weighted');
    assert.equal(log.update, undefined, 'loss-based methods record no update figures');
    close(v.loss, heads.reduce((s, h, t) => s + weights[t] * v.heads[h.name].loss, 0), 'validation total', 1e-9);
  });
});
