import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  compare,
  compareSplit,
  deltaM,
  deltaMReference,
  fitWithDeltaMStopping,
  runConfig,
  SEPARATE,
  type CompareResult,
  type DeltaMReference,
} from '../../src/compare/compare.js';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import { readConfigFile } from '../../src/io/config-file.js';
import { fitByApproach, fitSeparate } from '../../src/training/fit-separate.js';
import { cli, penguins, PENGUINS, PENGUINS_CONFIG, tempDir, useDefaultBackend } from '../helpers.js';

const EPOCHS = 60;
const PATIENCE = 5;
const METHODS = ['equal', 'uncertainty'];
const SEEDS = [4, 5];

function penguinsConfig(training: Record<string, unknown> = {}): ResolvedConfig {
  const raw = readConfigFile(PENGUINS_CONFIG);
  raw.training = { ...(raw.training as object), epochs: EPOCHS, earlyStopping: { monitor: 'validation.deltaM', patience: PATIENCE }, ...training };
  return resolveConfig(parseConfig(raw));
}

describe('compare with early stopping on Δm (penguins, 2 seeds × (separate + 2 methods), worker threads)', () => {
  const config = penguinsConfig();
  let result: CompareResult;
  let reference: DeltaMReference;

  before(async () => {
    await useDefaultBackend();
    result = await compare(config, { table: penguins() }, { methods: METHODS, seeds: SEEDS.length, workers: 2, backend: 'wasm' });
    reference = deltaMReference(result.heads, result.runs);
  });

  it('the reference is the separate models’ mean validation metric per head, and the table’s Δm is measured against it', () => {
    const sep = result.rows.find((r) => r.label === SEPARATE);
    assert.ok(sep);
    assert.deepEqual(
      reference.heads.map((h) => h.value),
      result.heads.map((h) => sep.heads[h.name].mean),
    );
    assert.deepEqual(result.earlyStopping, { monitor: 'validation.deltaM', patience: PATIENCE, restoreBest: true });
  });

  it('every joint run stops PATIENCE epochs after its best Δm, far before the budget; its figures are those of the best epoch', () => {
    const joint = result.runs.filter((r) => r.label !== SEPARATE);
    assert.equal(joint.length, METHODS.length * SEEDS.length);
    for (const r of joint) {
      const s = r.stopping;
      assert.ok(s, `${r.label} seed ${r.seed}: stopping recorded`);
      assert.equal(s.values.length, r.epochs);
      assert.ok(r.epochs < EPOCHS, `${r.label} seed ${r.seed} stopped early (after ${r.epochs} epochs)`);
      assert.equal(r.epochs, s.bestEpoch + PATIENCE, `${r.label} seed ${r.seed}: stopped exactly PATIENCE epochs after the best`);
      assert.equal(s.best, Math.max(...s.values));
      assert.equal(s.values.indexOf(s.best) + 1, s.bestEpoch, 'the first epoch reaching the best value');
      // The reported figures are the best epoch's: their Δm is the best monitored value, and it is the table's.
      const row = result.rows.find((x) => x.label === r.label);
      assert.ok(row);
      assert.equal(row.deltaM.values[SEEDS.indexOf(r.seed)], s.best);
    }
  });

  it('the same runs made one by one in this thread give the same figures; the restored weights are the best epoch’s', async () => {
    const data = compareSplit(config, { table: penguins() });
    const input = { table: data.train, validation: data.validation };
    let restoredSomething = false;
    for (const r of result.runs.filter((x) => x.label !== SEPARATE)) {
      const { model, stopping } = await fitWithDeltaMStopping(runConfig(config, { approach: 'joint', method: r.label }, r.seed), input, reference);
      assert.deepEqual(stopping, r.stopping, `${r.label} seed ${r.seed}: the same Δm curve and stop`);
      const best = model.meta.history[stopping.bestEpoch - 1].validation;
      const last = model.meta.history.at(-1)?.validation;
      assert.ok(best && last);
      const reported = model.info().metrics.validation;
      assert.ok(reported);
      for (const h of result.heads) {
        // The model's final validation metrics are exactly those logged at the best epoch …
        assert.deepEqual(reported.heads[h.name].metrics, best.heads[h.name].metrics, `${r.label} seed ${r.seed} ${h.name}`);
        assert.deepEqual(reported.heads[h.name].loss, best.heads[h.name].loss);
        // … and those of the comparison's run.
        assert.deepEqual(r.validation.heads[h.name].metrics, best.heads[h.name].metrics);
      }
      // Evaluated afresh, the model's weights give the best epoch's figures (not the last epoch's).
      const again = model.evaluate(data.validation);
      for (const h of result.heads) assert.deepEqual(again.heads[h.name].metrics, best.heads[h.name].metrics);
      if (result.heads.some((h) => last.heads[h.name].metrics[h.metric] !== best.heads[h.name].metrics[h.metric])) restoredSomething = true;
      assert.equal(
        deltaM(
          result.heads.map((h) => again.heads[h.name].metrics[h.metric]),
          reference.heads.map((h) => h.value),
          reference.heads.map((h) => h.higherIsBetter),
        ),
        stopping.best,
      );
      model.dispose();
    }
    assert.ok(restoredSomething, 'in some run the last epoch was worse than the best one, so restoring mattered');
  });

  it('the separate models (the reference) stop each on its own head’s metric, with the same patience', async () => {
    const data = compareSplit(config, { table: penguins() });
    const model = await fitSeparate(
      runConfig(config, { approach: 'separate' }, SEEDS[0]),
      { table: data.train, validation: data.validation },
      { deltaMBaseline: true },
    );
    const run = result.runs.find((r) => r.label === SEPARATE && r.seed === SEEDS[0]);
    assert.ok(run);
    assert.equal(
      model.models.reduce((a, m) => a + m.meta.history.length, 0),
      run.epochs,
    );
    result.heads.forEach((h, k) => {
      const sub = model.models[k];
      assert.equal(sub.meta.config.training.earlyStopping?.monitor, `validation.${h.name}.${h.metric}`);
      const values = sub.meta.history.map((e) => e.validation?.heads[h.name].metrics[h.metric] ?? NaN);
      const best = h.higherIsBetter ? Math.max(...values) : Math.min(...values);
      const bestEpoch = values.indexOf(best) + 1;
      assert.ok(values.length === EPOCHS || values.length === bestEpoch + PATIENCE, `${h.name}: ${values.length} epochs, best ${bestEpoch}`);
      assert.equal(run.validation.heads[h.name].metrics[h.metric], best, `${h.name}: the best epoch's metric is reported`);
    });
    assert.ok(
      model.models.some((m) => m.meta.history.length < EPOCHS),
      'some separate model stopped early',
    );
    model.dispose();
  });

  it('through the CLI (config monitor deltaM, another process): the same table', () => {
    const dir = tempDir();
    const file = join(dir, 'penguins-deltam.yaml');
    writeFileSync(
      file,
      readFileSync(PENGUINS_CONFIG, 'utf8')
        .replace('../data/penguins.json', PENGUINS)
        .replace('epochs: 120', `epochs: ${EPOCHS}\n  earlyStopping: { monitor: deltaM, patience: ${PATIENCE} }`),
    );
    const json = join(dir, 'compare.json');
    const r = cli(['compare', '--config', file, '--seeds', '2', '--methods', METHODS.join(','), '--workers', '2', '--backend', 'wasm', '--json', json]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /early stopping on Δm \(patience 5\)/);
    assert.match(r.stdout, /Early stopping on Δm \(patience 5\)/);
    const saved = JSON.parse(readFileSync(json, 'utf8')) as CompareResult;
    assert.deepEqual(
      saved.rows.map((row) => [row.label, row.heads, row.deltaM.values, row.epochs]),
      result.rows.map((row) => [row.label, row.heads, row.deltaM.values, row.epochs]),
    );
    assert.deepEqual(
      saved.runs.map((x) => x.stopping),
      result.runs.map((x) => x.stopping),
    );
  });
});

