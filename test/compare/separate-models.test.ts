import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import { readConfigFile } from '../../src/io/config-file.js';
import { loadModel } from '../../src/io/model-dir.js';
import { loadAnyModel, saveAnyModel } from '../../src/io/separate-dir.js';
import type { MultiOutputModel } from '../../src/model/multi-output.js';
import { MultilossModel } from '../../src/model/multiloss-model.js';
import { SeparateModels } from '../../src/model/separate-models.js';
import { fitModel, splitInput } from '../../src/training/fit.js';
import { fitSeparate } from '../../src/training/fit-separate.js';
import { cli, penguins, PENGUINS, PENGUINS_CONFIG, tempDir, useDefaultBackend } from '../helpers.js';

function penguinsConfig(epochs: number, extra: Record<string, unknown> = {}): ResolvedConfig {
  const raw = readConfigFile(PENGUINS_CONFIG);
  raw.training = { ...(raw.training as object), epochs };
  return resolveConfig(parseConfig({ ...raw, ...extra }));
}

/** save → load → the same predictions, raw outputs and evaluation, bit for bit. */
async function assertRoundTrip(model: MultiOutputModel, dir: string): Promise<MultiOutputModel> {
  const rows = penguins();
  await saveAnyModel(model, dir);
  const loaded = await loadAnyModel(dir);
  assert.equal(loaded.constructor, model.constructor);
  assert.deepEqual(loaded.predict(rows), model.predict(rows));
  const a = model.predictOutputs(rows);
  const b = loaded.predictOutputs(rows);
  assert.equal(b.length, a.length);
  a.forEach((x, i) => assert.deepEqual(b[i], x));
  assert.deepEqual(loaded.evaluate(rows), model.evaluate(rows));
  assert.deepEqual(loaded.info(), model.info());
  return loaded;
}

