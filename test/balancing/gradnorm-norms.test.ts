/**
 * GradNorm's measurement: the norms the trainer hands to a strategy that asks
 * for `sharedGradNorms` are ‖∇_W Lₜ‖ of each head's unweighted loss over the
 * last shared layer's parameters W — checked against plain autodiff at the
 * weights before the step, for several activations of the last trunk block. Also
 * `lastBlockGradNorms` itself on random shapes (one row, more rows than inputs, odd sizes,
 * dropout, T = 1..5) against autodiff, on the native kernel (src/engine/native/layer-norms.ts) and
 * on the tfjs ops (the wasm / browser path) in the same run.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LossBalancer, StepFeedback } from '../../src/balancing/strategy.js';
import { ClassificationHead, RegressionHead, BinaryHead, type Head } from '../../src/model/heads/index.js';
import { MultiHeadNetwork } from '../../src/model/network.js';
import type { TrunkActivation } from '../../src/model/blocks.js';
import type { EncodedData } from '../../src/training/data.js';
import { Rng } from '../../src/util/rng.js';
import { headLosses, Trainer } from '../../src/training/trainer.js';
import { layerGradNormsAvailable } from '../../src/engine/native/layer-norms.js';
import { nativeKernelsActive, registerNativeKernels, unregisterNativeKernels } from '../../src/engine/native/index.js';
import { useDefaultBackend } from '../helpers.js';

const N = 48;
const D = 7;

function heads(): Head[] {
  return [
    new ClassificationHead({ name: 'c', column: 'c', kind: 'classification' }, ['a', 'b', 'c']),
    new RegressionHead({ name: 'r', column: 'r', kind: 'regression' }, 0, 1),
    new BinaryHead({ name: 'b', column: 'b', kind: 'binary' }, ['no', 'yes']),
  ];
}

function data(): EncodedData {
  const rng = new Rng(3);
  const x = Float32Array.from({ length: N * D }, () => rng.next() * 2 - 1);
  const ones = new Float32Array(N).fill(1);
  const cls = new Float32Array(N * 3);
  for (let i = 0; i < N; i++) cls[i * 3 + (i % 3)] = 1;
  const r = Float32Array.from({ length: N }, (_, i) => x[i * D] * 2 + x[i * D + 1]);
  const b = Float32Array.from({ length: N }, (_, i) => (x[i * D + 2] > 0 ? 1 : 0));
  // Some labels missing: the masked rows must not count in a head's norm.
  const maskR = Float32Array.from({ length: N }, (_, i) => (i % 5 === 0 ? 0 : 1));
  return {
    n: N,
    inputSize: D,
    x,
    targets: [
      { y: cls, yMetric: cls, mask: ones, weight: ones },
      { y: r, yMetric: r, mask: maskR, weight: maskR },
      { y: b, yMetric: b, mask: ones, weight: ones },
    ],
  };
}

/** Static weights (1, 0.5, 2) that record the norms the trainer reports. */
function recorder(seen: number[][]): LossBalancer {
  const w = [1, 0.5, 2];
  return {
    kind: 'loss',
    name: 'record_norms',
    requires: { sharedGradNorms: true },
    combine: (losses) => ({ total: tf.addN(losses.map((l, t) => tf.mul(l, w[t]))) as tf.Scalar, weights: tf.tensor1d(w) }),
    variables: () => [],
    afterStep: (f: StepFeedback) => {
      seen.push([...(f.sharedGradNorms ?? [])]);
    },
    getState: () => ({}),
    setState: () => undefined,
  };
}

