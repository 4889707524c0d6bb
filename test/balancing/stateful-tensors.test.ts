/**
 * ExcessMTL and MoCo on tensors (the trainer's param mode) against the standalone aggregator, the
 * reference: same weights, directions and state rows over several steps (to float32 rounding), on
 * the native path and on the tfjs ops; the state survives a JSON round trip exactly; the tensors
 * are freed; and a training run on the tensor path matches one that hands the T×d rows to the
 * aggregator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { w1Data, w1Heads } from '../../bench/w1.js';
import { aggregate, createStrategy, type AggregatorName, type AggregatorState } from '../../src/balancing/index.js';
import { AggregatingBalancer, isTensorBalancer } from '../../src/balancing/gradient-balancer.js';
import { initBackend } from '../../src/engine/backend.js';
import { loadAddon, nativeKernelsActive, registerNativeKernels, unregisterNativeKernels } from '../../src/engine/native/index.js';
import { MultiHeadNetwork } from '../../src/model/network.js';
import { Trainer } from '../../src/training/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose, ctx, D, flatten, gradients, HEADS, recording, SHAPES } from './tensor-path-helpers.js';

type Method = 'excessmtl' | 'moco';
/** The state field holding the T×d rows, and its T-vectors. */
const ROWS: Record<Method, { table: string; vectors: string[] }> = {
  excessmtl: { table: 'sumSquares', vectors: ['initial', 'weights'] },
  moco: { table: 'tracked', vectors: ['lambda'] },
};
const CASES: [Method, Record<string, unknown>][] = [
  ['excessmtl', {}],
  ['excessmtl', { stepSize: 0.5, eps: 0 }],
  ['moco', {}],
  ['moco', { normalization: 'none', gamma: 0.01, rho: 0.1 }],
];

const release = (xs: (tf.Tensor | undefined)[][]) => tf.dispose(xs.flat().filter((x): x is tf.Tensor => x !== undefined));

function assertSameState(method: Method, actual: AggregatorState, expected: AggregatorState, what: string): void {
  const a = actual as unknown as Record<string, unknown>;
  const e = expected as unknown as Record<string, unknown>;
  assert.equal(a.step, e.step, `${what}: step`);
  const rows = a[ROWS[method].table] as ArrayLike<number>[];
  const refRows = e[ROWS[method].table] as ArrayLike<number>[];
  for (let t = 0; t < 3; t++) assertClose(rows[t], refRows[t], `${what}: ${ROWS[method].table} row ${t}`);
  for (const v of ROWS[method].vectors) assertClose(a[v] as number[], e[v] as number[], `${what}: ${v}`);
}

/** `steps` steps on the tensor path and on `aggregate`, compared at every step; returns the balancer. */
function compareSteps(method: Method, options: Record<string, unknown>, steps: number, seed: number): AggregatingBalancer {
  const balancer = new AggregatingBalancer(method, 'param', HEADS, options);
  const rng = new Rng(seed);
  let reference: AggregatorState | undefined;
  for (let k = 0; k < steps; k++) {
    const { perHead, rows } = gradients(rng);
    const losses = [0.5 + rng.next(), 2 * rng.next(), 4];
    const result = balancer.combineTensors(perHead, SHAPES, losses, ctx);
    assert.ok(result !== undefined, `${method} runs on tensors in param mode`);
    const ref = aggregate(method as AggregatorName, { data: rows, rows: 3, cols: D }, { ...options, ...(method === 'moco' ? { losses } : {}) }, reference);
    reference = ref.state;
    assertClose(result.weights, ref.weights ?? [], `step ${k + 1} weights`);
    assertClose(flatten(result.direction), ref.direction, `step ${k + 1} direction`);
    assertSameState(method, balancer.getState().aggregator as AggregatorState, reference, `step ${k + 1}`);
    tf.dispose(result.direction);
    release(perHead);
  }
  return balancer;
}

