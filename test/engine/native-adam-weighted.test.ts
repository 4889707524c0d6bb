/**
 * Native Adam with gradients given as weighted sums (NativeAdamOptimizer.applyWeightedGradients,
 * the param mode's Σₜ wₜgₜ formed inside the step): bit-identical to weightedSumOfTensors followed
 * by applyGradients, in the optimizer and in training; the addon call refuses out-of-range input.
 *
 * On x86-64 the addon MUST be built: these tests fail if it did not load.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { createNativeAdam, loadAddon, NativeAdamOptimizer, weightedSumOfTensors } from '../../src/engine/native/index.js';
import { MultiHeadNetwork } from '../../src/model/network.js';
import { createStrategy } from '../../src/balancing/index.js';
import { Trainer } from '../../src/training/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { w1Data, w1Heads } from '../../bench/w1.js';
import { assertBitsEqual, sparseValues } from '../helpers.js';

const REQUIRED = process.arch === 'x64';
// Sizes: scalar, odd, more than two native chunks (16384), a W1 kernel.
const SHAPES: number[][] = [[], [7], [33, 5], [40001], [784, 256]];

let uid = 0;

before(async () => {
  await initBackend('wasm');
});

describe('native Adam with weighted-sum gradients', () => {
  test('the addon has adamWeighted (required on x86-64)', () => {
    if (!REQUIRED) return;
    assert.equal(typeof loadAddon().addon?.adamWeighted, 'function');
  });

  test('bit-identical to weightedSumOfTensors + applyGradients over 30 steps: T = 1..4 terms, zero weights, missing terms, plain gradients', () => {
    const rng = new Rng('adam-weighted');
    const init = SHAPES.map((shape) => sparseValues(rng, shape.reduce((a, b) => a * b, 1), 1));
    const make = (tag: string) => SHAPES.map((shape, i) => tf.variable(tf.tensor(init[i], shape), true, `${tag}_${uid++}_${i}`));
    const fusedVars = make('fused');
    const refVars = make('ref');
    const fused = createNativeAdam(2e-3, 0.9, 0.999, 1e-7);
    const ref = createNativeAdam(2e-3, 0.9, 0.999, 1e-7);
    for (let step = 1; step <= 30; step++) {
      const T = 1 + (step % 4);
      const weights = Array.from({ length: T }, (_, t) => (t === 1 && step % 3 === 0 ? 0 : (rng.next() * 4 - 1) * (step % 5 === 0 ? 1e3 : 1)));
      tf.tidy(() => {
        // Variable 0 gets a plain gradient; the others T terms, one of them missing on some steps.
        const terms = SHAPES.map((shape, i) =>
          Array.from({ length: i === 0 ? 1 : T }, (_, t) => (i > 0 && t === 0 && step % 4 === 1 ? undefined : tf.tensor(sparseValues(rng, shape.reduce((a, b) => a * b, 1), 1), shape))),
        );
        const entries = SHAPES.map((_, i) => ({ name: fusedVars[i].name, terms: terms[i], weights: i === 0 ? [1] : weights }));
        assert.ok(fused.applyWeightedGradients(entries) || !REQUIRED, 'the native step ran');
        const grads: tf.NamedTensorMap = {};
        SHAPES.forEach((shape, i) => {
          const sum = i === 0 ? (terms[0][0] as tf.Tensor) : weightedSumOfTensors(terms[i], weights, shape);
          assert.ok(sum !== undefined, 'native weighted sum');
          grads[refVars[i].name] = sum;
        });
        ref.applyGradients(grads);
      });
      if (step % 10 === 0) fusedVars.forEach((v, i) => assertBitsEqual(v, refVars[i], `step ${step}, variable [${SHAPES[i]}]`));
    }
    assert.equal(fused.nativeSteps, 30);
    assertBitsEqual(fused.accBeta1, ref.accBeta1, 'beta1^t');
    tf.dispose([...fusedVars, ...refVars]);
    fused.dispose();
    ref.dispose();
  });

  test('out-of-range, overlapping or malformed input throws RangeError and writes nothing', () => {
    const lib = loadAddon().addon;
    if (lib?.adamWeighted === undefined) {
      assert.ok(!REQUIRED, 'adamWeighted must exist on x86-64');
      return;
    }
    const heap = new ArrayBuffer(4096);
    const f = new Float32Array(heap);
    f.fill(0.5);
    const before = Float32Array.from(f);
    const params = Float64Array.of(0.9, 0.1, 0.999, 0.001, 0.1, 0.001, 1e-7, -0.01);
    // var at 0, m at 400, v at 800, n = 100, terms 0..1; gradient at 1200.
    const ok = Float64Array.of(0, 400, 800, 100, 0, 1);
    assert.throws(() => lib.adamWeighted?.(heap, ok, Float64Array.of(1, 4000), params), RangeError, 'gradient past the end');
    assert.throws(() => lib.adamWeighted?.(heap, ok, Float64Array.of(1, 1202), params), RangeError, 'unaligned gradient');
    assert.throws(() => lib.adamWeighted?.(heap, ok, Float64Array.of(1, 200), params), RangeError, 'gradient overlaps the variable');
    assert.throws(() => lib.adamWeighted?.(heap, ok, Float64Array.of(NaN, 1200), params), RangeError, 'non-finite weight');
    assert.throws(() => lib.adamWeighted?.(heap, Float64Array.of(0, 400, 800, 100, 0, 2), Float64Array.of(1, 1200), params), RangeError, 'term range past the terms');
    assert.throws(() => lib.adamWeighted?.(heap, Float64Array.of(0, 400, 800, 100, 0), Float64Array.of(1, 1200), params), RangeError, 'short slots');
    assert.throws(() => lib.adamWeighted?.(heap, Float64Array.of(0, 200, 800, 100, 0, 1), Float64Array.of(1, 1200), params), RangeError, 'moment overlaps the variable');
    assert.throws(() => lib.adamWeighted?.(heap, Float64Array.of(0, 400, 4000, 100, 0, 1), Float64Array.of(1, 1200), params), RangeError, 'moment past the end');
    assert.deepEqual(Array.from(f), Array.from(before), 'nothing written');
    lib.adamWeighted(heap, ok, Float64Array.of(2, 1200), params);
    assert.notEqual(f[0], 0.5, 'a valid call writes the variable');
  });

  test('param-mode training: the fused step gives the same weights as the separate sum (forced by a clipNorm that never clips)', async () => {
    const train = w1Data(512, new Rng(3), true);
    const run = async (clipNorm?: number): Promise<Float32Array[]> => {
      const heads = w1Heads(true);
      const network = MultiHeadNetwork.create(784, [{ units: 64, activation: 'relu' }, { units: 32, activation: 'relu' }], heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })), new Rng(5));
      const strategy = createStrategy({ method: 'pcgrad', mode: 'param' }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })));
      const trainer = new Trainer(network, heads, strategy, { epochs: 2, batchSize: 64, seed: 9, optimizer: { name: 'adam', learningRate: 1e-3 }, trainMetrics: false, clipNorm });
      await trainer.fit(train);
      const weights = network.trainableVariables.map((v) => Float32Array.from(v.dataSync()));
      trainer.dispose();
      network.dispose();
      return weights;
    };
    // Count the steps the trainer takes through the fused call (it must be used without clipping).
    const original = NativeAdamOptimizer.prototype.applyWeightedGradients;
    let fusedSteps = 0;
    NativeAdamOptimizer.prototype.applyWeightedGradients = function (this: NativeAdamOptimizer, entries) {
      const done = original.call(this, entries);
      if (done) fusedSteps++;
      return done;
    };
    let fused: Float32Array[];
    let separate: Float32Array[];
    try {
      fused = await run();
      assert.equal(fusedSteps, REQUIRED ? 16 : 0, 'every step of the unclipped run is fused');
      separate = await run(1e30);
      assert.equal(fusedSteps, REQUIRED ? 16 : 0, 'a clipped run never is');
    } finally {
      NativeAdamOptimizer.prototype.applyWeightedGradients = original;
    }
    assert.equal(fused.length, separate.length);
    fused.forEach((w, i) => assertBitsEqual(tf.tensor(w), tf.tensor(separate[i]), `variable ${i}`));
  });
});
