// MTAN and DSelect-k: what defines each (attention masks, smooth-step selection, the gate's
// regulariser), the exact variable split, training on real data, save/load and plain tfjs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import { isMultilossError } from '../../src/errors.js';
import { loadModel, saveModel } from '../../src/io/model-dir.js';
import { architectureFactory, architectureKinds, DSelectKNetwork, MtanNetwork } from '../../src/model/architectures/index.js';
import type { OutputSpec, TrainableNetwork } from '../../src/model/trainable-network.js';
import { fitModel } from '../../src/training/fit.js';
import { fitImageModel } from '../../src/training/fit-images.js';
import { subsetImages } from '../../src/data/images/dataset.js';
import { buildMultiMnist } from '../../src/data/images/multimnist.js';
import { loadMnistDigits } from '../../src/io/image-files.js';
import { predictImageOutputs } from '../../src/model/images.js';
import { Rng } from '../../src/util/rng.js';
import { assertRefused, cli, loadPlainLayersModel, PENGUIN_HEADS, PENGUINS_CONFIG, penguins, ROOT, tempDir, useDefaultBackend } from '../helpers.js';

const OUTPUTS: OutputSpec[] = [
  { name: 'species', units: 3, activation: 'softmax' },
  { name: 'sex', units: 1, activation: 'sigmoid' },
];

const names = (vars: tf.Variable[]): string[] => vars.map((v) => v.name.replace(/_\d+$/, ''));

function config(architecture: Record<string, unknown>, balance: Record<string, unknown> = { method: 'equal' }, training: Record<string, unknown> = {}): ResolvedConfig {
  return resolveConfig(
    parseConfig({
      ...PENGUIN_HEADS,
      validation: { split: 0.25 },
      model: { trunk: [{ units: 16 }, { units: 8 }] },
      architecture,
      balance,
      training: { epochs: 1, batchSize: 32, seed: 3, learningRate: 0.01, ...training },
    }),
  );
}

function setWeights(net: TrainableNetwork, layer: string, values: tf.Tensor[]): void {
  net.model.getLayer(layer).setWeights(values);
  tf.dispose(values);
}

/** Outputs of every head (flattened) for input x. */
function outputsOf(net: TrainableNetwork, x: tf.Tensor): Float32Array[] {
  const outs = net.predict(x);
  const values = outs.map((o) => o.dataSync() as Float32Array);
  tf.dispose(outs);
  return values;
}

const moved = (a: Float32Array, b: Float32Array): boolean => a.some((v, i) => Math.abs(v - b[i]) > 1e-6);

