// The full IMTL (`balance: { method: imtl }`): IMTL-L's learned loss scales and
// IMTL-G's direction on the scaled losses' gradients, checked on one SGD step
// against the two halves computed by hand from plain autodiff.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { aggregate, createStrategy, type GradientBalancer } from '../../src/balancing/index.js';
import { rowsToTable } from '../../src/data/json.js';
import { fitHead } from '../../src/model/heads/index.js';
import { MultiHeadNetwork } from '../../src/model/network.js';
import { headLosses, Trainer } from '../../src/training/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { tidyValue } from '../../src/engine/tidy.js';
import { useDefaultBackend } from '../helpers.js';

const n = 40;
const d = 5;
const rng = new Rng(21);
const rows = Array.from({ length: n }, (_, i) => ({ c: ['a', 'b'][i % 2], v: 50 * rng.normal() }));
const x = Float32Array.from({ length: n * d }, () => rng.normal());
const eta = 0.05;

function setup() {
  const table = rowsToTable(rows);
  const heads = [fitHead({ name: 'c', column: 'c', kind: 'classification' }, table, table), fitHead({ name: 'v', column: 'v', kind: 'regression' }, table, table)];
  const data = { n, inputSize: d, x, targets: heads.map((h) => h.encode(table)) };
  const net = MultiHeadNetwork.create(d, [{ units: 6, activation: 'tanh' }], heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })), new Rng(3));
  return { heads, data, net };
}

/** Each head's loss and its gradient w.r.t. the shared variables (one row each), at the network's current weights. */
function perHeadGradients(net: MultiHeadNetwork, heads: ReturnType<typeof setup>['heads'], data: ReturnType<typeof setup>['data']) {
  return tidyValue(() => {
    const batch = {
      x: tf.tensor2d(data.x, [n, d]),
      y: data.targets.map((t, h) => tf.tensor2d(t.y, [n, heads[h].units])),
      w: data.targets.map((t) => tf.tensor1d(t.weight)),
    };
    const losses: number[] = [];
    const grads = heads.map((_, t) => {
      const { value, grads: g } = tf.variableGrads(() => headLosses(net, heads, batch, true).losses[t], net.sharedVariables);
      losses.push(value.dataSync()[0]);
      return Float64Array.from(net.sharedVariables.flatMap((v) => Array.from(g[v.name].dataSync())));
    });
    return { losses, grads };
  });
}

function shared(net: MultiHeadNetwork): Float64Array {
  return Float64Array.from(net.sharedVariables.flatMap((v) => Array.from(v.dataSync())));
}

/** One full-batch SGD step with `balance`; returns the shared weights before and after and the strategy. */
async function oneStep(balance: Record<string, unknown>) {
  const { heads, data, net } = setup();
  const strategy = createStrategy({ method: 'imtl', ...balance }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 }))) as GradientBalancer;
  const before = shared(net);
  const reference = perHeadGradients(net, heads, data);
  const trainer = new Trainer(net, heads, strategy, { epochs: 1, batchSize: n, seed: 1, optimizer: { name: 'sgd', learningRate: eta } });
  await trainer.fit(data);
  trainer.dispose();
  const after = shared(net);
  const state = strategy.getState() as { loss?: { scales: number[] } };
  strategy.dispose?.();
  net.dispose();
  return { before, after, reference, scales: state.loss?.scales };
}

function assertStep(before: Float64Array, after: Float64Array, direction: Float64Array): void {
  let worst = 0;
  let size = 0;
  for (let j = 0; j < before.length; j++) {
    worst = Math.max(worst, Math.abs(after[j] - (before[j] - eta * direction[j])));
    size = Math.max(size, Math.abs(eta * direction[j]));
  }
  assert.ok(worst <= 1e-3 * size + 1e-6, `update off by ${worst} (largest step entry ${size})`);
}

describe('imtl: IMTL-L loss scales + IMTL-G (the full method)', () => {
  before(useDefaultBackend);

  it('param mode: the update is IMTL-G on the gradients of e^{sₜ}Lₜ, and sₜ moves by −η(e^{sₜ}Lₜ − 1)', async () => {
    const s0 = 0.7;
    const { before, after, reference, scales } = await oneStep({ mode: 'param', initialScale: s0 });
    const scaled = reference.grads.map((g) => g.map((v) => Math.exp(s0) * v));
    assertStep(before, after, aggregate('imtl', scaled).direction);
    // With these losses (the regression head's ≈ 2500× the other's) the scaled and unscaled directions differ in length.
    const plain = aggregate('imtl', reference.grads).direction;
    const ratio = aggregate('imtl', scaled).direction[0] / plain[0];
    assert.ok(Math.abs(ratio - 1) > 1e-3, `scales change the direction's length (ratio ${ratio})`);
    assert.ok(scales);
    scales.forEach((s, t) => assert.ok(Math.abs(s - (s0 - eta * (Math.exp(s0) * reference.losses[t] - 1))) < 1e-4 * Math.max(1, Math.abs(s)), `s_${t} = ${s}`));
  });

  it('rep mode trains the same loss scales', async () => {
    const { reference, scales } = await oneStep({ mode: 'rep', initialScale: -0.3 });
    assert.ok(scales);
    scales.forEach((s, t) => assert.ok(Math.abs(s - (-0.3 - eta * (Math.exp(-0.3) * reference.losses[t] - 1))) < 1e-4 * Math.max(1, Math.abs(s)), `s_${t} = ${s}`));
  });

  it('lossScales: false is IMTL-G alone, on the raw gradients', async () => {
    const { before, after, reference, scales } = await oneStep({ mode: 'param', lossScales: false });
    assertStep(before, after, aggregate('imtl', reference.grads).direction);
    assert.equal(scales, undefined);
  });

  it('refuses initialScale without the loss scales, and bad values, naming the option', () => {
    const heads = [{ name: 'a', kind: 'regression', weight: 1 }, { name: 'b', kind: 'regression', weight: 1 }];
    assert.throws(() => createStrategy({ method: 'imtl', lossScales: false, initialScale: 1 }, heads), /balance\.initialScale \(method "imtl"\) must be left out when lossScales is false/);
    assert.throws(() => createStrategy({ method: 'imtl', initialScale: 99 }, heads), /balance\.initialScale \(method "imtl"\) must be a finite number in \[-20, 20\], got 99/);
    assert.throws(() => createStrategy({ method: 'imtl', lossScales: 'yes' }, heads), /balance\.lossScales \(method "imtl"\) must be true or false/);
    assert.throws(() => createStrategy({ method: 'imtl', scale: 1 }, heads), /balance\.scale is not an option of balance.method "imtl"/);
  });
});
