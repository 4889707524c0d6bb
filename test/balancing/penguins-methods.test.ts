import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { createStrategy } from '../../src/balancing/index.js';
import { readConfigFile } from '../../src/io/config-file.js';
import { trainFromConfig } from '../../src/io/train-from-config.js';
import { PENGUINS_CONFIG, useDefaultBackend } from '../helpers.js';

const METHODS: Record<string, unknown>[] = [
  { method: 'equal' },
  { method: 'uncertainty' },
  { method: 'dwa' },
  { method: 'gls' },
  { method: 'rlw' },
  { method: 'famo' },
  { method: 'gradnorm' },
  { method: 'stch' },
  { method: 'imtl-l' },
  { method: 'uwso' },
  { method: 'scale-invariant' },
  ...['mgda', 'pcgrad', 'gradvac', 'cagrad', 'imtl', 'nash', 'aligned', 'upgrad', 'dualproj', 'config', 'fairgrad'].flatMap((method) => [
    { method, mode: 'param' },
    { method, mode: 'rep' },
  ]),
  { method: 'mgda', ub: true },
  { method: 'dbmtl', mode: 'param' },
  { method: 'excessmtl', mode: 'param' },
  { method: 'moco', mode: 'param' },
  { method: 'crmogm', inner: 'nash', mode: 'param' },
  { method: 'crmogm', inner: 'mgda', mode: 'rep' },
  { method: 'graddrop' },
  { method: 'graddrop', leak: 0.2, mode: 'rep' },
  // Three batches per step: 20 steps an epoch instead of 60; LibMTL's γ = 1e-3 barely moves λ here.
  { method: 'modo' },
  { method: 'modo', gamma: 0.5 },
  { method: 'sdmgrad' },
];

async function speciesAccuracy(balance: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const config = readConfigFile(PENGUINS_CONFIG);
  // A fixed budget for every method alike: early stopping would end each run at a different epoch.
  config.training = { ...(config.training as object), epochs: 60, earlyStopping: false, ...extra };
  config.balance = balance;
  const model = await trainFromConfig(config);
  const result = { accuracy: model.meta.metrics.validation!.heads.species.metrics.accuracy, history: model.meta.history, meta: model.toJSON() };
  model.dispose();
  return result;
}

// Every method trains the penguins example without NaN and within 2 points
// of `static` on species accuracy.
describe('every balancing method on penguins', () => {
  let baseline: number;
  before(async () => {
    await useDefaultBackend();
    baseline = (await speciesAccuracy({ method: 'static' })).accuracy;
  });

  for (const balance of METHODS) {
    it(JSON.stringify(balance), async () => {
      const tensorsBefore = tf.memory().numTensors;
      const { accuracy, history } = await speciesAccuracy(balance);
      assert.ok(accuracy >= baseline - 0.02, `species accuracy ${accuracy} vs static ${baseline}`);
      for (const e of history) {
        assert.ok(Number.isFinite(e.train.loss), `epoch ${e.epoch} total loss ${e.train.loss}`);
        for (const h of Object.values(e.train.heads)) assert.ok(Number.isFinite(h.loss) && Number.isFinite(h.weight));
      }
      assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor left behind');
    });
  }

  it('uncertainty: learned log-variances are saved in multiloss.json', async () => {
    const { meta } = await speciesAccuracy({ method: 'uncertainty' });
    const state = meta.balance.state as { logVariances?: number[] };
    assert.ok(JSON.stringify(state).length > 10, JSON.stringify(state));
    const values = Object.values(state).flat() as unknown[];
    assert.ok(values.some((v) => typeof v === 'number' && v !== 0), `log-variances moved from 0: ${JSON.stringify(state)}`);
  });

  it('loss-based methods record gradient diagnostics on request', async () => {
    const { history } = await speciesAccuracy({ method: 'static' }, { diagnostics: true, epochs: 3 });
    const diag = history[2].diagnostics!;
    assert.ok(diag.gradNorm.species > 0 && diag.gradNorm.sex > 0);
    assert.ok(Math.abs(diag.cosine.species.sex - diag.cosine.sex.species) < 1e-12);
    assert.ok(diag.cosine.species.sex >= -1 && diag.cosine.species.sex <= 1);
  });
});

describe('balance configuration errors', () => {
  const heads = [
    { name: 'a', kind: 'classification', weight: 1 },
    { name: 'b', kind: 'regression', weight: 1 },
  ];
  it('unknown method lists the valid ones', () => {
    assert.throws(() => createStrategy({ method: 'magic' }, heads), /unknown method "magic"; valid methods: static, equal, uncertainty, dwa, gls, rlw, famo, gradnorm, stch, imtl-l, uwso, scale-invariant, mgda, pcgrad, gradvac, cagrad, imtl, nash, aligned, upgrad, dbmtl, dualproj, config, fairgrad, excessmtl, moco, crmogm, graddrop/);
  });
  it('an option out of range names it and the range', () => {
    assert.throws(() => createStrategy({ method: 'cagrad', c: -1 }, heads), /\bc\b.*-1|c.*range|c must/);
    assert.throws(() => createStrategy({ method: 'dwa', temperature: 0 }, heads), /balance\.temperature/);
  });
  it('static weights for heads that do not exist', () => {
    assert.throws(() => createStrategy({ method: 'static', weights: { zzz: 1 } }, heads), /balance\.weights names head "zzz", which does not exist; heads are: a, b/);
  });
  it('a mode on a loss-based method, and a method invalid in a mode', () => {
    assert.throws(() => createStrategy({ method: 'uncertainty', mode: 'rep' }, heads), /balance\.mode applies to gradient-based methods only/);
    assert.throws(() => createStrategy({ method: 'dbmtl', mode: 'rep' }, heads), /"dbmtl" is not valid in mode "rep"; valid: param/);
    // CR-MOGM over a method that keeps gradient rows across steps: param only, as that method.
    assert.throws(() => createStrategy({ method: 'crmogm', inner: 'excessmtl', mode: 'rep' }, heads), /method "crmogm" with these options keeps gradient rows across steps and is valid in mode "param" only/);
    assert.ok(createStrategy({ method: 'crmogm', inner: 'excessmtl' }, heads));
    // GradDrop works at the shared representation: rep by default, param refused.
    assert.equal((createStrategy({ method: 'graddrop' }, heads) as { mode?: string }).mode, 'rep');
    assert.throws(() => createStrategy({ method: 'graddrop', mode: 'param' }, heads), /"graddrop" is not valid in mode "param"; valid: rep/);
  });
});
