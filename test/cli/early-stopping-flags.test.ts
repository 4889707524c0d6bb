import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TrainingStop } from '../../src/training/early-stopping.js';
import { cli, PENGUINS_CONFIG, tempDir } from '../helpers.js';

// --patience and --no-early-stopping on train and compare, and where a run says how it ended.
describe('early stopping flags', () => {
  const dir = tempDir();

  function train(name: string, ...flags: string[]): { stop: TrainingStop; saved: { stop: TrainingStop; config: { training: Record<string, unknown> } } } {
    const out = join(dir, name);
    const r = cli(['train', '--config', PENGUINS_CONFIG, '--out', out, '--json', '--quiet', ...flags]);
    assert.equal(r.status, 0, r.stderr);
    return { stop: JSON.parse(r.stdout).stop, saved: JSON.parse(readFileSync(join(out, 'multiloss.json'), 'utf8')) };
  }

  it('--patience N stops N epochs after the best one; the checkpoints it needed are removed afterwards', () => {
    const { stop, saved } = train('patience', '--patience', '2');
    assert.equal(stop.reason, 'patience');
    assert.equal(stop.patience, 2);
    assert.equal(stop.epochs, (stop.bestEpoch as number) + 2);
    assert.deepEqual(saved.stop, stop);
    assert.deepEqual(saved.config.training.earlyStopping, { patience: 2, restoreBest: true });
    assert.ok(!readdirSync(dir).includes('patience.checkpoints'), readdirSync(dir).join(', '));
  });

  it('--no-early-stopping trains every epoch and keeps the last weights', () => {
    const { stop, saved } = train('off', '--no-early-stopping', '--epochs', '3');
    assert.deepEqual(stop, { reason: 'epoch-cap', epochs: 3, maxEpochs: 3, restoredBest: false });
    assert.equal(saved.config.training.earlyStopping, undefined);
  });

  it('--patience with --no-early-stopping is a one-line usage error (exit 2), nothing written', () => {
    const r = cli(['train', '--config', PENGUINS_CONFIG, '--out', join(dir, 'both'), '--patience', '2', '--no-early-stopping']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--patience with --no-early-stopping: give one of them/);
    assert.ok(!readdirSync(dir).includes('both'));
  });

  it('the report says how training ended', () => {
    const report = join(dir, 'report.html');
    const r = cli(['train', '--config', PENGUINS_CONFIG, '--out', join(dir, 'reported'), '--report', report, '--patience', '1', '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    const saved = JSON.parse(readFileSync(join(dir, 'reported', 'multiloss.json'), 'utf8'));
    const html = readFileSync(report, 'utf8');
    assert.match(html, new RegExp(`<th scope="row">stopped</th><td>patience exhausted at epoch ${saved.stop.epochs} of 120 \\(no improvement of validation\\.relativeLoss for 1 epochs\\); best epoch ${saved.stop.bestEpoch} restored`));
  });

  it('compare uses the same defaults, and --no-early-stopping / --patience there too', () => {
    const run = (name: string, ...flags: string[]) => {
      const json = join(dir, `${name}.json`);
      const r = cli(['compare', '--config', PENGUINS_CONFIG, '--methods', 'equal', '--seeds', '1', '--workers', '0', '--json', json, '--quiet', ...flags]);
      assert.equal(r.status, 0, r.stderr);
      return { ...(JSON.parse(readFileSync(json, 'utf8')) as { earlyStopping?: object; runs: { label: string; epochs: number }[] }), stdout: r.stdout };
    };
    const off = run('off', '--no-early-stopping', '--epochs', '3');
    assert.equal(off.earlyStopping, undefined);
    // Separate models: 3 sub-models of 3 epochs each.
    assert.deepEqual(off.runs.map((r) => r.epochs).sort(), [3, 9]);
    assert.doesNotMatch(off.stdout, /Early stopping/);
    const on = run('on', '--patience', '1', '--epochs', '40');
    assert.deepEqual(on.earlyStopping, { patience: 1, restoreBest: true });
    assert.match(on.stdout, /Early stopping on validation\.relativeLoss \(patience 1, best epoch restored\)\./);
    const joint = on.runs.find((r) => r.label === 'equal');
    assert.ok(joint && joint.epochs < 40, `the joint run stopped early: ${joint?.epochs}`);
  });
});
