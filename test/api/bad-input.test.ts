import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfd from '@tensorflow/tfjs-data';
import { describeSharing, registerLoss, trainLayersModel, trainFunctionModel, type ArrayData, type HeadConfig, type HeadEpochLog } from '../../src/api/index.js';
import { isMultilossError } from '../../src/errors.js';
import { useDefaultBackend } from '../helpers.js';

const N = 40;

/** x → shared dense → a (3-way softmax), b (sigmoid), c (linear); or two towers sharing nothing. */
function model(shared = true): tfl.LayersModel {
  const input = tfl.input({ shape: [4] });
  const trunk = (name: string) => tfl.layers.dense({ units: 6, activation: 'relu', name }).apply(input) as tfl.SymbolicTensor;
  const h = shared ? trunk('trunk') : undefined;
  const a = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'a' }).apply(h ?? trunk('tower_a')) as tfl.SymbolicTensor;
  const b = tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'b' }).apply(h ?? trunk('tower_b')) as tfl.SymbolicTensor;
  const c = tfl.layers.dense({ units: 1, name: 'c' }).apply(h ?? trunk('tower_c')) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: [a, b, c] });
}

const HEADS: Record<string, HeadConfig> = { a: { kind: 'classification' }, b: { kind: 'binary' }, c: { kind: 'regression' } };

function data(): ArrayData {
  const xs = Array.from({ length: N }, (_, i) => [Math.sin(i), Math.cos(i), (i % 7) / 7, i / N]);
  return { xs, ys: { a: xs.map((_, i) => i % 3), b: xs.map((_, i) => i % 2), c: xs.map((r) => r[0] * 2) } };
}

async function rejects(run: () => Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  let message = '';
  await assert.rejects(run, (e: unknown) => {
    assert.ok(isMultilossError(e), `expected a MultilossError, got ${String(e)}`);
    message = (e as Error).message;
    if (process.env.SHOW_ERRORS) console.log("  >", message);
    for (const p of patterns) assert.match(message, p);
    return true;
  });
  return message;
}

