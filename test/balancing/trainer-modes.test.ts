import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { AggregatingBalancer, createStrategy, type BalanceSpec, type GradientBalancer, type StepContext } from '../../src/balancing/index.js';
import type { TrainableNetwork } from '../../src/model/trainable-network.js';
import { rowsToTable } from '../../src/data/json.js';
import { fitHead, type Head } from '../../src/model/heads/index.js';
import { MultiHeadNetwork } from '../../src/model/network.js';
import type { EncodedData } from '../../src/training/data.js';
import { Rng } from '../../src/util/rng.js';
import { headLosses, Trainer } from '../../src/training/trainer.js';
import { useDefaultBackend } from '../helpers.js';

// The two gradient paths of the trainer, checked against plain autodiff:
// a gradient "method" that just sums the heads' gradients must train exactly
// like the loss-based `equal` method, in both modes, and the per-head rows it
// receives must be the true per-head gradients.
const n = 48;
const d = 6;
const rng = new Rng(9);
const rows = Array.from({ length: n }, (_, i) => ({ c: ['a', 'b', 'c'][i % 3], v: rng.normal(), f: i % 4 === 0 ? null : i % 2 ? 'y' : 'n' }));
const x = Float32Array.from({ length: n * d }, () => rng.normal());

function setup(): { heads: Head[]; data: EncodedData } {
  const table = rowsToTable(rows);
  const heads = [
    fitHead({ name: 'c', column: 'c', kind: 'classification' }, table, table),
    fitHead({ name: 'v', column: 'v', kind: 'regression' }, table, table),
    fitHead({ name: 'f', column: 'f', kind: 'binary' }, table, table),
  ];
  return { heads, data: { n, inputSize: d, x, targets: heads.map((h) => h.encode(table)) } };
}

function network(heads: Head[], dropout = 0): MultiHeadNetwork {
  return MultiHeadNetwork.create(d, [{ units: 10, activation: 'tanh', dropout }, { units: 8, activation: 'relu' }], heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })), new Rng(4));
}

class SumBalancer implements GradientBalancer {
  readonly kind = 'gradient' as const;
  readonly name = 'test-sum';
  readonly seen: Float32Array[] = [];
  constructor(readonly mode: 'param' | 'rep') {}
  combineGradients(grads: Float32Array, tasks: number, dim: number) {
    this.seen.push(Float32Array.from(grads));
    const direction = new Float32Array(dim);
    for (let t = 0; t < tasks; t++) for (let j = 0; j < dim; j++) direction[j] += grads[t * dim + j];
    return { direction, weights: new Float64Array(tasks).fill(1) };
  }
  getState() {
    return {};
  }
  setState() {}
}

/**
 * The same aggregator behind the rows-only interface (no combineGram): the
 * trainer downloads the T×d rows and `aggregate` works on them.
 */
class RowsOnly implements GradientBalancer {
  readonly kind = 'gradient' as const;
  constructor(private readonly inner: AggregatingBalancer) {}
  get name() {
    return this.inner.name;
  }
  get mode() {
    return this.inner.mode;
  }
  combineGradients(grads: Float32Array, tasks: number, dim: number, losses: readonly number[], ctx: StepContext) {
    return this.inner.combineGradients(grads, tasks, dim, losses, ctx);
  }
  getState() {
    return this.inner.getState();
  }
  setState(state: Record<string, unknown>) {
    this.inner.setState(state);
  }
}

/** A network whose head `blind` reads a copy of the representation cut off from the tape: it reaches no shared variable. */
function partiallyShared(net: MultiHeadNetwork, blind: number): TrainableNetwork {
  const forwardHead = (t: number, rep: tf.Tensor2D, input?: tf.Tensor) => net.forwardHead(t, t === blind ? tf.tensor2d(rep.dataSync(), rep.shape) : rep, input);
  return {
    model: net.model,
    outputs: net.outputs,
    sharedVariables: net.sharedVariables,
    headVariables: net.headVariables,
    trainableVariables: net.trainableVariables,
    lastSharedVariables: net.lastSharedVariables,
    forwardTrunk: (x, training, rng, capture) => net.forwardTrunk(x, training, rng, capture),
    forwardHead,
    forwardHeads: (rep, input) => net.outputs.map((_, t) => forwardHead(t, rep, input)),
    activate: (raw) => net.activate(raw),
    predict: (x) => net.predict(x),
    lastBlockGradNorms: (capture, grads) => net.lastBlockGradNorms(capture, grads),
    saveBatchNormState: () => net.saveBatchNormState(),
    restoreBatchNormState: (saved) => net.restoreBatchNormState(saved),
    countParams: () => net.countParams(),
    dispose: () => net.dispose(),
  };
}

