/**
 * DB-MTL on tensors (the trainer's param mode) against the standalone aggregator, the reference:
 * same weights, directions and buffers over several steps (to float32 rounding), on the native
 * path and on the tfjs ops (MULTILOSS_NATIVE=0's path); its state survives a JSON round trip
 * exactly; the tensors are freed; and a training run on the tensor path matches one that hands
 * the T×d rows to the aggregator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { w1Data, w1Heads } from '../../bench/w1.js';
import { aggregate, createStrategy, type AggregatorState } from '../../src/balancing/index.js';
import { AggregatingBalancer, isTensorBalancer, type TensorBalancer } from '../../src/balancing/gradient-balancer.js';
import { initBackend } from '../../src/engine/backend.js';
import { loadAddon, nativeKernelsActive, registerNativeKernels, unregisterNativeKernels } from '../../src/engine/native/index.js';
import { MultiHeadNetwork } from '../../src/model/network.js';
import { Rng } from '../../src/util/rng.js';
import { Trainer } from '../../src/training/trainer.js';
import { assertClose, ctx, D, flatten, gradients, HEADS, recording, SHAPES } from './tensor-path-helpers.js';

function bufferOf(state: Record<string, unknown>): ArrayLike<number>[] {
  const buffer = (state.aggregator as { buffer: ArrayLike<number>[] | null }).buffer;
  assert.ok(buffer !== null, 'buffer filled');
  return buffer;
}

/** Runs `steps` steps on the tensor path and on `aggregate`, comparing every step; returns the balancer. */
function compareSteps(options: Record<string, unknown>, steps: number, seed: number, balancer = new AggregatingBalancer('dbmtl', 'param', HEADS, options)): TensorBalancer {
  const rng = new Rng(seed);
  let reference: AggregatorState = { method: 'dbmtl', step: 0, buffer: null };
  const start = balancer.getState().aggregator as AggregatorState;
  if ((start as { buffer: unknown }).buffer !== null) reference = JSON.parse(JSON.stringify(start)) as AggregatorState;
  for (let k = 0; k < steps; k++) {
    const { perHead, rows } = gradients(rng);
    const result = balancer.combineTensors(perHead, SHAPES, [1, 1, 1], ctx);
    assert.ok(result !== undefined, 'dbmtl runs on tensors in param mode');
    const ref = aggregate('dbmtl', { data: rows, rows: 3, cols: D }, options, reference);
    reference = ref.state;
    assertClose(result.weights, ref.weights ?? [], `step ${k + 1} weights`);
    assertClose(flatten(result.direction), ref.direction, `step ${k + 1} direction`);
    const buffer = bufferOf(balancer.getState());
    const refBuffer = (reference as { buffer: ArrayLike<number>[] }).buffer;
    for (let t = 0; t < 3; t++) assertClose(buffer[t], refBuffer[t], `step ${k + 1} buffer row ${t}`);
    assert.equal((balancer.getState().aggregator as AggregatorState).step, k + 1 + start.step);
    tf.dispose(result.direction);
    tf.dispose(perHead.flat().filter((x): x is tf.Tensor => x !== undefined));
  }
  return balancer;
}

describe('dbmtl on tensors (param mode) vs the standalone aggregator', () => {
  before(async () => {
    await initBackend('wasm');
  });
  after(() => {
    if (loadAddon().addon !== undefined) registerNativeKernels();
  });

  for (const path of ['native', 'tfjs'] as const) {
    it(`${path} path: same weights, directions and buffers over 6 steps (β = 0.9, σ = 0.5)`, () => {
      if (path === 'tfjs') unregisterNativeKernels();
      else if (process.arch === 'x64') {
        const status = registerNativeKernels();
        assert.ok(nativeKernelsActive(), `the native path is active on x86-64: ${JSON.stringify(status)} ${tf.getBackend()}`);
      }
      try {
        const before = tf.memory().numTensors;
        const balancer = compareSteps({ beta: 0.9, betaSigma: 0.5 }, 6, 3);
        assert.ok(isTensorBalancer(balancer));
        assert.equal(tf.memory().numTensors, before + 3 * SHAPES.length, 'the buffers: one tensor per head and variable');
        const state = balancer.getState();
        balancer.releaseTensors();
        assert.equal(tf.memory().numTensors, before, 'released');
        assert.deepEqual(balancer.getState(), state, 'the state after release is the buffers');
      } finally {
        if (loadAddon().addon !== undefined) registerNativeKernels();
      }
    });
  }

  it('β = 0 (each step its own gradients) and default options', () => {
    compareSteps({ beta: 0 }, 3, 5).releaseTensors();
    compareSteps({}, 3, 6).releaseTensors();
  });

  it('a JSON round trip of the state (a checkpoint) continues exactly', () => {
    const a = compareSteps({ beta: 0.8 }, 3, 7);
    const saved = JSON.parse(JSON.stringify(a.getState())) as Record<string, unknown>;
    const b = new AggregatingBalancer('dbmtl', 'param', HEADS, { beta: 0.8 });
    b.setState(saved);
    const rng = new Rng(8);
    for (let k = 0; k < 3; k++) {
      const { perHead } = gradients(rng);
      const ra = a.combineTensors(perHead, SHAPES, [1, 1, 1], ctx);
      const rb = b.combineTensors(perHead, SHAPES, [1, 1, 1], ctx);
      assert.ok(ra && rb);
      assert.deepEqual(Array.from(rb.weights), Array.from(ra.weights));
      assert.deepEqual(Array.from(flatten(rb.direction)), Array.from(flatten(ra.direction)));
      tf.dispose([...ra.direction, ...rb.direction, ...perHead.flat().filter((x): x is tf.Tensor => x !== undefined)]);
    }
    assert.deepEqual(JSON.parse(JSON.stringify(b.getState())), JSON.parse(JSON.stringify(a.getState())));
    // A restored state continues on `aggregate` too (the rows path), and setState frees the tensors.
    const n = tf.memory().numTensors;
    a.setState(saved);
    assert.equal(tf.memory().numTensors, n - 3 * SHAPES.length);
    b.releaseTensors();
  });

  it('a state of the wrong shape is a configuration error', () => {
    const b = new AggregatingBalancer('dbmtl', 'param', HEADS, {});
    b.setState({ aggregator: { method: 'dbmtl', step: 2, buffer: [[1, 2], [3, 4], [5, 6]] } });
    const { perHead } = gradients(new Rng(9));
    assert.throws(() => b.combineTensors(perHead, SHAPES, [1, 1, 1], ctx), /state\.buffer rows have 2 entries, expected 52/);
    tf.dispose(perHead.flat().filter((x): x is tf.Tensor => x !== undefined));
  });
});