describe('excessmtl and moco on tensors (param mode) vs the standalone aggregator', () => {
  before(async () => {
    await initBackend('wasm');
  });
  after(() => {
    if (loadAddon().addon !== undefined) registerNativeKernels();
  });

  for (const path of ['native', 'tfjs'] as const) {
    for (const [method, options] of CASES) {
      it(`${path} path, ${method} ${JSON.stringify(options)}: same weights, directions and state over 6 steps; the rows are one tensor per head and variable`, () => {
        if (path === 'tfjs') unregisterNativeKernels();
        else if (process.arch === 'x64') {
          registerNativeKernels();
          assert.ok(nativeKernelsActive(), 'the native path is active on x86-64');
        }
        try {
          const before = tf.memory().numTensors;
          const balancer = compareSteps(method, options, 6, 3);
          assert.ok(isTensorBalancer(balancer));
          assert.equal(tf.memory().numTensors, before + 3 * SHAPES.length, 'the state rows: one tensor per head and variable');
          const state = balancer.getState();
          balancer.releaseTensors();
          assert.equal(tf.memory().numTensors, before, 'released');
          assert.deepEqual(balancer.getState(), state, 'the state after release is the rows');
        } finally {
          if (loadAddon().addon !== undefined) registerNativeKernels();
        }
      });
    }
  }

  for (const method of ['excessmtl', 'moco'] as const) {
    it(`${method}: a JSON round trip of the state (a checkpoint) continues exactly; a state of the wrong shape is a configuration error`, () => {
      const a = compareSteps(method, {}, 3, 7);
      const saved = JSON.parse(JSON.stringify(a.getState())) as Record<string, unknown>;
      const b = new AggregatingBalancer(method, 'param', HEADS, {});
      b.setState(saved);
      const rng = new Rng(8);
      for (let k = 0; k < 3; k++) {
        const { perHead } = gradients(rng);
        const ra = a.combineTensors(perHead, SHAPES, [1, 2, 3], ctx);
        const rb = b.combineTensors(perHead, SHAPES, [1, 2, 3], ctx);
        assert.ok(ra && rb);
        assert.deepEqual(Array.from(rb.weights), Array.from(ra.weights));
        assert.deepEqual(Array.from(flatten(rb.direction)), Array.from(flatten(ra.direction)));
        tf.dispose([...ra.direction, ...rb.direction]);
        release(perHead);
      }
      assert.deepEqual(JSON.parse(JSON.stringify(b.getState())), JSON.parse(JSON.stringify(a.getState())));
      a.releaseTensors();
      b.releaseTensors();
      const bad = JSON.parse(JSON.stringify(saved)) as { aggregator: Record<string, number[][]> };
      bad.aggregator[ROWS[method].table] = [[1, 2], [3, 4], [5, 6]];
      const c = new AggregatingBalancer(method, 'param', HEADS, {});
      c.setState(bad);
      const { perHead } = gradients(new Rng(9));
      assert.throws(() => c.combineTensors(perHead, SHAPES, [1, 1, 1], ctx), new RegExp(`aggregator '${method}': state\\.${ROWS[method].table} rows have 2 entries, expected ${D}`));
      release(perHead);
    });
  }
});

/** Two epochs of 8 steps of W1 + a binary head, plain SGD: every step's weights, the updates, the state. */
async function w1Run(method: Method, tensorPath: boolean) {
  const heads = w1Heads(true);
  const network = MultiHeadNetwork.create(784, [{ units: 32, activation: 'relu' }, { units: 16, activation: 'relu' }], heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })), new Rng(1));
  const strategy = createStrategy({ method, mode: 'param' }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })));
  assert.ok(strategy.kind === 'gradient' && isTensorBalancer(strategy));
  const weights: number[][] = [];
  const trainer = new Trainer(network, heads, recording(strategy, tensorPath, weights), { epochs: 2, batchSize: 64, seed: 1, optimizer: { name: 'sgd', learningRate: 0.01 }, trainMetrics: false });
  const initial = network.trainableVariables.map((v) => Float32Array.from(v.dataSync()));
  await trainer.fit(w1Data(512, new Rng(7), true), undefined);
  const state = strategy.getState().aggregator as AggregatorState;
  trainer.dispose();
  const updates = network.trainableVariables.map((v, i) => Float32Array.from(v.dataSync(), (x, j) => x - initial[i][j]));
  network.dispose();
  return { weights, updates, state };
}

describe('excessmtl and moco training: the tensor path matches the rows path', () => {
  before(async () => {
    await initBackend('wasm');
  });

  for (const method of ['excessmtl', 'moco'] as const) {
    it(`${method}, 16 steps: same weights per step, updates and state; the trainer frees the tensors`, async () => {
      const before = tf.memory().numTensors;
      const tensors = await w1Run(method, true);
      assert.equal(tf.memory().numTensors, before, 'the trainer frees the state rows');
      const rows = await w1Run(method, false);
      assert.equal(tensors.weights.length, 16);
      tensors.weights.forEach((w, k) => assertClose(w, rows.weights[k], `step ${k + 1} head weights`, 1e-4));
      assert.ok(tensors.weights.some((w) => w.some((x) => Math.abs(x - 1) > 1e-3)), 'the weights move away from 1');
      tensors.updates.forEach((u, i) => assertClose(u, rows.updates[i], `update of parameter ${i}`, 1e-4));
      assertSameState(method, tensors.state, rows.state, 'final state');
    });
  }
});