async function train(strategyFor: (heads: Head[]) => ConstructorParameters<typeof Trainer>[2], dropout = 0, wrap?: (net: MultiHeadNetwork) => TrainableNetwork) {
  const { heads, data } = setup();
  const net = network(heads, dropout);
  const trained = wrap ? wrap(net) : net;
  const strategy = strategyFor(heads);
  const trainer = new Trainer(trained, heads, strategy, { epochs: 3, batchSize: 16, seed: 2, optimizer: { name: 'adam', learningRate: 0.01 } });
  await trainer.fit(data);
  trainer.dispose();
  const weights = net.model.getWeights().map((w) => Float32Array.from(w.dataSync()));
  net.dispose();
  return { weights, history: trainer.history };
}

function assertClose(a: Float32Array[], b: Float32Array[], tol: number): void {
  a.forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(v - b[i][j]) <= tol * Math.max(1, Math.abs(b[i][j])), `weight ${i}[${j}]: ${v} vs ${b[i][j]}`)));
}

describe('trainer gradient modes', () => {
  before(useDefaultBackend);

  for (const mode of ['rep', 'param'] as const) {
    it(`${mode} mode with a summing aggregator trains like the loss-based "equal" method (dropout included)`, async () => {
      const equal = await train((heads) => createStrategy({ method: 'equal' }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 }))), 0.2);
      const summed = await train(() => new SumBalancer(mode), 0.2);
      assertClose(summed.weights, equal.weights, 1e-4);
      assert.ok(summed.history[2].diagnostics, 'gradient methods record diagnostics');
    });
  }

  for (const [method, mode, options] of [
    ['pcgrad', 'param', {}],
    ['upgrad', 'param', {}],
    ['mgda', 'param', { normalization: 'loss+' }],
    ['gradvac', 'param', {}],
    ['nash', 'rep', {}],
    ['cagrad', 'rep', {}],
    ['dualproj', 'param', {}],
    ['config', 'rep', {}],
    ['fairgrad', 'param', { alpha: 2 }],
  ] as const) {
    it(`${method} (${mode}): the Gram-matrix path trains exactly like aggregate() on the downloaded rows`, async () => {
      const balancer = (heads: Head[]) => new AggregatingBalancer(method, mode, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })), { ...options });
      const tensors = tf.memory().numTensors;
      const gram = await train((heads) => balancer(heads), 0.2);
      const rows = await train((heads) => new RowsOnly(balancer(heads)), 0.2);
      assert.ok(tf.memory().numTensors <= tensors, `tensors ${tf.memory().numTensors} vs ${tensors}`);
      assertClose(gram.weights, rows.weights, 1e-4);
      for (let e = 0; e < 3; e++) {
        // The rows path measures gₜ·d on the direction itself, the Gram path from GGᵀ and the coefficients.
        const updRows = rows.history[e].update;
        const updGram = gram.history[e].update;
        assert.ok(updRows && updGram, 'gradient methods record per-head update figures');
        for (const [head, u] of Object.entries(updRows)) {
          for (const key of ['coefficient', 'cosine', 'relativeDecrease'] as const) {
            const got = updGram[head][key] ?? NaN;
            const want = u[key] ?? NaN;
            assert.ok(Math.abs(got - want) <= 1e-3 * Math.max(1, Math.abs(want)), `epoch ${e} head ${head} ${key} ${got} vs ${want}`);
          }
          assert.equal(gram.history[e].train.heads[head].weight, 1, 'the total of a gradient method is the unweighted sum');
        }
        const cosGram = gram.history[e].diagnostics?.cosine;
        const cosRows = rows.history[e].diagnostics?.cosine;
        assert.ok(cosGram && cosRows);
        for (const a of Object.keys(cosRows)) for (const b of Object.keys(cosRows[a])) assert.ok(Math.abs(cosGram[a][b] - cosRows[a][b]) <= 1e-4, `cos ${a},${b}`);
      }
    });
  }

  it('param mode: a head that reaches no shared variable contributes a zero gradient there (no workaround needed)', async () => {
    const strategyOf = (heads: Head[]) => createStrategy({ method: 'equal' }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })));
    const equal = await train(strategyOf, 0.2, (net) => partiallyShared(net, 2));
    const summed = await train(() => new SumBalancer('param'), 0.2, (net) => partiallyShared(net, 2));
    assertClose(summed.weights, equal.weights, 1e-4);
    const pcgrad = await train((heads) => createStrategy({ method: 'pcgrad', mode: 'param' }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 }))), 0.2, (net) => partiallyShared(net, 2));
    assert.ok(pcgrad.weights.every((w) => w.every(Number.isFinite)));
    // The blind head's gradient on the shared part is zero: no norm, no angle.
    assert.equal(pcgrad.history[2].diagnostics?.gradNorm.f, 0);
    assert.ok(Number.isNaN(pcgrad.history[2].diagnostics?.cosine.c.f));
  });

  it('param mode hands the aggregator the exact per-head gradients w.r.t. the shared parameters', async () => {
    const { heads, data } = setup();
    const net = network(heads);
    const balancer = new SumBalancer('param');
    const before = net.model.getWeights().map((w) => tf.clone(w));
    const trainer = new Trainer(net, heads, balancer, { epochs: 1, batchSize: n, seed: 2, optimizer: { name: 'sgd', learningRate: 1e-9 } });
    net.model.setWeights(before);
    await trainer.fit(data);
    net.model.setWeights(before);
    const G = balancer.seen[0];
    const shared = net.sharedVariables;
    const dim = shared.reduce((s, v) => s + v.size, 0);
    assert.equal(G.length, heads.length * dim);
    // The trainer shuffled the rows; the loss is a mean, so the order does not matter.
    tf.tidy(() => {
      const batch = {
        x: tf.tensor2d(data.x, [n, d]),
        y: data.targets.map((t, h) => tf.tensor2d(t.y, [n, heads[h].units])),
        w: data.targets.map((t) => tf.tensor1d(t.weight)),
      };
      heads.forEach((_, t) => {
        const { grads } = tf.variableGrads(() => headLosses(net, heads, batch, true).losses[t], shared);
        const flat = tf.concat(shared.map((v) => tf.reshape(grads[v.name], [-1]))).dataSync();
        for (let j = 0; j < dim; j++) assert.ok(Math.abs(flat[j] - G[t * dim + j]) <= 1e-4 * Math.max(1e-3, Math.abs(flat[j])), `head ${t} [${j}]: ${flat[j]} vs ${G[t * dim + j]}`);
      });
    });
    tf.dispose(before);
    trainer.dispose();
    net.dispose();
  });

  it('rep mode hands the aggregator each head\'s gradient w.r.t. the trunk output', async () => {
    const { heads, data } = setup();
    const net = network(heads);
    const balancer = new SumBalancer('rep');
    const before = net.model.getWeights().map((w) => tf.clone(w));
    const trainer = new Trainer(net, heads, balancer, { epochs: 1, batchSize: n, seed: 2, optimizer: { name: 'sgd', learningRate: 1e-9 } });
    await trainer.fit(data);
    net.model.setWeights(before);
    const G = balancer.seen[0];
    assert.equal(G.length, heads.length * n * 8);
    // Row sums over the batch are order-independent: compare those.
    tf.tidy(() => {
      const xt = tf.tensor2d(data.x, [n, d]);
      const rep = net.forwardTrunk(xt, false);
      heads.forEach((h, t) => {
        const y = tf.tensor2d(data.targets[t].y, [n, h.units]);
        const w = tf.tensor1d(data.targets[t].weight);
        const expected = tf.grad((r: tf.Tensor) => {
          const raw = net.forwardHead(t, r as tf.Tensor2D);
          return tf.div(tf.sum(tf.mul(h.loss.perSample(y, raw), w)), tf.sum(w)) as tf.Scalar;
        })(rep);
        const colSum = tf.sum(expected, 0).dataSync();
        const got = new Float64Array(8);
        for (let i = 0; i < n; i++) for (let k = 0; k < 8; k++) got[k] += G[t * n * 8 + i * 8 + k];
        for (let k = 0; k < 8; k++) assert.ok(Math.abs(got[k] - colSum[k]) <= 1e-5 + 1e-4 * Math.abs(colSum[k]), `head ${t} unit ${k}: ${got[k]} vs ${colSum[k]}`);
      });
    });
    tf.dispose(before);
    trainer.dispose();
    net.dispose();
  });

  for (const [label, trunk] of [
    ['dense + tanh + dropout (fast path)', [{ units: 10, activation: 'tanh' as const }, { units: 8, activation: 'tanh' as const, dropout: 0.3 }]],
    ['dense + batch norm (replay path)', [{ units: 10, activation: 'tanh' as const }, { units: 8, activation: 'relu' as const, batchNorm: true }]],
  ] as const) {
    it(`GradNorm's last-layer gradient norms equal autodiff: ${label}`, () => {
      const { heads, data } = setup();
      const net = MultiHeadNetwork.create(d, trunk, heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })), new Rng(4));
      tf.tidy(() => {
        const batch = {
          x: tf.tensor2d(data.x, [n, d]),
          y: data.targets.map((t, h) => tf.tensor2d(t.y, [n, heads[h].units])),
          w: data.targets.map((t) => tf.tensor1d(t.weight)),
        };
        const saved = net.saveBatchNormState();
        const capture = {} as Parameters<typeof net.lastBlockGradNorms>[0];
        const rep = net.forwardTrunk(batch.x, true, new Rng(77), capture);
        const rows = new Float32Array(heads.length * n * 8);
        heads.forEach((h, t) => {
          const g = tf.grad((r: tf.Tensor) => {
            const raw = net.forwardHead(t, r as tf.Tensor2D);
            return tf.div(tf.sum(tf.mul(h.loss.perSample(batch.y[t], raw), batch.w[t])), tf.sum(batch.w[t])) as tf.Scalar;
          })(rep);
          rows.set(g.dataSync(), t * n * 8);
        });
        const norms = net.lastBlockGradNorms(capture, tf.unstack(tf.tensor3d(rows, [heads.length, n, 8])) as tf.Tensor2D[]);
        heads.forEach((_, t) => {
          const { grads } = tf.variableGrads(() => headLosses(net, heads, batch, true, new Rng(77)).losses[t], net.lastSharedVariables);
          const expected = Math.sqrt(Object.values(grads).reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0], 0));
          assert.ok(Math.abs(norms[t] - expected) <= 1e-4 * Math.max(1e-6, expected), `head ${t}: ${norms[t]} vs ${expected}`);
        });
        net.restoreBatchNormState(saved);
      });
      net.dispose();
    });
  }

  it('a gradient method on a model without shared layers is a configuration error', () => {
    const { heads } = setup();
    const net = MultiHeadNetwork.create(d, [], heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })), new Rng(1));
    const strategy = createStrategy({ method: 'pcgrad' }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })));
    assert.throws(() => new Trainer(net, heads, strategy, { epochs: 1, batchSize: 8, seed: 1, optimizer: { name: 'adam', learningRate: 0.01 } }), /"pcgrad" needs shared parameters, but the model has no shared trunk layer/);
    net.dispose();
  });

  for (const balance of [{ method: 'static' }, { method: 'pcgrad', mode: 'rep' }, { method: 'upgrad', mode: 'param' }, { method: 'dbmtl', mode: 'param' }] as BalanceSpec[]) {
    it(`onNonFinite: a poisoned row stops training naming the head, or with skip-batch is skipped (${balance.method})`, async () => {
      const { heads, data } = setup();
      // One NaN target in head "v": exactly one batch per epoch holds it.
      const y = Float32Array.from(data.targets[1].y);
      y[5] = NaN;
      const poisoned: EncodedData = { ...data, targets: data.targets.map((t, i) => (i === 1 ? { ...t, y } : t)) };
      const make = (onNonFinite: 'error' | 'skip-batch') => {
        const net = network(heads);
        const strategy = createStrategy(balance, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })));
        return { net, strategy, trainer: new Trainer(net, heads, strategy, { epochs: 3, batchSize: 12, seed: 1, optimizer: { name: 'adam', learningRate: 0.01 }, onNonFinite }) };
      };
      const release = (x: ReturnType<typeof make>) => {
        x.trainer.dispose();
        if (x.strategy.kind === 'loss') x.strategy.dispose?.();
        x.net.dispose();
      };
      const a = make('error');
      await assert.rejects(a.trainer.fit(poisoned), /head "v": (loss|gradient) became NaN at epoch 1, step \d+; .*onNonFinite: skip-batch/);
      release(a);
      const tensors = tf.memory().numTensors;
      const b = make('skip-batch');
      const history = await b.trainer.fit(poisoned);
      assert.deepEqual(history.map((e) => e.skippedBatches), [1, 1, 1]);
      for (const w of b.net.model.getWeights()) assert.ok(w.dataSync().every(Number.isFinite), 'weights stay finite');
      assert.ok(history.every((e) => Number.isFinite(e.train.loss)));
      release(b);
      assert.ok(tf.memory().numTensors <= tensors, `tensors ${tf.memory().numTensors} vs ${tensors}`);
    });
  }

  it('a non-finite loss stops training with an error naming the head, epoch and step', async () => {
    const { heads, data } = setup();
    const net = network(heads);
    const strategy = createStrategy({ method: 'static' }, heads.map((h) => ({ name: h.name, kind: h.kind, weight: 1 })));
    const trainer = new Trainer(net, heads, strategy, { epochs: 5, batchSize: 16, seed: 1, optimizer: { name: 'sgd', learningRate: 1e30 } });
    await assert.rejects(trainer.fit(data), /head "[cvf]": (loss|gradient) became (NaN|Infinity|-Infinity) at epoch \d+, step \d+/);
    trainer.dispose();
    net.dispose();
  });
});
