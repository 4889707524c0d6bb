import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadModel } from '../../src/io/model-dir.js';
import { cli, PENGUINS, PENGUINS_CONFIG, tempDir, useDefaultBackend } from '../helpers.js';

// The README's main job, end to end through the CLI: the bundled example
// config with its seeded 25% held-out split.
describe('penguins through the CLI', () => {
  const dir = tempDir();
  const out = join(dir, 'model');
  let metrics: { validation: { heads: Record<string, { metrics: Record<string, number> }> } };

  before(async () => {
    await useDefaultBackend();
    const r = cli(['train', '--config', PENGUINS_CONFIG, '--out', out, '--json', '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    metrics = JSON.parse(r.stdout).metrics;
  });

  it('reaches the accuracy targets on the held-out 25%', () => {
    const v = metrics.validation.heads;
    assert.ok(v.species.metrics.accuracy >= 0.95, `species accuracy ${v.species.metrics.accuracy}`);
    assert.ok(v.sex.metrics.accuracy >= 0.82, `sex accuracy ${v.sex.metrics.accuracy}`);
    assert.ok(v.body_mass_g.metrics.r2 >= 0.8, `body mass R² ${v.body_mass_g.metrics.r2}`);
    // The README's figures (seed 4, early stopping on by default).
    const two = (x: number) => Math.round(x * 100) / 100;
    assert.deepEqual([two(v.species.metrics.accuracy), two(v.sex.metrics.accuracy), two(v.body_mass_g.metrics.r2)], [1, 0.84, 0.82]);
  });

  it('predicts from the saved model exactly what the loaded model predicts in-process', async () => {
    const r = cli(['predict', '--model', out, '--data', PENGUINS, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 344);
    const model = await loadModel(out);
    const rows = JSON.parse(readFileSync(PENGUINS, 'utf8')) as Record<string, unknown>[];
    const inProcess = model.predict(rows);
    assert.deepEqual(lines, JSON.parse(JSON.stringify(inProcess)));
    const first = lines[0];
    assert.equal(typeof first.species.label, 'string');
    assert.deepEqual(Object.keys(first.species.probabilities).sort(), ['Adelie', 'Chinstrap', 'Gentoo']);
    assert.ok(['MALE', 'FEMALE'].includes(first.sex.label));
    assert.ok(first.sex.probability >= 0.5 && first.sex.probability <= 1);
    assert.equal(typeof first.body_mass_g, 'number');
    assert.ok(first.body_mass_g > 2000 && first.body_mass_g < 7000, `body mass ${first.body_mass_g} g`);
    model.dispose();
  });

  it('writes CSV predictions to a file with input columns kept', () => {
    const file = join(dir, 'pred.csv');
    const r = cli(['predict', out, PENGUINS, '--out', file, '--keep', 'Species']);
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 345);
    assert.equal(lines[0], 'Species,species,species:p:Adelie,species:p:Chinstrap,species:p:Gentoo,sex,sex:p:FEMALE,sex:p:MALE,body_mass_g');
    const correct = lines.slice(1).filter((l) => {
      const [truth, predicted] = l.split(',');
      return truth === predicted;
    }).length;
    assert.ok(correct / 344 > 0.95, `${correct} of 344 species right`);
  });

  it('evaluates per head as a table and as JSON', () => {
    const t = cli(['evaluate', '--model', out, '--data', PENGUINS]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /species\s+classification\s+344/);
    assert.match(t.stdout, /sex\s+binary\s+333/);
    const j = cli(['evaluate', '--model', out, '--data', PENGUINS, '--json']);
    const result = JSON.parse(j.stdout);
    assert.equal(result.rows, 344);
    assert.equal(result.labelled.sex, 333);
    assert.ok(result.heads.species.metrics.accuracy > 0.95);
  });

  it('describes the model with info', () => {
    const r = cli(['info', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /parameters\s+\d+/);
    // Which compute path is active: the native kernels on x86-64 (CI builds them), else wasm.
    assert.match(r.stdout, process.arch === 'x64' && process.env.MULTILOSS_NATIVE !== '0' ? /backend\s+wasm \(simd on\), fixed wasm kernels, native kernels \(\w+, \d threads\)/ : /backend\s+wasm/);
    assert.match(r.stdout, /species\s+classification\s+Species\s+crossentropy\s+3\s+Adelie, Chinstrap, Gentoo/);
    const j = JSON.parse(cli(['info', out, '--json']).stdout);
    assert.equal(j.heads.length, 3);
    // Early stopping (on by default with the validation split) ends the 120-epoch budget early, as the README says.
    assert.equal(j.epochs, 22);
    assert.deepEqual({ ...j.stop, best: undefined }, { reason: 'patience', epochs: 22, maxEpochs: 120, monitor: 'validation.relativeLoss', patience: 10, bestEpoch: 12, best: undefined, restoredBest: true });
    assert.match(r.stdout, /stopped +patience exhausted at epoch 22 of 120 \(no improvement of validation\.relativeLoss for 10 epochs\); best epoch 12 restored/);
  });

  it('puts an unseen category into the unknown bucket instead of failing', () => {
    const file = join(dir, 'new-island.csv');
    writeFileSync(file, 'Island,Beak Length (mm),Beak Depth (mm),Flipper Length (mm)\nAtlantis,45,15,220\n');
    const r = cli(['predict', out, file, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
    const p = JSON.parse(r.stdout);
    assert.equal(typeof p.species.label, 'string');
  });
});