describe('GradNorm: the trainer reports each head\'s gradient norm on the last shared layer', () => {
  before(useDefaultBackend);
  // Inputs of the last block: 9 (< 48 rows: Xᵀδ directly) and 64 (> 48 rows: through XXᵀ).
  const cases = (['relu', 'tanh', 'sigmoid', 'linear', 'elu', 'relu6'] as TrunkActivation[]).flatMap((activation) => [9, 64].map((width) => ({ activation, width })));
  for (const { activation, width } of cases) {
    it(`equals ‖∇_W Lₜ‖ by autodiff (last block ${activation}, ${width} inputs)`, async () => {
      const hs = heads();
      const outputs = hs.map((h) => ({ name: h.name, units: h.units, activation: h.activation }));
      const make = () => MultiHeadNetwork.create(D, [{ units: width, activation: 'relu' }, { units: 6, activation }], outputs, new Rng(5));
      const network = make();
      const reference = make();
      const train = data();
      // The expected norms, at the initial weights, on the one batch (the whole set).
      const batch = { x: tf.tensor2d(train.x, [N, D]), y: train.targets.map((t, h) => tf.tensor2d(t.y, [N, hs[h].units])), w: train.targets.map((t) => tf.tensor1d(t.weight)) };
      const expected = hs.map((_, t) =>
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => headLosses(reference, hs, batch, true).losses[t], reference.lastSharedVariables);
          return Math.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))).dataSync()[0]);
        }),
      );
      tf.dispose([batch.x, ...batch.y, ...batch.w]);
      const seen: number[][] = [];
      const trainer = new Trainer(network, hs, recorder(seen), { epochs: 1, batchSize: N, seed: 1, optimizer: { name: 'sgd', learningRate: 0.1 } });
      await trainer.fit(train);
      trainer.dispose();
      assert.equal(seen.length, 1);
      seen[0].forEach((v, t) => {
        assert.ok(expected[t] > 1e-4, `head ${t} has a gradient there`);
        assert.ok(Math.abs(v - expected[t]) <= 1e-4 * expected[t] + 1e-6, `head ${hs[t].name}: ${v} vs autodiff ${expected[t]}`);
      });
      network.dispose();
      reference.dispose();
    });
  }
});

describe('lastBlockGradNorms on random shapes: the native kernel and the tfjs ops against autodiff', () => {
  before(useDefaultBackend);
  const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));
  const activations: TrunkActivation[] = ['relu', 'relu', 'tanh', 'sigmoid', 'linear', 'elu', 'relu6', 'swish'];

  it('max relative error <= 1e-4 on 40 random networks and batches, on every path this process has', () => {
    const native = nativeKernelsActive();
    // The native path, when its kernels are active, must take the new kernel (x86-64 CI builds it).
    if (native) assert.ok(layerGradNormsAvailable(), 'the addon has layerGradNorms');
    const paths = native ? ['native', 'tfjs ops'] : ['tfjs ops'];
    const rng = new Rng('gradnorm-shapes');
    let checked = 0;
    try {
      for (let c = 0; c < 40; c++) {
        const n = c % 5 === 0 ? 1 : int(rng, 1, 150);
        const D = int(rng, 1, 12);
        const kin = c % 3 === 0 ? int(rng, 1, Math.max(1, Math.min(n, 40))) : int(rng, 1, 140); // n ≥ kin, or not
        const k = int(rng, 1, 45);
        const T = int(rng, 1, 5);
        const activation = activations[c % activations.length];
        const dropout = rng.next() < 0.5 ? 0.3 : undefined;
        const outputs = Array.from({ length: T }, (_, t) => ({ name: `h${t}`, units: 1, activation: 'linear' as const }));
        const network = MultiHeadNetwork.create(D, [{ units: kin, activation: 'relu' }, { units: k, activation, dropout }], outputs, new Rng(c + 1));
        const x = tf.randomUniform([n, D], -1, 1, 'float32', c + 11);
        const grads = tf.randomUniform([T, n, k], -1, 1, 'float32', c + 23) as tf.Tensor3D;
        const seed = 100 + c;
        const expected = Array.from({ length: T }, (_, t) =>
          tf.tidy(() => {
            const g = tf.squeeze(tf.slice(grads, [t, 0, 0], [1, -1, -1]), [0]);
            const { grads: vg } = tf.variableGrads(() => tf.sum(tf.mul(network.forwardTrunk(x, true, new Rng(seed)), g)) as tf.Scalar, network.lastSharedVariables);
            return Math.sqrt(tf.addN(Object.values(vg).map((v) => tf.sum(tf.square(v)))).dataSync()[0]);
          }),
        );
        for (const path of paths) {
          if (path === 'tfjs ops' && native) unregisterNativeKernels();
          const got = tf.tidy(() => {
            const capture = {};
            network.forwardTrunk(x, true, new Rng(seed), capture);
            return network.lastBlockGradNorms(capture, tf.unstack(grads) as tf.Tensor2D[]);
          });
          if (path === 'tfjs ops' && native) registerNativeKernels();
          assert.equal(got.length, T);
          got.forEach((v, t) => {
            const e = expected[t];
            const err = Math.abs(v - e) / Math.max(e, 1e-6);
            assert.ok(err <= 1e-4, `${path} case ${c} (n=${n} kin=${kin} k=${k} T=${T} ${activation}${dropout ? ' dropout' : ''}) head ${t}: ${v} vs autodiff ${e}`);
            checked++;
          });
        }
        tf.dispose([x, grads]);
        network.dispose();
      }
    } finally {
      if (native && !nativeKernelsActive()) registerNativeKernels();
    }
    assert.ok(checked >= 40 * paths.length);
  });
});