describe('Δm outside a comparison', () => {
  before(useDefaultBackend);

  for (const approach of ['joint', 'separate']) {
    it(`train --approach ${approach} with the Δm monitor: one line, exit 2, before training`, () => {
      const dir = tempDir();
      const file = join(dir, 'c.yaml');
      writeFileSync(
        file,
        readFileSync(PENGUINS_CONFIG, 'utf8')
          .replace('../data/penguins.json', PENGUINS)
          .replace('epochs: 120', 'epochs: 2\n  earlyStopping: { monitor: validation.deltaM }'),
      );
      const bad = cli(['train', '--config', file, '--approach', approach, '--out', join(dir, 'bad')]);
      assert.equal(bad.status, 2, bad.stderr);
      assert.match(
        bad.stderr,
        /^multiloss: training\.earlyStopping\.monitor "validation\.deltaM": Δm is measured against the separate models, which only `multiloss compare` trains; a single run has no baseline: monitor validation\.loss or validation\.<head>\.<metric>\n$/,
      );
      assert.equal(existsSync(join(dir, 'bad')), false, 'nothing written');
      assert.equal(existsSync(join(dir, 'bad.checkpoints')), false);
    });
  }

  it('the library refuses it too: fitByApproach, and fitSeparate unless it trains a comparison’s reference', async () => {
    const config = penguinsConfig({ epochs: 2 });
    await assert.rejects(fitByApproach(config, { table: penguins() }), /Δm is measured against the separate models/);
    await assert.rejects(fitSeparate({ ...config, approach: 'separate' }, { table: penguins() }), /Δm is measured against the separate models/);
  });
});
