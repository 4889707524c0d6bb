import { tableRows } from '../../src/data/table-build.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseNumber } from '../../src/data/infer.js';
import { readTableFile } from '../../src/io/table-file.js';
import type { TrainingStop } from '../../src/training/early-stopping.js';
import { cli, ROOT, tempDir } from '../helpers.js';

// A second real dataset, noisy, with three heads of three kinds, trained
// through the CLI with every default: the model must beat each head's trivial
// baseline on rows that neither training nor early stopping saw (2015).
const CONFIG = join(ROOT, 'examples', 'weather.yaml');
const TRAIN = join(ROOT, 'data', 'weather-2012-2014.csv');
const TEST = join(ROOT, 'data', 'weather-2015.csv');

interface Evaluation {
  rows: number;
  heads: Record<string, { metrics: Record<string, number> }>;
}

/** The figures a model must beat on the held-out rows: the best constant guess of each head. */
function baselines() {
  const train = readTableFile(TRAIN);
  const test = readTableFile(TEST);
  const column = (t: typeof test, name: string) => tableRows(t).map((r) => r[t.columns.indexOf(name)]);
  const topShare = (values: unknown[]) => {
    const counts = new Map<unknown, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    return Math.max(...counts.values()) / values.length;
  };
  const wind = column(test, 'wind').map((v) => parseNumber(v) as number);
  const mean = wind.reduce((a, b) => a + b, 0) / wind.length;
  const std = Math.sqrt(wind.reduce((a, b) => a + (b - mean) ** 2, 0) / wind.length);
  return {
    trainRows: train.length,
    testRows: test.length,
    // The share of the test's own most frequent class: at least the training majority's accuracy.
    location: topShare(column(test, 'location')),
    weather: topShare(column(test, 'weather')),
    // The test's own mean as the prediction: R² 0 and RMSE = the standard deviation.
    windStd: std,
  };
}

const two = (x: number) => Math.round(x * 100) / 100;

function train(out: string, ...flags: string[]): { stop: TrainingStop; stderr: string } {
  const r = cli(['train', '--config', CONFIG, '--out', out, '--json', ...flags]);
  assert.equal(r.status, 0, r.stderr);
  return { stop: JSON.parse(r.stdout).stop as TrainingStop, stderr: r.stderr };
}

function evaluate(model: string): Evaluation {
  const r = cli(['evaluate', model, TEST, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Evaluation;
}

describe('weather (Seattle and New York, 2012–2015) through the CLI with the defaults', () => {
  const dir = tempDir();
  const out = join(dir, 'model');
  const base = baselines();
  let run: { stop: TrainingStop; stderr: string };
  let held: Evaluation;

  before(() => {
    run = train(out);
    held = evaluate(out);
  });

  it('holds out 2015 in a file of its own; date is a categorical feature whose 1,096 days 2015 never repeats', () => {
    assert.equal(base.trainRows, 2192);
    assert.equal(base.testRows, 730);
    assert.equal(held.rows, 730);
    const days = (file: string) => new Set(tableRows(readTableFile(file)).map((r) => r[1]));
    const trainDays = days(TRAIN);
    assert.equal(trainDays.size, 1096);
    assert.ok([...days(TEST)].every((d) => !trainDays.has(d)));
    const info = cli(['info', out, '--json']);
    assert.deepEqual(JSON.parse(info.stdout).features.find((f: { name: string }) => f.name === 'date'), { name: 'date', type: 'categorical' });
  });

  it('beats every head’s trivial baseline on the held-out 2015 rows', () => {
    const h = held.heads;
    assert.ok(h.location.metrics.accuracy > base.location + 0.05, `location accuracy ${h.location.metrics.accuracy} vs majority ${base.location}`);
    assert.ok(h.weather.metrics.accuracy > base.weather + 0.05, `weather accuracy ${h.weather.metrics.accuracy} vs majority ${base.weather}`);
    assert.ok(h.wind.metrics.r2 > 0.05, `wind R² ${h.wind.metrics.r2}`);
    assert.ok(h.wind.metrics.rmse < base.windStd, `wind RMSE ${h.wind.metrics.rmse} vs std ${base.windStd}`);
    // The README's figures.
    assert.deepEqual([two(h.location.metrics.accuracy), two(h.weather.metrics.accuracy), two(h.wind.metrics.r2)], [0.62, 0.74, 0.13]);
    assert.deepEqual([two(base.location), two(base.weather)], [0.5, 0.52]);
  });

  it('stopped early on the validation rows and says so in the log, multiloss.json and info', () => {
    const { stop } = run;
    assert.equal(stop.reason, 'patience');
    assert.equal(stop.epochs, 14, 'the README says epoch 14');
    assert.equal(stop.monitor, 'validation.relativeLoss');
    assert.equal(stop.patience, 10);
    assert.equal(stop.maxEpochs, 200);
    assert.equal(stop.restoredBest, true);
    assert.equal(stop.epochs, (stop.bestEpoch as number) + 10);
    const line = `patience exhausted at epoch ${stop.epochs} of 200 (no improvement of validation.relativeLoss for 10 epochs); best epoch ${stop.bestEpoch} restored`;
    assert.match(run.stderr, new RegExp(`training stopped: ${line.replace(/[()]/g, '\\$&')}`));
    const saved = JSON.parse(readFileSync(join(out, 'multiloss.json'), 'utf8'));
    assert.deepEqual(saved.stop, stop);
    assert.equal(saved.history.length, stop.epochs);
    const info = cli(['info', out]);
    assert.equal(info.status, 0, info.stderr);
    assert.ok(info.stdout.includes(`stopped      ${line}`), info.stdout);
  });

  it('fails the baseline without early stopping (the old defaults: 50 epochs, last weights): early stopping makes the difference', () => {
    const old = join(dir, 'old');
    const { stop } = train(old, '--no-early-stopping', '--quiet');
    assert.deepEqual(stop, { reason: 'epoch-cap', epochs: 50, maxEpochs: 50, restoredBest: false });
    const h = evaluate(old).heads;
    // The network memorises the training days through `date`: wind is then worse than its mean.
    assert.ok(h.wind.metrics.r2 < 0, `wind R² ${h.wind.metrics.r2} without early stopping`);
    assert.equal(two(h.wind.metrics.r2), -0.11, 'the README’s figure');
    assert.ok(h.wind.metrics.rmse > base.windStd, `wind RMSE ${h.wind.metrics.rmse} vs std ${base.windStd}`);
  });
});
