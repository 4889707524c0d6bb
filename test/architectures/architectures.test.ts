import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import { isMultilossError } from '../../src/errors.js';
import { loadModel, saveModel } from '../../src/io/model-dir.js';
import { architectureFactory, architectureKinds, CrossStitchNetwork, ExtractionNetwork } from '../../src/model/architectures/index.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import type { OutputSpec } from '../../src/model/trainable-network.js';
import { Rng } from '../../src/util/rng.js';
import { fitModel } from '../../src/training/fit.js';
import { loadPlainLayersModel, penguins, tempDir, useDefaultBackend } from '../helpers.js';

const TARGETS = [
  { name: 'species', column: 'Species', kind: 'classification' },
  { name: 'sex', column: 'Sex', kind: 'binary' },
  { name: 'mass', column: 'Body Mass (g)', kind: 'regression' },
];

function config(architecture: Record<string, unknown>, balance: Record<string, unknown> = { method: 'equal' }, extra: Record<string, unknown> = {}): ResolvedConfig {
  return resolveConfig(
    parseConfig({
      missingValues: ['.'],
      features: ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)'],
      targets: TARGETS,
      validation: { split: 0.2 },
      model: { trunk: [{ units: 8, dropout: 0.1 }, { units: 6, batchNorm: true }] },
      architecture,
      balance,
      training: { epochs: 1, batchSize: 32, seed: 3 },
      ...extra,
    }),
  );
}

const OUTPUTS: OutputSpec[] = [
  { name: 'species', units: 3, activation: 'softmax' },
  { name: 'sex', units: 1, activation: 'sigmoid' },
  { name: 'mass', units: 1, activation: 'linear' },
];

const ARCHITECTURES: Record<string, unknown>[] = [
  { kind: 'shared', towers: { species: [5], mass: [{ units: 4, dropout: 0.2 }] } },
  { kind: 'mmoe', experts: 3, towers: [4] },
  { kind: 'cgc', sharedExperts: 2, taskExperts: { species: 2 } },
  { kind: 'ple', levels: 2, sharedExperts: 1, taskExperts: 1 },
  { kind: 'cross-stitch', towers: [4] },
  { kind: 'mtan', towers: { mass: [4] } },
  { kind: 'mtan', attentionBatchNorm: true },
  { kind: 'dselect-k', experts: 3, k: 2, entropy: 0.01, towers: [4] },
  { kind: 'dselect-k', experts: 4, k: 1, perExample: false },
];

/** Variable names without the uniquifying suffix tfjs adds when a name repeats across models. */
const names = (vars: tf.Variable[]): string[] => vars.map((v) => v.name.replace(/_\d+$/, ''));

async function plainOutputs(dir: string, x: Float32Array, n: number, d: number): Promise<Float32Array[]> {
  const plain = await loadPlainLayersModel(dir);
  assert.deepEqual(plain.outputNames, ['species', 'sex', 'mass']);
  const outs = plain.predict(tf.tensor2d(x, [n, d])) as tf.Tensor[];
  const values = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  plain.dispose();
  return values;
}

