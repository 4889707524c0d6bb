import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { resolveTrainingOptions } from '../../src/training/options.js';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { normalizeMissing } from '../../src/data/missing.js';
import { fitHead } from '../../src/model/heads/index.js';
import { describeStop } from '../../src/training/early-stopping.js';
import { fitModel } from '../../src/training/fit.js';
import type { EpochLog, SplitLog } from '../../src/training/history.js';
import { resolveMonitor } from '../../src/training/trainer.js';
import { penguins, useDefaultBackend } from '../helpers.js';

const TARGETS = [
  { name: 'species', column: 'Species', kind: 'classification' },
  { name: 'sex', column: 'Sex', kind: 'binary' },
  { name: 'mass', column: 'Body Mass (g)', kind: 'regression' },
];

function resolved(extra: Record<string, unknown> = {}) {
  return resolveConfig(parseConfig({ missingValues: ['.'], features: ['Island', 'Beak Length (mm)', 'Flipper Length (mm)'], targets: TARGETS, ...extra }));
}

describe('early stopping defaults', () => {
  it('is on when there is validation data (the default split or a file): patience 10, best weights restored, 200 epochs at most', () => {
    for (const validation of [undefined, { split: 0.3 }, { data: 'val.csv' }]) {
      const t = resolved(validation ? { validation } : {}).training;
      assert.deepEqual(t.earlyStopping, { patience: 10, restoreBest: true }, JSON.stringify(validation));
      assert.equal(t.epochs, 200);
    }
  });

  it('is off without validation data or with earlyStopping: false, and the budget is then a fixed 50 epochs', () => {
    for (const extra of [{ validation: { split: 0 } }, { training: { earlyStopping: false } }]) {
      const t = resolved(extra).training;
      assert.equal(t.earlyStopping, undefined, JSON.stringify(extra));
      assert.equal(t.epochs, 50);
    }
  });

  it('earlyStopping: true or an object turns it on, also without validation data; given fields win, epochs too', () => {
    assert.deepEqual(resolved({ validation: { split: 0 }, training: { earlyStopping: true } }).training.earlyStopping, { patience: 10, restoreBest: true });
    const t = resolved({ training: { epochs: 30, earlyStopping: { patience: 3, restoreBest: false, monitor: 'validation.sex.accuracy' } } }).training;
    assert.deepEqual(t.earlyStopping, { patience: 3, restoreBest: false, monitor: 'validation.sex.accuracy' });
    assert.equal(t.epochs, 30);
  });

  it('the library API has the same defaults, keyed on its validationSplit / validationData', () => {
    assert.deepEqual(resolveTrainingOptions({}, true).earlyStopping, { patience: 10, restoreBest: true });
    assert.equal(resolveTrainingOptions({}, true).epochs, 200);
    assert.equal(resolveTrainingOptions({}, false).earlyStopping, undefined);
    assert.equal(resolveTrainingOptions({}, false).epochs, 50);
    assert.equal(resolveTrainingOptions({ earlyStopping: false }, true).earlyStopping, undefined);
    assert.equal(resolveTrainingOptions({ earlyStopping: false }, true).epochs, 50);
  });
});

describe('the relative-loss monitor', () => {
  const table = normalizeMissing(penguins(), ['.']);
  const heads = resolved().heads.map((h) => fitHead(h, table, table));
  const split = (losses: number[], weights = [1, 1, 1]): SplitLog => ({
    loss: losses.reduce((a, l, i) => a + weights[i] * l, 0),
    heads: Object.fromEntries(heads.map((h, i) => [h.name, { loss: losses[i], weight: weights[i], metrics: {} }])),
  });
  const epoch = (n: number, validation: SplitLog): EpochLog => ({ epoch: n, learningRate: 1e-3, seconds: 0, train: validation, validation });

  it('is the default with validation data: the mean over heads of each loss over its first epoch’s, blind to the weights', () => {
    const monitor = resolveMonitor({}, heads, true);
    assert.equal(monitor.name, 'validation.relativeLoss');
    assert.equal(monitor.mode, 'min');
    const first = epoch(1, split([1.2, 0.6, 40]));
    const later = epoch(2, split([0.6, 0.3, 50], [0.1, 5, 0.01]));
    assert.equal(monitor.read(first, [first]), 1);
    // (0.5 + 0.5 + 1.25) / 3: the regression head got worse; the other two halved.
    assert.ok(Math.abs(monitor.read(later, [first, later]) - 0.75) < 1e-12);
    // The weighted total would have called epoch 2 far better (0.06 + 1.5 + 0.5 vs 41.8): it mixes scales and weights.
    assert.equal(resolveMonitor({}, heads, false).name, 'train.loss');
  });

  it('skips a head whose first-epoch loss is 0 or not finite', () => {
    const monitor = resolveMonitor({ monitor: 'validation.relativeLoss' }, heads, true);
    const first = epoch(1, split([2, 0, NaN]));
    const later = epoch(2, split([1, 0.5, 3]));
    assert.equal(monitor.read(later, [first, later]), 0.5);
  });
});

describe('how training ended, recorded with the model', () => {
  before(useDefaultBackend);
  const table = penguins();

  it('patience exhausted: the run stops `patience` epochs after the best one and the model holds the best epoch’s weights', async () => {
    const model = await fitModel(resolved({ training: { earlyStopping: { patience: 2 }, learningRate: 0.05, seed: 3 } }), { table });
    const stop = model.meta.stop;
    assert.ok(stop);
    assert.equal(stop.reason, 'patience');
    assert.equal(stop.monitor, 'validation.relativeLoss');
    assert.equal(stop.epochs, model.meta.history.length);
    assert.equal(stop.epochs, (stop.bestEpoch as number) + 2);
    assert.equal(stop.restoredBest, true);
    // The restored weights are the best epoch's: the final validation losses are that epoch's.
    const best = model.meta.history[(stop.bestEpoch as number) - 1].validation as SplitLog;
    for (const h of ['species', 'sex', 'mass']) assert.ok(Math.abs(model.meta.metrics.validation!.heads[h].loss - best.heads[h].loss) < 1e-5, h);
    assert.match(describeStop(stop), new RegExp(`^patience exhausted at epoch ${stop.epochs} of 200 \\(no improvement of validation\\.relativeLoss for 2 epochs\\); best epoch ${stop.bestEpoch} restored`));
    assert.deepEqual(model.info().stop, stop);
    model.dispose();
  });

  it('epoch cap reached, with and without early stopping', async () => {
    const off = await fitModel(resolved({ training: { epochs: 3, earlyStopping: false } }), { table });
    assert.deepEqual(off.meta.stop, { reason: 'epoch-cap', epochs: 3, maxEpochs: 3, restoredBest: false });
    assert.equal(describeStop(off.meta.stop!), 'epoch cap reached (3 epochs); early stopping off');
    off.dispose();
    const on = await fitModel(resolved({ training: { epochs: 2 } }), { table });
    assert.equal(on.meta.stop?.reason, 'epoch-cap');
    assert.equal(on.meta.stop?.restoredBest, true);
    assert.match(describeStop(on.meta.stop!), /^epoch cap reached \(2 epochs\); best epoch [12] restored/);
    on.dispose();
  });

  it('a callback that stops training is named as the reason', async () => {
    const model = await fitModel(resolved({ training: { epochs: 20 } }), { table }, { callbacks: { onEpochEnd: (log, control) => void (log.epoch === 2 && control.stop()) } });
    assert.equal(model.meta.stop?.reason, 'callback');
    assert.equal(model.meta.stop?.epochs, 2);
    model.dispose();
  });
});