describe('library API: bad input is a clear error, before training where possible', () => {
  before(useDefaultBackend);

  it('outputs without a head and heads without an output are listed together', async () => {
    const m = model();
    const message = await rejects(
      () => trainLayersModel(m, { heads: { a: HEADS.a, b: HEADS.b, mass: { kind: 'regression' }, extra: { kind: 'binary' } } }, data()),
      /output.*without a head: "c"/,
      /heads without a model output: "mass", "extra"/,
    );
    assert.match(message, /outputs: a, b, c/);
    m.dispose();
  });

  it('a custom loss returning the wrong shape names the head and the shape (before any step)', async () => {
    registerLoss('total_not_per_sample', (y, p) => tf.sum(tf.square(tf.sub(y, p))));
    const m = model();
    const w0 = m.getWeights().map((w) => w.dataSync().slice());
    await rejects(() => trainLayersModel(m, { heads: { ...HEADS, c: { kind: 'regression', loss: 'total_not_per_sample' } } }, data()), /head "c"/, /total_not_per_sample/, /shape \[\]/);
    m.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), w0[i], 'no weight changed'));
    // A loss function given directly in the head config is checked the same way.
    await rejects(() => trainLayersModel(m, { heads: { ...HEADS, a: { kind: 'classification', loss: (y: tf.Tensor2D) => tf.zerosLike(y) } } }, data()), /head "a"/, /shape \[8, 3\]/);
    m.dispose();
  });

  it('a custom loss returning a non-finite value names the head, before training or at the step', async () => {
    registerLoss('log_of_negative', (y, p) => tf.log(tf.sub(tf.reshape(p, [-1]), 1e6)));
    const m = model();
    await rejects(() => trainLayersModel(m, { heads: { ...HEADS, c: { kind: 'regression', loss: 'log_of_negative' } } }, data()), /head "c"/, /log_of_negative/, /NaN/);
    // Finite on the first rows, infinite once the model sees a large value in training.
    let calls = 0;
    registerLoss('blows_up', (y, p) => (++calls > 3 ? tf.div(tf.reshape(p, [-1]), 0) : tf.reshape(tf.square(tf.sub(y, p)), [-1])));
    await rejects(() => trainLayersModel(m, { heads: { ...HEADS, b: { kind: 'binary', loss: 'blows_up' } }, training: { epochs: 2, batchSize: 8 } }, data()), /head "b"/, /blows_up/, /Infinity|NaN/);
    m.dispose();
  });

  it('a dataset element without one output\'s labels names the element and the output', async () => {
    const m = model();
    const d = data();
    const xs = d.xs as number[][];
    async function* batches(): AsyncGenerator<ArrayData> {
      yield { xs: xs.slice(0, 20), ys: { a: (d.ys.a as number[]).slice(0, 20), b: (d.ys.b as number[]).slice(0, 20), c: (d.ys.c as number[]).slice(0, 20) } };
      yield { xs: xs.slice(20), ys: { a: (d.ys.a as number[]).slice(20), b: (d.ys.b as number[]).slice(20) } };
    }
    await rejects(() => trainLayersModel(m, { heads: HEADS }, batches()), /training data element 1/, /no labels for output "c"/, /ys has: a, b/);
    const ds = tfd.zip({ xs: tfd.array(xs), ys: tfd.zip({ a: tfd.array(d.ys.a as number[]), c: tfd.array(d.ys.c as number[]) }) }).batch(16);
    await rejects(() => trainLayersModel(m, { heads: HEADS }, ds), /training data element 0/, /no labels for output "b"/);
    // Labels for an output that has no head are refused too (a typo would otherwise pass silently).
    await rejects(() => trainLayersModel(m, { heads: HEADS }, { ...d, ys: { ...d.ys, cc: d.ys.c } }), /"cc" is not an output with a head/);
    m.dispose();
  });

  it('a gradient method on a model where no layer is shared by two outputs says so (and loss-based methods still train)', async () => {
    const towers = model(false);
    await rejects(() => trainLayersModel(towers, { heads: HEADS, balance: 'pcgrad' }, data()), /"pcgrad"/, /no layer of this model is used by two outputs/, /a ← tower_a, a/);
    const result = await trainLayersModel(towers, { heads: HEADS, balance: 'uncertainty', training: { epochs: 1 } }, data());
    assert.equal(result.epochs, 1);
    towers.dispose();
  });

  it("'rep' mode needs one shared representation; 'param' works on the same model", async () => {
    const input = tfl.input({ shape: [4] });
    const h1 = tfl.layers.dense({ units: 5, activation: 'relu', name: 's1' }).apply(input) as tfl.SymbolicTensor;
    const h2 = tfl.layers.dense({ units: 5, activation: 'relu', name: 's2' }).apply(h1) as tfl.SymbolicTensor;
    // Output a reads the second shared layer, b the first and the second (a skip connection).
    const a = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'a' }).apply(h2) as tfl.SymbolicTensor;
    const cat = tfl.layers.concatenate({ name: 'cat' }).apply([h1, h2]) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'b' }).apply(cat) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: [a, b] });
    const heads = { a: HEADS.a, b: HEADS.b };
    const d = data();
    const ys = { a: d.ys.a, b: d.ys.b };
    await rejects(() => trainLayersModel(m, { heads, balance: 'pcgrad:rep' }, { xs: d.xs, ys }), /mode "rep"/, /2 tensors to the heads \(s1, s2\)/, /use mode: param/);
    const result = await trainLayersModel(m, { heads, balance: 'pcgrad', training: { epochs: 2, batchSize: 8, diagnostics: true } }, { xs: d.xs, ys });
    assert.ok(result.history[1].diagnostics);
    m.dispose();
  });

  it('sharedVariables overrides the derived set: it may add a head\'s layer, never leave out a shared one', async () => {
    const m = model();
    const sharing = describeSharing(m, HEADS, { sharedVariables: ['trunk', 'c'] });
    assert.deepEqual(sharing.sharedLayers, ['trunk', 'c']);
    assert.deepEqual(sharing.headVariables.c, []);
    await rejects(() => trainLayersModel(m, { heads: HEADS, sharedVariables: ['c'], balance: 'pcgrad' }, data()), /sharedVariables must include every variable two or more outputs use/, /trunk\/kernel\S* \(used by a, b, c\)/);
    await rejects(() => trainLayersModel(m, { heads: HEADS, sharedVariables: ['trunk', 'nope'] }, data()), /"nope" is neither a layer/);
    const result = await trainLayersModel(m, { heads: HEADS, sharedVariables: ['trunk', 'c'], balance: 'pcgrad', training: { epochs: 1 } }, data());
    assert.equal(result.network.sharedVariables.length, 4);
    m.dispose();
  });

  it('partial sharing: a layer used by two of three outputs is shared; param mode gives the third a zero gradient there', async () => {
    const input = tfl.input({ shape: [4] });
    const trunk = tfl.layers.dense({ units: 6, activation: 'relu', name: 'trunk' }).apply(input) as tfl.SymbolicTensor;
    const pair = tfl.layers.dense({ units: 4, activation: 'relu', name: 'pair' }).apply(trunk) as tfl.SymbolicTensor;
    const a = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'a' }).apply(pair) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'b' }).apply(pair) as tfl.SymbolicTensor;
    const c = tfl.layers.dense({ units: 1, name: 'c' }).apply(trunk) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: [a, b, c] });
    const sharing = describeSharing(m, HEADS);
    assert.deepEqual(sharing.sharedLayers, ['trunk', 'pair']);
    assert.match(sharing.repUnavailable ?? '', /2 tensors to the heads \(trunk, pair\)/);
    const pairKernel = m.getLayer('pair').getWeights()[0].dataSync().slice();
    const epochLogs: Record<string, HeadEpochLog>[] = [];
    const result = await trainLayersModel(m, { heads: HEADS, balance: 'mgda', training: { epochs: 2, batchSize: 8, diagnostics: true }, callbacks: { onEpochEnd: (log) => void epochLogs.push(log.heads) } }, data());
    assert.equal(result.epochs, 2);
    // Each head's update figures reach the callbacks; its weight is its weight in the (unweighted) total.
    for (const heads of epochLogs) {
      for (const h of Object.values(heads)) {
        assert.equal(h.weight, 1);
        assert.ok(h.update && (h.update.share ?? NaN) >= 0 && (h.update.share ?? NaN) <= 1, JSON.stringify(h.update));
      }
    }
    assert.equal(epochLogs.length, 2);
    assert.notDeepEqual(m.getLayer('pair').getWeights()[0].dataSync(), pairKernel, 'the pair layer trains');
    m.dispose();

    // The same for a function model: c does not touch the pair's variable.
    const w = tf.variable(tf.randomNormal([4, 6], 0, 0.3, 'float32', 2));
    const p = tf.variable(tf.randomNormal([6, 4], 0, 0.3, 'float32', 3));
    const [va, vb, vc] = [tf.variable(tf.zeros([4, 3])), tf.variable(tf.zeros([4, 1])), tf.variable(tf.zeros([6, 1]))];
    const fm = {
      forward: (x: tf.Tensor) => {
        const h = tf.relu(tf.matMul(x as tf.Tensor2D, w));
        const q = tf.relu(tf.matMul(h, p));
        return { a: tf.matMul(q, va), b: tf.matMul(q, vb), c: tf.matMul(h, vc) };
      },
      variables: { shared: [w, p], heads: { a: [va], b: [vb], c: [vc] } },
    };
    const r = await trainFunctionModel(fm, { heads: { ...HEADS, a: { kind: 'classification', units: 3 } }, balance: 'pcgrad', training: { epochs: 2, batchSize: 8 } }, data());
    assert.equal(r.epochs, 2);
    tf.dispose([w, p, va, vb, vc]);
  });

  it('randomness multiloss cannot seed is refused: noise layers, dropout in a nested model', async () => {
    const input = tfl.input({ shape: [4] });
    const noisy = tfl.layers.gaussianNoise({ stddev: 0.1, name: 'noise' }).apply(input) as tfl.SymbolicTensor;
    const h = tfl.layers.dense({ units: 4, name: 'h' }).apply(noisy) as tfl.SymbolicTensor;
    const m1 = tfl.model({ inputs: input, outputs: [tfl.layers.dense({ units: 1, name: 'b' }).apply(h) as tfl.SymbolicTensor, tfl.layers.dense({ units: 1, name: 'c' }).apply(h) as tfl.SymbolicTensor] });
    await rejects(() => trainLayersModel(m1, { heads: { b: HEADS.b, c: HEADS.c } }, data()), /layer "noise" \(GaussianNoise\)/, /use a Dropout layer/);
    const inner = tfl.sequential({ layers: [tfl.layers.dense({ units: 4, inputShape: [4] }), tfl.layers.dropout({ rate: 0.2, name: 'inner_dropout' })] });
    const input2 = tfl.input({ shape: [4] });
    const h2 = inner.apply(input2) as tfl.SymbolicTensor;
    const m2 = tfl.model({ inputs: input2, outputs: [tfl.layers.dense({ units: 1, name: 'b2' }).apply(h2) as tfl.SymbolicTensor, tfl.layers.dense({ units: 1, name: 'c2' }).apply(h2) as tfl.SymbolicTensor] });
    await rejects(() => trainLayersModel(m2, { heads: { b2: HEADS.b, c2: HEADS.c } }, data()), /"inner_dropout" \(Dropout\) is a Dropout inside a nested model/);
    m1.dispose();
    m2.dispose();
  });

  it('head/output mismatches in shape or activation are config errors', async () => {
    const m = model();
    await rejects(() => trainLayersModel(m, { heads: { ...HEADS, a: { kind: 'binary' } } }, data()), /head "a"/, /1 output unit/, /has 3/);
    await rejects(() => trainLayersModel(m, { heads: { ...HEADS, b: { kind: 'regression' } } }, data()), /output "b"/, /sigmoid/);
    await rejects(() => trainLayersModel(m, { heads: { ...HEADS, c: { kind: 'nope' } } }, data()), /unknown head kind "nope"/);
    await rejects(() => trainLayersModel(m, { heads: HEADS, balance: 'nope' }, data()), /unknown method "nope"/);
    await rejects(() => trainLayersModel(m, { heads: HEADS }, { ...data(), ys: { ...data().ys, a: [...(data().ys.a as number[]).slice(1), 7] } }), /output "a", row 39/, /class index 0…2/);
    m.dispose();
  });

  it('function models: a forward-only model refuses rep mode and gradnorm, names missing outputs', async () => {
    const w = tf.variable(tf.randomNormal([4, 3], 0, 0.3, 'float32', 1));
    const va = tf.variable(tf.zeros([3, 3]));
    const vb = tf.variable(tf.zeros([3, 1]));
    const fm = {
      forward: (x: tf.Tensor) => {
        const h = tf.relu(tf.matMul(x as tf.Tensor2D, w));
        return { a: tf.matMul(h, va), b: tf.matMul(h, vb) };
      },
      variables: { shared: [w], heads: { a: [va], b: [vb] } },
    };
    const d = data();
    const ys = { a: d.ys.a, b: d.ys.b };
    const heads = { a: { kind: 'classification', classes: ['x', 'y', 'z'] }, b: { kind: 'binary' } };
    await rejects(() => trainFunctionModel(fm, { heads, balance: 'pcgrad:rep' }, { xs: d.xs, ys }), /needs the model split into trunk/);
    await rejects(() => trainFunctionModel(fm, { heads, balance: 'gradnorm' }, { xs: d.xs, ys }), /"gradnorm" needs the model split/);
    await rejects(() => trainFunctionModel(fm, { heads: { a: heads.a } }, { xs: d.xs, ys: { a: ys.a } }), /output without a head: "b"/);
    const broken = { ...fm, forward: (x: tf.Tensor) => ({ a: fm.forward(x).a }) };
    await rejects(() => trainFunctionModel(broken, { heads }, { xs: d.xs, ys }), /returned no output "b"/);
    tf.dispose([w, va, vb]);
  });
  it('a number beyond float32 (±3.4e38) in the inputs or a numeric label is named with its place and value, before training', async () => {
    const big = (at: number, value: number) => {
      const d = data();
      const xs = (d.xs as number[][]).map((r) => [...r]);
      xs[at][2] = value;
      return { ...d, xs };
    };
    const label = (value: number): ArrayData => {
      const d = data();
      const c = [...(d.ys.c as number[])];
      c[7] = value;
      return { ...d, ys: { ...d.ys, c } };
    };
    const before = tf.memory().numTensors;
    const m = model();
    const w0 = m.getWeights().map((w) => w.dataSync().slice());
    await rejects(() => trainLayersModel(m, { heads: HEADS }, big(5, 1e39)), /^training data\.xs\[5\]\[2\]: 1e\+39 is beyond the float32 range \(±3\.4e38\) that training uses$/);
    await rejects(() => trainLayersModel(m, { heads: HEADS }, label(1e39)), /^labels of output "c", row 7: 1e\+39 is beyond the float32 range/);
    await rejects(() => trainLayersModel(m, { heads: HEADS }, label(-1e39)), /^labels of output "c", row 7: -1e\+39 is beyond the float32 range/);
    // Typed arrays of doubles, and labels given as rows.
    const d = data();
    const flat = Float64Array.from((d.xs as number[][]).flat());
    flat[13] = -2e39;
    await rejects(() => trainLayersModel(m, { heads: HEADS }, { ...d, xs: flat }), /^training data\.xs\[13\]: -2e\+39 is beyond the float32 range/);
    const rows = (d.ys.c as number[]).map((v) => [v]);
    rows[3] = [5e38];
    await rejects(() => trainLayersModel(m, { heads: HEADS }, { ...d, ys: { ...d.ys, c: rows } }), /^labels of output "c", row 3: 5e\+38 is beyond the float32 range/);
    m.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), w0[i], 'weights untouched'));
    m.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});
