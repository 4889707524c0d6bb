// GradNorm's last-shared-layer norms where no closed form applies: the trunk is replayed on the
// captured input (same dropout masks) and differentiated along each head's gradient. Checked
// against autodiff of the same trunk pass for a user's LayersModel and a function model, with
// dropout after the last shared layer.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FunctionNetwork } from '../../src/api/function-network.js';
import { LayersModelNetwork } from '../../src/api/layers-network.js';
import type { LastBlockCapture, OutputSpec, TrainableNetwork } from '../../src/model/trainable-network.js';
import { Rng } from '../../src/util/rng.js';
import { useDefaultBackend } from '../helpers.js';

const outputs: OutputSpec[] = [
  { name: 'a', units: 1, activation: 'linear' },
  { name: 'b', units: 3, activation: 'softmax' },
];

/** lastBlockGradNorms against ‖∇_W Σ trunk(x) ⊙ gₜ‖ by autodiff over the same pass (same seed). */
function checkAgainstAutodiff(network: TrainableNetwork, x: tf.Tensor, seed: number): void {
  const grads = tf.tidy(() => {
    const rep = network.forwardTrunk(x, true, new Rng(seed));
    return [0, 1, 2].map((t) => tf.randomNormal(rep.shape, 0, 1, 'float32', 40 + t) as tf.Tensor2D);
  });
  const expected = grads.map((g) =>
    tf.tidy(() => {
      const { grads: vg } = tf.variableGrads(() => tf.sum(tf.mul(network.forwardTrunk(x, true, new Rng(seed)), g)) as tf.Scalar, network.lastSharedVariables);
      return Math.sqrt(tf.addN(Object.values(vg).map((v) => tf.sum(tf.square(v)))).dataSync()[0]);
    }),
  );
  const got = tf.tidy(() => {
    const capture: LastBlockCapture = {};
    network.forwardTrunk(x, true, new Rng(seed), capture);
    return network.lastBlockGradNorms(capture, grads);
  });
  tf.dispose(grads);
  assert.equal(got.length, 3);
  got.forEach((v, t) => {
    assert.ok(expected[t] > 0, `head ${t}: a non-zero reference norm`);
    assert.ok(Math.abs(v - expected[t]) <= 1e-4 * expected[t], `head ${t}: ${v} vs autodiff ${expected[t]}`);
  });
}

describe('GradNorm norms by replay: user models against autodiff', () => {
  before(useDefaultBackend);

  it('LayersModelNetwork (dense trunk with dropout after the last shared layer)', () => {
    const input = tfl.input({ shape: [6] });
    let h = tfl.layers.dense({ units: 9, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tfl.SymbolicTensor;
    h = tfl.layers.dense({ units: 7, activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.dropout({ rate: 0.3 }).apply(h) as tfl.SymbolicTensor;
    const a = tfl.layers.dense({ units: 1, name: 'a' }).apply(h) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 3, name: 'b' }).apply(h) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: [a, b] });
    const network = new LayersModelNetwork(model, outputs);
    const x = tf.randomUniform([11, 6], -1, 1, 'float32', 3);
    try {
      checkAgainstAutodiff(network, x, 21);
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('FunctionNetwork (trunk function with a dropout mask drawn from the pass seed, lastShared given)', () => {
    const w1 = tf.variable(tf.randomNormal([6, 9], 0, 0.5, 'float32', 4));
    const w2 = tf.variable(tf.randomNormal([9, 7], 0, 0.5, 'float32', 5));
    const b2 = tf.variable(tf.randomNormal([7], 0, 0.1, 'float32', 6));
    const va = tf.variable(tf.randomNormal([7, 1], 0, 0.5, 'float32', 7));
    const vb = tf.variable(tf.randomNormal([7, 3], 0, 0.5, 'float32', 8));
    const network = new FunctionNetwork(
      {
        trunk: (x, ctx) => {
          const h = tf.tanh(tf.add(tf.matMul(tf.relu(tf.matMul(x as tf.Tensor2D, w1)), w2), b2));
          return ctx.training ? tf.dropout(h, 0.3, undefined, ctx.seed()) : h;
        },
        heads: { a: (rep) => tf.matMul(rep as tf.Tensor2D, va), b: (rep) => tf.matMul(rep as tf.Tensor2D, vb) },
        variables: { shared: [w1, w2, b2], heads: { a: [va], b: [vb] }, lastShared: [w2, b2] },
      },
      outputs,
    );
    const x = tf.randomUniform([11, 6], -1, 1, 'float32', 9);
    try {
      checkAgainstAutodiff(network, x, 22);
    } finally {
      tf.dispose([x, w1, w2, b2, va, vb]);
    }
  });
});