describe('dbmtl training: tensors', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('tf.memory().numTensors is identical after epoch 2 and epoch 5, and back where it was after dispose', async () => {
    const before = tf.memory().numTensors;
    const heads = w1Heads(true);
    const network = MultiHeadNetwork.create(784, [{ units: 16, activation: 'relu' }], heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })), new Rng(1));
    const strategy = createStrategy({ method: 'dbmtl', mode: 'param' }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })));
    const trainer = new Trainer(network, heads, strategy, { epochs: 5, batchSize: 64, seed: 1, optimizer: { name: 'adam', learningRate: 1e-3 } });
    const counts: number[] = [];
    await trainer.fit(w1Data(256, new Rng(7), true), undefined, { onEpochEnd: () => void counts.push(tf.memory().numTensors) });
    assert.equal(counts.length, 5);
    assert.equal(counts[4], counts[1], `tensors per epoch: ${counts.join(', ')}`);
    const state = strategy.getState();
    trainer.dispose();
    assert.deepEqual(strategy.getState(), state, 'the state survives the trainer');
    assert.equal(bufferOf(state).length, 3);
    network.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});

/** Two epochs of 8 steps, plain SGD (the update is the direction times the learning rate). */
async function w1DbmtlRun(tensorPath: boolean): Promise<{ weights: number[][]; updates: Float32Array[]; state: Record<string, unknown> }> {
  const train = w1Data(512, new Rng(7), true);
  const heads = w1Heads(true);
  const network = MultiHeadNetwork.create(
    784,
    [
      { units: 32, activation: 'relu' },
      { units: 16, activation: 'relu' },
    ],
    heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })),
    new Rng(1),
  );
  const strategy = createStrategy({ method: 'dbmtl', mode: 'param', betaSigma: 0.5 }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })));
  assert.ok(strategy.kind === 'gradient' && isTensorBalancer(strategy));
  const weights: number[][] = [];
  const trainer = new Trainer(network, heads, recording(strategy, tensorPath, weights), {
    epochs: 2,
    batchSize: 64,
    seed: 1,
    optimizer: { name: 'sgd', learningRate: 0.01 },
    trainMetrics: false,
  });
  const initial = network.trainableVariables.map((v) => Float32Array.from(v.dataSync()));
  await trainer.fit(train, undefined);
  const state = strategy.getState();
  trainer.dispose();
  const updates = network.trainableVariables.map((v, i) => Float32Array.from(v.dataSync(), (x, j) => x - initial[i][j]));
  network.dispose();
  return { weights, updates, state };
}

describe('dbmtl training: the tensor path matches the rows path (the standalone aggregator)', () => {
  before(async () => {
    await initBackend('wasm');
  });
  after(() => {
    if (loadAddon().addon !== undefined) registerNativeKernels();
  });

  for (const path of ['native', 'tfjs'] as const) {
    it(`${path} path, 16 steps of W1 + a binary head: same weights per step, updates and buffers`, async () => {
      if (path === 'tfjs') unregisterNativeKernels();
      else if (process.arch === 'x64') {
        const status = registerNativeKernels();
        assert.ok(nativeKernelsActive(), `the native path is active on x86-64: ${JSON.stringify(status)}`);
      }
      try {
        const before = tf.memory().numTensors;
        const tensors = await w1DbmtlRun(true);
        assert.equal(tf.memory().numTensors, before, 'the trainer frees the buffers');
        const rows = await w1DbmtlRun(false);
        assert.equal(tensors.weights.length, 16);
        assert.equal(rows.weights.length, 16);
        tensors.weights.forEach((w, k) => assertClose(w, rows.weights[k], `step ${k + 1} head weights`));
        assert.ok(
          tensors.weights.some((w) => w.some((x) => Math.abs(x - 1) > 1e-3)),
          'the weights are not all 1 (the heads differ in gradient norm)',
        );
        tensors.updates.forEach((u, i) => assertClose(u, rows.updates[i], `update of parameter ${i}`));
        const a = bufferOf(tensors.state);
        const b = bufferOf(rows.state);
        assert.equal(a.length, 3);
        a.forEach((row, t) => assertClose(row, b[t], `buffer row ${t}`));
        assert.equal((tensors.state.aggregator as AggregatorState).step, 16);
      } finally {
        if (loadAddon().addon !== undefined) registerNativeKernels();
      }
    });
  }
});