describe('approach: separate — one model per target behind the joint interface', () => {
  const rows = penguins();
  const root = tempDir();
  let joint: MultilossModel;
  let separate: SeparateModels;

  before(async () => {
    await useDefaultBackend();
    joint = await fitModel(penguinsConfig(4), { table: rows });
    separate = await fitSeparate(penguinsConfig(4, { approach: 'separate' }), { table: rows });
  });

  it("has the joint model's heads, in order, each from its own single-head model", () => {
    assert.deepEqual(
      separate.heads.map((h) => h.name),
      joint.heads.map((h) => h.name),
    );
    assert.equal(separate.models.length, 3);
    for (const m of separate.models) assert.equal(m.heads.length, 1);
    // Same trunk specification, same features; no target is ever another model's input.
    for (const m of separate.models) {
      assert.deepEqual(m.meta.config.trunk, joint.meta.config.trunk);
      assert.deepEqual(
        m.preprocessor.features.map((f) => f.name),
        ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)'],
      );
      assert.equal(m.meta.config.training.seed, 4);
      assert.equal(m.meta.history.length, 4);
    }
  });

  it('predicts, outputs and evaluates in the same shapes as the joint model', () => {
    const pj = joint.predict(rows);
    const ps = separate.predict(rows);
    assert.equal(ps.length, pj.length);
    assert.deepEqual(Object.keys(ps[0]), Object.keys(pj[0]));
    assert.deepEqual(Object.keys(ps[0].species as object), Object.keys(pj[0].species as object));
    const oj = joint.predictOutputs(rows);
    const os = separate.predictOutputs(rows);
    assert.deepEqual(
      os.map((o) => o.length),
      oj.map((o) => o.length),
    );
    const ej = joint.evaluate(rows);
    const es = separate.evaluate(rows);
    assert.equal(es.rows, ej.rows);
    assert.deepEqual(es.labelled, ej.labelled);
    assert.deepEqual(Object.keys(es.heads), Object.keys(ej.heads));
    for (const h of Object.keys(ej.heads)) assert.deepEqual(Object.keys(es.heads[h].metrics), Object.keys(ej.heads[h].metrics));
    // Each head's figures are those of its own model.
    separate.models.forEach((m) => {
      const name = m.heads[0].name;
      assert.deepEqual(es.heads[name], m.evaluate(rows).heads[name]);
    });
    assert.ok(Math.abs(es.loss - separate.models.reduce((a, m) => a + m.evaluate(rows).loss, 0)) < 1e-9);
  });

  it("trains each model on the joint model's split (validation figures = evaluating on the joint split's validation rows)", () => {
    const { validation } = splitInput(penguinsConfig(4), { table: rows });
    assert.ok(validation);
    const recorded = separate.info().metrics.validation;
    assert.ok(recorded);
    const evaluated = separate.evaluate(validation);
    for (const h of separate.heads) assert.deepEqual(evaluated.heads[h.name].metrics, recorded.heads[h.name].metrics, h.name);
    const jointRecorded = joint.info().metrics.validation;
    assert.ok(jointRecorded);
    for (const h of joint.heads) assert.deepEqual(joint.evaluate(validation).heads[h.name].metrics, jointRecorded.heads[h.name].metrics, h.name);
  });

  it('only info() tells the approaches apart', () => {
    const ij = joint.info();
    const is = separate.info();
    assert.equal(ij.approach, 'joint');
    assert.equal(is.approach, 'separate');
    // How training ended is per model: in models[i].stop for separate models.
    assert.deepEqual(
      Object.keys(is)
        .filter((k) => k !== 'models')
        .sort(),
      Object.keys(ij)
        .filter((k) => k !== 'stop')
        .sort(),
    );
    assert.ok(ij.stop);
    for (const m of is.models) assert.equal(m.stop?.epochs, separate.models.find((s) => s.heads[0].name === m.head)?.meta.history.length, m.head);
    assert.equal(
      is.parameters,
      separate.models.reduce((a, m) => a + m.network.countParams(), 0),
    );
    assert.ok(is.parameters > ij.parameters);
  });

  it('a joint model round-trips through save/load/predict with identical outputs', async () => {
    const loaded = await assertRoundTrip(joint, join(root, 'joint'));
    assert.ok(loaded instanceof MultilossModel);
    loaded.dispose();
  });

  it('separate models round-trip through save/load/predict with identical outputs, as one directory', async () => {
    const dir = join(root, 'separate');
    const loaded = await assertRoundTrip(separate, dir);
    assert.ok(loaded instanceof SeparateModels);
    loaded.dispose();
    assert.deepEqual(readdirSync(dir).sort(), ['0-species', '1-sex', '2-body_mass_g', 'multiloss.json']);
    const meta = JSON.parse(readFileSync(join(dir, 'multiloss.json'), 'utf8'));
    assert.equal(meta.format, 'multiloss');
    assert.equal(meta.approach, 'separate');
    assert.deepEqual(meta.models, [
      { head: 'species', dir: '0-species' },
      { head: 'sex', dir: '1-sex' },
      { head: 'body_mass_g', dir: '2-body_mass_g' },
    ]);
    // Each sub-directory is a complete model directory that loads on its own.
    const sub = await loadModel(join(dir, '1-sex'));
    assert.deepEqual(sub.predictOutputs(rows)[0], separate.models[1].predictOutputs(rows)[0]);
    sub.dispose();
    // Saving again replaces the directory atomically: no temporary directories left.
    await saveAnyModel(separate, dir);
    assert.deepEqual(
      readdirSync(root).filter((f) => f.includes('.tmp-')),
      [],
    );
    // loadModel (joint only) says what the directory is instead of failing on a missing model.json.
    await assert.rejects(loadModel(dir), /holds separate models \(approach: separate\): load it with loadAnyModel/);
  });

  it('a save killed between its two renames is completed on load', async () => {
    const dir = join(root, 'interrupted');
    await saveAnyModel(separate, dir);
    const { renameSync } = await import('node:fs');
    renameSync(dir, join(root, '.interrupted.ready')); // the new directory waiting, the old one moved aside
    const loaded = await loadAnyModel(dir);
    assert.ok(loaded instanceof SeparateModels);
    assert.deepEqual(loaded.predictOutputs(rows), separate.predictOutputs(rows));
    loaded.dispose();
  });

  it('a damaged separate directory is a clear error', async () => {
    const dir = join(root, 'separate');
    const { rmSync, writeFileSync } = await import('node:fs');
    const meta = JSON.parse(readFileSync(join(dir, 'multiloss.json'), 'utf8'));
    writeFileSync(join(dir, 'multiloss.json'), JSON.stringify({ ...meta, models: [{ head: 'species', dir: '../elsewhere' }] }));
    await assert.rejects(loadAnyModel(dir), /models\.0\.dir/);
    writeFileSync(join(dir, 'multiloss.json'), JSON.stringify(meta));
    rmSync(join(dir, '1-sex'), { recursive: true });
    await assert.rejects(loadAnyModel(dir), /the model of head "sex" \(1-sex\/\) is missing/);
  });

  it('fitModel refuses approach: separate instead of silently training a joint model', async () => {
    await assert.rejects(fitModel(penguinsConfig(1, { approach: 'separate' }), { table: rows }), /use fitSeparate/);
  });

  it('through the CLI: train --approach separate, then predict, evaluate and info as for a joint model', async () => {
    const out = join(root, 'cli-separate');
    const t = cli(['train', '--config', PENGUINS_CONFIG, '--epochs', '3', '--approach', 'separate', '--out', out, '--json', '--quiet']);
    assert.equal(t.status, 0, t.stderr);
    const trained = JSON.parse(t.stdout);
    assert.deepEqual(Object.keys(trained.metrics.validation.heads), ['species', 'sex', 'body_mass_g']);
    assert.ok(existsSync(join(out, '0-species', 'weights.bin')));
    const p = cli(['predict', out, PENGUINS, '--format', 'jsonl']);
    assert.equal(p.status, 0, p.stderr);
    const loaded = await loadAnyModel(out);
    const predictions = p.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(predictions, JSON.parse(JSON.stringify(loaded.predict(rows))));
    const e = cli(['evaluate', out, PENGUINS, '--json']);
    assert.equal(e.status, 0, e.stderr);
    assert.deepEqual(JSON.parse(e.stdout), JSON.parse(JSON.stringify(loaded.evaluate(rows))));
    const i = cli(['info', out]);
    assert.equal(i.status, 0, i.stderr);
    assert.match(i.stdout, /approach\s+separate \(3 models, one per head\)/);
    loaded.dispose();
  });
});