describe('architectures', () => {
  before(useDefaultBackend);

  it('registers every kind', () => {
    assert.deepEqual(architectureKinds().sort(), ['cgc', 'cross-stitch', 'dselect-k', 'mmoe', 'mtan', 'ple', 'shared']);
  });

  for (const arch of ARCHITECTURES) {
    describe(`${String(arch.kind)}${arch.perExample === false ? ' (static gate)' : ''}${arch.attentionBatchNorm ? ' (batch norm in the masks)' : ''}`, () => {
      let model: MultilossModel;
      const dir = join(tempDir(), 'm');
      const rows = penguins();

      before(async () => {
        model = await fitModel(config(arch, { method: 'uncertainty' }), { table: rows });
        await saveModel(model, dir);
      });

      for (const balance of [{ method: 'uncertainty' }, { method: 'pcgrad', mode: 'param' }, { method: 'mgda', mode: 'rep' }, { method: 'gradnorm' }]) {
        it(`trains under ${balance.method}${balance.mode ? ` (${balance.mode})` : ''} without non-finite losses`, async () => {
          const m = balance.method === 'uncertainty' ? model : await fitModel(config(arch, balance), { table: rows });
          for (const epoch of m.meta.history) {
            for (const [head, h] of Object.entries(epoch.train.heads)) assert.ok(Number.isFinite(h.loss), `${head} loss at epoch ${epoch.epoch}: ${h.loss}`);
            assert.ok(Number.isFinite(epoch.validation?.loss ?? NaN));
          }
          if (m !== model) m.dispose();
        });
      }

      it('save → loadModel → predict gives identical outputs', async () => {
        const loaded = await loadModel(dir);
        const a = model.predictOutputs(rows);
        const b = loaded.predictOutputs(rows);
        a.forEach((x, i) => assert.deepEqual(b[i], x));
        assert.deepEqual(loaded.predict(rows), model.predict(rows));
        loaded.dispose();
      });

      it('the saved network loads with plain tfjs and gives the same raw outputs', async () => {
        const { x } = model.encodeFeatures(rows);
        const plain = await plainOutputs(dir, x, rows.length, model.preprocessor.outputSize);
        const ours = model.predictOutputs(rows);
        plain.forEach((v, i) => {
          assert.equal(v.length, ours[i].length);
          for (let k = 0; k < v.length; k++) assert.ok(Math.abs(v[k] - ours[i][k]) <= 1e-5, `output ${i}[${k}]: ${v[k]} vs ${ours[i][k]}`);
        });
      });

      it('splits the variables into shared and per-head ones, covering every trainable weight once', () => {
        const net = model.network;
        const all = [...net.sharedVariables, ...net.headVariables.flat()];
        assert.equal(new Set(all).size, all.length, 'no variable listed twice');
        const trainable = net.model.trainableWeights.map((w) => w.read().id);
        assert.deepEqual(all.map((v) => v.id).sort(), [...trainable].sort());
        assert.ok(net.sharedVariables.length > 0);
        assert.ok(net.lastSharedVariables.every((v) => net.sharedVariables.includes(v)));
      });
    });
  }

  it('names the shared and head variables as documented (shared with towers)', () => {
    const net = architectureFactory('shared').create({ kind: 'shared', towers: { species: [5] } }, [{ units: 8 }, { units: 6, batchNorm: true }], [4], OUTPUTS, new Rng(1));
    assert.deepEqual(names(net.sharedVariables), ['trunk_dense_0/kernel', 'trunk_dense_0/bias', 'trunk_dense_1/kernel', 'trunk_dense_1/bias', 'trunk_bn_1/gamma', 'trunk_bn_1/beta']);
    assert.deepEqual(names(net.headVariables[0]), ['tower_species_dense_0/kernel', 'tower_species_dense_0/bias', 'head_species_dense/kernel', 'head_species_dense/bias']);
    assert.deepEqual(names(net.headVariables[1]), ['head_sex_dense/kernel', 'head_sex_dense/bias']);
    assert.deepEqual(names(net.lastSharedVariables), ['trunk_dense_1/kernel', 'trunk_dense_1/bias', 'trunk_bn_1/gamma', 'trunk_bn_1/beta']);
    net.dispose();
  });

  it('names the shared and head variables as documented (mmoe)', () => {
    const net = architectureFactory('mmoe').create({ kind: 'mmoe', experts: 2 }, [{ units: 8 }], [4], OUTPUTS, new Rng(1));
    assert.deepEqual(names(net.sharedVariables), ['shared_expert_0_dense_0/kernel', 'shared_expert_0_dense_0/bias', 'shared_expert_1_dense_0/kernel', 'shared_expert_1_dense_0/bias']);
    assert.deepEqual(names(net.headVariables[2]), ['gate_mass/kernel', 'gate_mass/bias', 'head_mass_dense/kernel', 'head_mass_dense/bias']);
    net.dispose();
  });

  it('names the shared and head variables as documented (ple, 2 levels)', () => {
    const net = architectureFactory('ple').create({ kind: 'ple', levels: 2, sharedExperts: 1, taskExperts: 1 }, [{ units: 8 }], [4], OUTPUTS.slice(0, 2), new Rng(1));
    assert.deepEqual(names(net.sharedVariables), [
      'l0_shared_expert_0_dense_0/kernel',
      'l0_shared_expert_0_dense_0/bias',
      'l0_task_species_expert_0_dense_0/kernel',
      'l0_task_species_expert_0_dense_0/bias',
      'l0_task_sex_expert_0_dense_0/kernel',
      'l0_task_sex_expert_0_dense_0/bias',
      'l0_shared_gate/kernel',
      'l0_shared_gate/bias',
      'l1_shared_expert_0_dense_0/kernel',
      'l1_shared_expert_0_dense_0/bias',
    ]);
    assert.deepEqual(names(net.headVariables[1]), [
      'l0_gate_sex/kernel',
      'l0_gate_sex/bias',
      'l1_task_sex_expert_0_dense_0/kernel',
      'l1_task_sex_expert_0_dense_0/bias',
      'l1_gate_sex/kernel',
      'l1_gate_sex/bias',
      'head_sex_dense/kernel',
      'head_sex_dense/bias',
    ]);
    assert.deepEqual(names(net.lastSharedVariables), ['l1_shared_expert_0_dense_0/kernel', 'l1_shared_expert_0_dense_0/bias']);
    net.dispose();
  });

  it('names the shared and head variables as documented (cross-stitch)', () => {
    const net = architectureFactory('cross-stitch').create({ kind: 'cross-stitch' }, [{ units: 8 }, { units: 6 }], [4], OUTPUTS.slice(0, 2), new Rng(1));
    assert.deepEqual(names(net.sharedVariables), [
      'column_species_dense_0/kernel',
      'column_species_dense_0/bias',
      'column_species_dense_1/kernel',
      'column_species_dense_1/bias',
      'column_sex_dense_0/kernel',
      'column_sex_dense_0/bias',
      'column_sex_dense_1/kernel',
      'column_sex_dense_1/bias',
      'stitch_0_species/kernel',
      'stitch_0_sex/kernel',
    ]);
    assert.deepEqual(names(net.headVariables[0]), ['stitch_1_species/kernel', 'head_species_dense/kernel', 'head_species_dense/bias']);
    assert.deepEqual((net as CrossStitchNetwork).stitchWeights()[0].map((r) => r.map((v) => Math.round(v * 100) / 100)), [
      [0.9, 0.1],
      [0.1, 0.9],
    ]);
    net.dispose();
  });

  it('the shared representation has the documented width', () => {
    const x = tf.randomNormal([5, 4]);
    const widths: Record<string, number> = {};
    for (const [spec, T] of [
      [{ kind: 'shared' }, 3],
      [{ kind: 'mmoe', experts: 3 }, 3],
      [{ kind: 'cgc', sharedExperts: 2 }, 3],
      [{ kind: 'ple', levels: 3, sharedExperts: 2 }, 3],
      [{ kind: 'cross-stitch' }, 3],
    ] as [Record<string, unknown> & { kind: string }, number][]) {
      const net = architectureFactory(spec.kind).create(spec, [{ units: 8 }, { units: 6 }], [4], OUTPUTS.slice(0, T), new Rng(1));
      const rep = net.forwardTrunk(x, false);
      widths[spec.kind] = rep.shape[1];
      rep.dispose();
      net.dispose();
    }
    // shared: trunk output; mmoe: 3 experts × 6; cgc: 2 shared experts × 6; ple: 2 shared experts × 6 + 3 heads' inputs × 6; cross-stitch: 3 columns × 6.
    assert.deepEqual(widths, { shared: 6, mmoe: 18, cgc: 12, ple: 30, 'cross-stitch': 18 });
    x.dispose();
  });

  it('MMoE gates sum to 1 per head per sample', () => {
    const net = architectureFactory('mmoe').create({ kind: 'mmoe', experts: 4 }, [{ units: 8 }], [4], OUTPUTS, new Rng(2)) as ExtractionNetwork;
    const x = tf.randomNormal([7, 4], 0, 3);
    for (let t = 0; t < OUTPUTS.length; t++) {
      const g = net.gateWeights(x, t);
      assert.deepEqual(g.shape, [7, 4]);
      const sums = tf.sum(g, 1).dataSync();
      sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-6, `row sum ${s}`));
      assert.ok(g.dataSync().every((v) => v > 0 && v < 1));
      g.dispose();
    }
    x.dispose();
    net.dispose();
  });

  it('PLE with one level equals CGC for the same weights', () => {
    const spec = { sharedExperts: 2, taskExperts: 1 };
    const cgc = architectureFactory('cgc').create({ kind: 'cgc', ...spec }, [{ units: 8 }, { units: 5 }], [4], OUTPUTS, new Rng(5));
    const ple = architectureFactory('ple').create({ kind: 'ple', levels: 1, ...spec }, [{ units: 8 }, { units: 5 }], [4], OUTPUTS, new Rng(99));
    assert.deepEqual(
      ple.model.weights.map((w) => w.originalName),
      cgc.model.weights.map((w) => w.originalName),
    );
    ple.model.setWeights(cgc.model.getWeights());
    const x = tf.randomNormal([6, 4]);
    const a = cgc.predict(x);
    const b = ple.predict(x);
    a.forEach((t, i) => assert.deepEqual(b[i].dataSync(), t.dataSync()));
    tf.dispose([x, ...a, ...b]);
    cgc.dispose();
    ple.dispose();
  });

  it('the same seed gives the same weights (dropout in experts and towers)', async () => {
    const arch = { kind: 'mmoe', experts: 2, towers: [{ units: 4, dropout: 0.3 }] };
    const a = await fitModel(config(arch), { table: penguins() });
    const b = await fitModel(config(arch), { table: penguins() });
    const wa = a.network.model.getWeights().map((w) => w.dataSync());
    b.network.model.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), wa[i]));
    a.dispose();
    b.dispose();
  });

  describe('bad options: one line naming the option and the expected value', () => {
    const cases: [string, Record<string, unknown>, RegExp, Record<string, unknown>?][] = [
      ['experts < 1', { kind: 'mmoe', experts: 0 }, /^architecture\.experts: expected a whole number ≥ 1, got 0$/],
      ['a tower for a head that does not exist', { kind: 'mmoe', towers: { colour: [4] } }, /^architecture\.towers\.colour: there is no head named "colour" \(heads: species, sex, mass\)$/],
      ['task experts for a head that does not exist', { kind: 'cgc', taskExperts: { wings: 2 } }, /^architecture\.taskExperts\.wings: there is no head named "wings"/],
      ['an unknown option', { kind: 'cgc', experts: 3 }, /^architecture\.experts: not an option of architecture "cgc" \(its options: expertLayers, towers, sharedExperts, taskExperts\)$/],
      ['ple levels < 1', { kind: 'ple', levels: 0 }, /^architecture\.levels: expected a whole number ≥ 1, got 0$/],
      ['cross-stitch selfWeight out of range', { kind: 'cross-stitch', selfWeight: 2 }, /^architecture\.selfWeight: expected a number in \[0, 1\], got 2$/],
      ['a conv block in a tower', { kind: 'shared', towers: [{ type: 'conv', filters: 4 }] }, /^architecture\.towers\[0\]: a tower holds dense blocks only/],
      ['an unknown kind', { kind: 'moe' }, /^architecture\.kind: unknown architecture "moe"; valid kinds: shared, mmoe, cgc, ple, cross-stitch, mtan, dselect-k$/],
      ['a conv trunk on tabular input', { kind: 'shared' }, /^model\.trunk\[0\]: a conv block needs image input of shape H×W×C, but its input is flat rows of \d+ \(tabular features\)$/, { model: { trunk: [{ type: 'conv', filters: 4 }] } }],
      ['conv experts on tabular input', { kind: 'mmoe', expertLayers: [{ type: 'conv', filters: 4 }] }, /^architecture\.expertLayers\[0\]: a conv block needs image input/],
    ];
    for (const [label, arch, message, extra] of cases) {
      it(label, async () => {
        await assert.rejects(
          () => fitModel(config(arch, { method: 'equal' }, extra), { table: penguins() }),
          (e: unknown) => isMultilossError(e) && e.kind === 'config' && message.test(e.message) && !e.message.includes('\n'),
        );
      });
    }
  });
});