/** Adds noise to a set of variables and reports which heads' outputs changed. */
function headsMovedBy(net: TrainableNetwork, vars: tf.Variable[], x: tf.Tensor): boolean[] {
  const before = outputsOf(net, x);
  const saved = vars.map((v) => tf.clone(v));
  vars.forEach((v, i) => v.assign(tf.tidy(() => tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', i + 1), 0.5)))));
  const after = outputsOf(net, x);
  vars.forEach((v, i) => v.assign(saved[i]));
  tf.dispose(saved);
  return before.map((b, t) => moved(b, after[t]));
}

async function plainPredict(dir: string, x: tf.Tensor): Promise<Float32Array[]> {
  const plain = await loadPlainLayersModel(dir);
  const outs = plain.predict(x) as tf.Tensor[];
  const values = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  plain.dispose();
  return values;
}

describe('MTAN', () => {
  before(useDefaultBackend);

  it('names the shared and head variables as documented; the representation is every block output, concatenated', () => {
    const net = architectureFactory('mtan').create({ kind: 'mtan', attentionBatchNorm: true }, [{ units: 8 }, { units: 6 }], [4], OUTPUTS, new Rng(1));
    assert.deepEqual(names(net.sharedVariables), ['trunk_dense_0/kernel', 'trunk_dense_0/bias', 'trunk_dense_1/kernel', 'trunk_dense_1/bias']);
    const bn = (p: string): string[] => [`${p}/gamma`, `${p}/beta`];
    const dense = (p: string): string[] => [`${p}/kernel`, `${p}/bias`];
    assert.deepEqual(names(net.headVariables[1]), [
      ...dense('att_sex_0_dense_0'),
      ...bn('att_sex_0_bn_0'),
      ...dense('att_sex_0_dense_1'),
      ...bn('att_sex_0_bn_1'),
      ...dense('att_sex_1_dense_0'),
      ...bn('att_sex_1_bn_0'),
      ...dense('att_sex_1_dense_1'),
      ...bn('att_sex_1_bn_1'),
      ...dense('connect_sex_1_dense_0'),
      ...dense('head_sex_dense'),
    ]);
    assert.deepEqual(names(net.lastSharedVariables), ['trunk_dense_1/kernel', 'trunk_dense_1/bias']);
    const x = tf.randomNormal([5, 4]);
    const rep = net.forwardTrunk(x, false);
    assert.deepEqual(rep.shape, [5, 8 + 6]);
    tf.dispose([x, rep]);
    net.dispose();
    // The default: no batch norm in the masks.
    const plain = architectureFactory('mtan').create({ kind: 'mtan' }, [{ units: 8 }, { units: 6 }], [4], OUTPUTS, new Rng(1));
    assert.deepEqual(names(plain.headVariables[0]), [...dense('att_species_0_dense_0'), ...dense('att_species_0_dense_1'), ...dense('att_species_1_dense_0'), ...dense('att_species_1_dense_1'), ...dense('connect_species_1_dense_0'), ...dense('head_species_dense')]);
    plain.dispose();

    const image = architectureFactory('mtan').create({ kind: 'mtan' }, [{ type: 'conv', units: 4, pool: 'max' }, { type: 'conv', units: 6, pool: 'max' }, { units: 10 }], [12, 12, 1], OUTPUTS, new Rng(1));
    const xi = tf.randomNormal([3, 12, 12, 1]);
    const r = image.forwardTrunk(xi, false);
    // 6×6×4 + 3×3×6 + 10
    assert.deepEqual(r.shape, [3, 144 + 54 + 10]);
    const masks = (image as MtanNetwork).attentionMasks(xi, 0);
    assert.deepEqual(
      masks.map((m) => m.shape),
      [
        [3, 6, 6, 4],
        [3, 3, 3, 6],
        [3, 10],
      ],
    );
    for (const m of masks) assert.ok(m.dataSync().every((v) => v > 0 && v < 1));
    tf.dispose([xi, r, ...masks]);
    image.dispose();
  });

  it('with every attention mask ≡ 1 it is hard sharing with the same trunk and heads (features = mask ⊙ shared features)', () => {
    const trunk = [{ type: 'conv' as const, units: 4, pool: 'max' as const }, { type: 'conv' as const, units: 3, kernel: 3, padding: 'valid' as const }, { units: 7 }];
    const mtan = architectureFactory('mtan').create({ kind: 'mtan', attentionBatchNorm: false }, trunk, [10, 10, 2], OUTPUTS, new Rng(2));
    const shared = architectureFactory('shared').create({ kind: 'shared' }, trunk, [10, 10, 2], OUTPUTS, new Rng(3));
    const x = tf.randomNormal([4, 10, 10, 2], 0, 1, 'float32', 7);
    const before = outputsOf(mtan, x);
    const sharedBefore = outputsOf(shared, x);
    assert.ok(before.some((o, t) => moved(o, sharedBefore[t])), 'different weights, different outputs');
    for (const layer of shared.model.layers) {
      if (layer.weights.length) layer.setWeights(mtan.model.getLayer(layer.name).getWeights());
    }
    // Saturate every mask: the second mask layer outputs sigmoid(30), which is 1 in float32.
    for (const o of OUTPUTS) {
      for (let j = 0; j < 3; j++) {
        const name = j < 2 ? `att_${o.name}_${j}_conv_1` : `att_${o.name}_${j}_dense_1`;
        const [k, b] = mtan.model.getLayer(name).getWeights();
        setWeights(mtan, name, [tf.zerosLike(k), tf.fill(b.shape, 30)]);
      }
    }
    const a = outputsOf(mtan, x);
    const b = outputsOf(shared, x);
    a.forEach((o, t) => o.forEach((v, i) => assert.ok(Math.abs(v - b[t][i]) < 1e-6, `head ${t}[${i}]: ${v} vs ${b[t][i]}`)));
    assert.ok(a.some((o, t) => moved(o, before[t])));
    x.dispose();
    mtan.dispose();
    shared.dispose();
  });
});

describe('DSelect-k', () => {
  before(useDefaultBackend);

  const smoothStep = (t: number, gamma: number): number => (t <= -gamma / 2 ? 0 : t >= gamma / 2 ? 1 : (-2 / gamma ** 3) * t ** 3 + (3 / (2 * gamma)) * t + 0.5);

  it("a selector's bit is the paper's smooth step S(z) (0 below −γ/2, 1 above γ/2, cubic between), in training and in the saved model", () => {
    const gamma = 0.8;
    const net = architectureFactory('dselect-k').create({ kind: 'dselect-k', experts: 2, k: 1, gamma, perExample: false }, [{ units: 3 }], [4], OUTPUTS.slice(0, 1), new Rng(4)) as DSelectKNetwork;
    const x = tf.randomNormal([2, 4]);
    for (const t of [-0.9, -0.4, -0.25, -0.1, 0, 0.05, 0.3, 0.39, 0.4, 1.5]) {
      setWeights(net, 'gate_species_z', [tf.tensor2d([[t]])]);
      const w = net.gateWeights(x, 0);
      const [w0, w1] = w.dataSync();
      w.dispose();
      assert.ok(Math.abs(w1 - smoothStep(t, gamma)) < 1e-6, `S(${t}) = ${smoothStep(t, gamma)}, gate gives ${w1}`);
      assert.ok(Math.abs(w0 - (1 - smoothStep(t, gamma))) < 1e-6);
    }
    x.dispose();
    net.dispose();
  });

  it('saturated selectors select exactly k experts (exact zeros elsewhere); the saved model mixes the same way', async () => {
    const net = architectureFactory('dselect-k').create({ kind: 'dselect-k', experts: 8, k: 2, perExample: false }, [{ units: 5 }], [4], OUTPUTS, new Rng(5)) as DSelectKNetwork;
    // Selector 0 → expert 5 (binary 101), selector 1 → expert 2 (010); z = ±γ saturates the steps.
    setWeights(net, 'gate_species_z', [tf.tensor2d([[1, -1, 1, -1, 1, -1]])]);
    setWeights(net, 'gate_species_w', [tf.tensor2d([[0.4, -0.3]])]);
    const x = tf.randomNormal([3, 4]);
    const w = net.gateWeights(x, 0);
    const p = Math.exp(0.4) / (Math.exp(0.4) + Math.exp(-0.3));
    for (let r = 0; r < 3; r++) {
      const row = Array.from(w.dataSync().slice(r * 8, r * 8 + 8));
      assert.deepEqual(
        row.map((v) => (v === 0 ? 0 : 1)),
        [0, 0, 1, 0, 0, 1, 0, 0],
      );
      assert.ok(Math.abs(row[5] - p) < 1e-6 && Math.abs(row[2] - (1 - p)) < 1e-6);
    }
    // A static gate: the same weights for every row. The other head (not saturated) weighs every expert.
    const other = net.gateWeights(x, 1);
    assert.ok(other.dataSync().every((v) => v > 0));
    let saved: tf.io.ModelArtifacts | undefined;
    await net.model.save(tf.io.withSaveHandler(async (artifacts) => ((saved = artifacts), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved as tf.io.ModelArtifacts));
    const plainOuts = loaded.predict(x) as tf.Tensor[];
    const plain = plainOuts.map((t) => t.dataSync());
    tf.dispose(plainOuts);
    loaded.dispose();
    outputsOf(net, x).forEach((o, t) => o.forEach((v, i) => assert.ok(Math.abs(v - plain[t][i]) < 1e-6, `${v} vs ${plain[t][i]}`)));
    tf.dispose([x, w, other]);
    net.dispose();
  });

  it('per-example gates differ between rows; with a power of two experts each row sums to 1, with 3 experts at most 1', () => {
    const net = architectureFactory('dselect-k').create({ kind: 'dselect-k', experts: 4, k: 2 }, [{ units: 5 }], [4], OUTPUTS, new Rng(6)) as DSelectKNetwork;
    setWeights(net, 'gate_sex_z', [tf.randomNormal([4, 4], 0, 1, 'float32', 3), tf.zeros([4])]);
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 9);
    const w = net.gateWeights(x, 1);
    const rows = Array.from({ length: 6 }, (_, r) => Array.from(w.dataSync().slice(r * 4, r * 4 + 4)));
    for (const row of rows) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    assert.ok(rows.some((row) => moved(Float32Array.from(row), Float32Array.from(rows[0]))));
    tf.dispose([x, w]);
    net.dispose();
    // 3 experts: 2 bits, code 3 selects nothing; the weights on the real experts sum to at most 1.
    const three = architectureFactory('dselect-k').create({ kind: 'dselect-k', experts: 3, k: 2 }, [{ units: 5 }], [4], OUTPUTS, new Rng(6)) as DSelectKNetwork;
    setWeights(three, 'gate_sex_z', [tf.randomNormal([4, 4], 0, 1, 'float32', 3), tf.zeros([4])]);
    const x3 = tf.randomNormal([6, 4], 0, 1, 'float32', 9);
    const w3 = three.gateWeights(x3, 1);
    const sums = Array.from(tf.tidy(() => tf.sum(w3, 1)).dataSync());
    assert.ok(sums.every((v) => v <= 1 + 1e-6) && sums.some((v) => v < 0.99), `row sums ${sums.join(', ')}`);
    tf.dispose([x3, w3]);
    three.dispose();
  });

  for (const [label, spec] of [
    ['the entropy term', { experts: 4, k: 2, entropy: 0.5 }],
    ['the penalty for a number of experts that is not a power of two', { experts: 3, k: 2 }],
  ] as const) {
    it(`a training pass adds the gradient of ${label} to the gate's variables, and nothing to the loss`, () => {
      const net = architectureFactory('dselect-k').create({ kind: 'dselect-k', ...spec }, [{ units: 5 }], [4], OUTPUTS, new Rng(7)) as DSelectKNetwork;
      setWeights(net, 'gate_sex_z', [tf.randomNormal([4, 4], 0, 0.5, 'float32', 3), tf.zeros([4])]);
      const x = tf.randomNormal([6, 4], 0, 1, 'float32', 9);
      const gateVars = net.headVariables[1].filter((v) => v.name.startsWith('gate_sex'));
      const headLoss = (training: boolean, withRegularizer: boolean): { value: number; grads: Float32Array[] } => {
        const { value, grads } = tf.variableGrads(() => {
          const rep = net.forwardTrunk(x, training, new Rng(1));
          const loss = tf.sum(tf.square(net.forwardHead(1, rep, x))) as tf.Scalar;
          return withRegularizer ? (tf.add(loss, net.gateRegularizer(x, 1)) as tf.Scalar) : loss;
        }, gateVars);
        const out = { value: value.dataSync()[0], grads: gateVars.map((v) => grads[v.name].dataSync() as Float32Array) };
        tf.dispose([value, ...Object.values(grads)]);
        return out;
      };
      const trained = headLoss(true, false);
      const expected = headLoss(false, true);
      const plain = headLoss(false, false);
      assert.ok(Math.abs(trained.value - plain.value) < 1e-6, 'the loss value is unchanged');
      trained.grads.forEach((g, i) => g.forEach((v, j) => assert.ok(Math.abs(v - expected.grads[i][j]) < 1e-4 * Math.max(1, Math.abs(v)), `${gateVars[i].name}[${j}]: ${v} vs ${expected.grads[i][j]}`)));
      assert.ok(trained.grads.some((g, i) => moved(g, plain.grads[i])), 'the regulariser changes the gradient');
      tf.dispose(x);
      net.dispose();
    });
  }
});

describe('MTAN on MultiMNIST (conv trunk)', () => {
  before(useDefaultBackend);

  it('trains under MGDA (rep: every block output), lowers both digits\' loss, and plain tfjs gives its outputs to 1e-6', async () => {
    const data = buildMultiMnist(loadMnistDigits(), { train: 512, test: 8, seed: 0 });
    const config = resolveConfig(
      parseConfig({
        targets: [
          { name: 'left', kind: 'classification' },
          { name: 'right', kind: 'classification' },
        ],
        model: { trunk: [{ type: 'conv', filters: 4, kernel: 5, padding: 'valid', pool: 'max' }, { type: 'conv', filters: 8, kernel: 5, padding: 'valid', pool: 'max' }, 16] },
        architecture: { kind: 'mtan', towers: [16] },
        validation: { split: 0 },
        balance: { method: 'mgda', mode: 'rep' },
        training: { epochs: 6, batchSize: 64, learningRate: 3e-3, seed: 2, trainMetrics: false },
      }),
    );
    const model = await fitImageModel(config, data.train);
    const h = model.meta.history;
    for (const head of ['left', 'right']) assert.ok(h[5].train.heads[head].loss < 0.8 * h[0].train.heads[head].loss, `${head}: ${h[0].train.heads[head].loss} → ${h[5].train.heads[head].loss}`);
    const dir = join(tempDir(), 'mm');
    await saveModel(model, dir);
    const test = subsetImages(data.test, [0, 1, 2, 3, 4, 5, 6, 7]);
    const ours = predictImageOutputs(model, test);
    const loaded = await loadModel(dir);
    predictImageOutputs(loaded, test).forEach((o, i) => assert.deepEqual(o, ours[i]));
    const input = tf.tensor4d(test.x, [test.n, 28, 28, 1]);
    const plain = await plainPredict(dir, input);
    plain.forEach((o, i) => o.forEach((v, k) => assert.ok(Math.abs(v - ours[i][k]) <= 1e-6, `${v} vs ${ours[i][k]}`)));
    input.dispose();
    loaded.dispose();
    model.dispose();
  });
});

describe('MTAN and DSelect-k in training', () => {
  before(useDefaultBackend);

  for (const arch of [{ kind: 'mtan' }, { kind: 'mtan', attentionBatchNorm: true }, { kind: 'dselect-k', experts: 4, k: 2 }, { kind: 'dselect-k', experts: 3, perExample: false, entropy: 0.01 }]) {
    const label = `${arch.kind}${'perExample' in arch ? ' (static gate)' : ''}${'attentionBatchNorm' in arch ? ' (batch norm in the masks)' : ''}`;

    it(`${label}: each head's variables move only its own outputs; shared ones move every head's`, () => {
      const net = architectureFactory(arch.kind).create(arch, [{ units: 8 }, { units: 6, batchNorm: true }], [4], [...OUTPUTS, { name: 'mass', units: 1, activation: 'linear' }], new Rng(8));
      const x = tf.randomNormal([5, 4], 0, 1, 'float32', 2);
      net.headVariables.forEach((vars, t) => assert.deepEqual(headsMovedBy(net, vars, x), [0, 1, 2].map((h) => h === t)));
      assert.deepEqual(headsMovedBy(net, net.sharedVariables, x), [true, true, true]);
      x.dispose();
      net.dispose();
    });

    it(`${label}: training lowers the loss on penguins under equal weights, MGDA (rep) and PCGrad (param), without leaking tensors`, async () => {
      for (const balance of [{ method: 'equal' }, { method: 'mgda', mode: 'rep' }, { method: 'pcgrad', mode: 'param' }]) {
        const start = tf.memory().numTensors;
        const model = await fitModel(config(arch, balance, { epochs: 8 }), { table: penguins() });
        const first = model.meta.history[0].validation?.loss ?? NaN;
        const last = model.meta.history[7].validation?.loss ?? NaN;
        assert.ok(last < 0.7 * first, `${balance.method}: validation loss ${first} → ${last}`);
        model.predict(penguins());
        model.dispose();
        assert.equal(tf.memory().numTensors, start, `${balance.method}: tensors left behind`);
      }
    });
  }

  it('`compare --architectures shared,mtan,dselect-k` trains and reports a row per architecture', () => {
    const out = join(tempDir(), 'sweep.json');
    const r = cli(['compare', '--config', PENGUINS_CONFIG, '--epochs', '3', '--methods', 'equal', '--seeds', '1', '--architectures', 'shared,mtan,dselect-k', '--quiet', '--json', out]);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(readFileSync(out, 'utf8')) as { rows: { label: string; deltaM?: { mean: number } }[] };
    for (const kind of ['shared', 'mtan', 'dselect-k']) {
      const row = result.rows.find((x) => x.label.endsWith(`· ${kind}`));
      assert.ok(row, `a row for ${kind}: ${result.rows.map((x) => x.label).join(' | ')}`);
    }
  });

  it('`train --architecture mtan|dselect-k` trains and saves that architecture; an unknown kind is refused in one line', () => {
    for (const kind of ['mtan', 'dselect-k']) {
      const out = join(tempDir(), 'model');
      const r = cli(['train', '--config', PENGUINS_CONFIG, '--architecture', kind, '--epochs', '2', '--out', out, '--quiet']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(readFileSync(join(out, 'multiloss.json'), 'utf8')).config.architecture.kind, kind);
    }
    assertRefused(cli(['train', '--config', PENGUINS_CONFIG, '--architecture', 'dselect', '--epochs', '1', '--quiet']), /architecture\.kind: unknown architecture "dselect"; valid kinds: .*mtan, dselect-k/);
  });

  describe('bad options: one line naming the option', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['dselect-k k > experts', { kind: 'dselect-k', experts: 4, k: 5 }, /^architecture\.k: expected a whole number in \[1, experts = 4\], got 5$/],
      ['dselect-k one expert', { kind: 'dselect-k', experts: 1 }, /^architecture\.experts: expected a whole number ≥ 2, got 1$/],
      ['dselect-k gamma 0', { kind: 'dselect-k', gamma: 0 }, /^architecture\.gamma: expected a number > 0, got 0$/],
      ['dselect-k negative entropy', { kind: 'dselect-k', entropy: -1 }, /^architecture\.entropy: expected a number ≥ 0, got -1$/],
      ['dselect-k perExample not a boolean', { kind: 'dselect-k', perExample: 'static' }, /^architecture\.perExample: expected true or false, got "static"$/],
      ['mtan attentionBatchNorm not a boolean', { kind: 'mtan', attentionBatchNorm: 'yes' }, /^architecture\.attentionBatchNorm: expected true or false, got "yes"$/],
      ['an option mtan does not have', { kind: 'mtan', experts: 2 }, /^architecture\.experts: not an option of architecture "mtan" \(its options: attentionBatchNorm, towers\)$/],
    ];
    for (const [label, arch, message] of cases) {
      it(label, async () => {
        await assert.rejects(
          () => fitModel(config(arch), { table: penguins() }),
          (e: unknown) => isMultilossError(e) && e.kind === 'config' && message.test(e.message) && !e.message.includes('\n'),
        );
      });
    }
  });
});

describe('MTAN and DSelect-k: save → load → same predictions, plain tfjs to 1e-6', () => {
  before(useDefaultBackend);
  for (const arch of [{ kind: 'mtan', towers: [4] }, { kind: 'dselect-k', experts: 3, k: 2, entropy: 0.1 }, { kind: 'dselect-k', perExample: false }]) {
    it(`${arch.kind}${'perExample' in arch ? ' (static gate)' : ''}`, async () => {
      const model = await fitModel(config(arch, { method: 'uncertainty' }, { epochs: 2 }), { table: penguins() });
      const dir = join(tempDir(), 'm');
      await saveModel(model, dir);
      const loaded = await loadModel(dir);
      const rows = penguins();
      const ours = model.predictOutputs(rows);
      loaded.predictOutputs(rows).forEach((o, i) => assert.deepEqual(o, ours[i]));
      const { x } = model.encodeFeatures(rows);
      const input = tf.tensor2d(x, [rows.length, model.preprocessor.outputSize]);
      const plain = await plainPredict(dir, input);
      plain.forEach((o, i) => o.forEach((v, k) => assert.ok(Math.abs(v - ours[i][k]) <= 1e-6, `output ${i}[${k}]: ${v} vs ${ours[i][k]}`)));
      input.dispose();
      loaded.dispose();
      model.dispose();
    });
  }
});

it("the README's architecture table and docs/architectures.md's tables list every registered kind", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const docs = readFileSync(join(ROOT, 'docs', 'architectures.md'), 'utf8');
  const readmeKinds = [...readme.matchAll(/^\| `([a-z-]+)`(?:, `([a-z-]+)`)? \|/gm)].flatMap((m) => [m[1], m[2]]).filter((k) => k !== undefined);
  for (const kind of architectureKinds()) {
    assert.ok(readmeKinds.includes(kind), `README table row for ${kind}`);
    assert.equal(docs.match(new RegExp(`^\\| \`${kind}\` `, 'gm'))?.length, 2, `docs/architectures.md: a paper row and a representation row for ${kind}`);
  }
});
