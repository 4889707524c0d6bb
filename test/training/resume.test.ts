import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { checkpointWriter, disposeCheckpoint, readCheckpoint } from '../../src/io/checkpoints.js';
import { loadModel } from '../../src/io/model-dir.js';
import { fitModel } from '../../src/training/fit.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { PENGUIN_HEADS, penguins, tempDir, useDefaultBackend } from '../helpers.js';

function config(balance: Record<string, unknown>, training: Record<string, unknown> = {}) {
  return {
    ...PENGUIN_HEADS,
    validation: { split: 0.25 },
    model: { trunk: [{ units: 16, dropout: 0.2 }, { units: 8, batchNorm: true }] },
    training: { epochs: 6, batchSize: 32, seed: 5, learningRate: 0.01, schedule: 'cosine', ...training },
    balance,
  };
}

const weightsOf = (m: MultilossModel) => m.network.model.getWeights().map((w) => Float32Array.from(w.dataSync()));

function assertSameWeights(a: Float32Array[], b: Float32Array[]): void {
  assert.equal(a.length, b.length);
  a.forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(v - b[i][j]) <= 1e-6 * Math.max(1, Math.abs(v)), `weight ${i}[${j}]: ${v} vs ${b[i][j]}`)));
}

/** Trains with an interrupt raised at (epoch, batch), then resumes from the checkpoint. */
async function interruptedRun(raw: Record<string, unknown>, epoch: number, batch: number): Promise<{ model: MultilossModel; dir: string }> {
  const dir = join(tempDir(), 'ck');
  const resolved = resolveConfig(parseConfig(raw));
  const interrupt = { interrupted: false };
  await assert.rejects(
    fitModel(resolved, { table: penguins() }, {
      checkpoint: checkpointWriter(dir, raw),
      interrupt,
      callbacks: { onBatchEnd: (log) => void (log.epoch === epoch && log.batch === batch && (interrupt.interrupted = true)) },
    }),
    /training interrupted after epoch \d+ \(a checkpoint was written\)/,
  );
  const ck = await readCheckpoint(dir);
  try {
    const model = await fitModel(resolveConfig(parseConfig(ck.config)), { table: penguins() }, { checkpoint: checkpointWriter(dir, raw), resume: ck.resume });
    return { model, dir };
  } finally {
    disposeCheckpoint(ck);
  }
}

describe('checkpoints and resume', () => {
  before(useDefaultBackend);

  for (const balance of [{ method: 'uncertainty' }, { method: 'pcgrad', mode: 'rep' }, { method: 'famo' }, { method: 'dbmtl', mode: 'param' }, { method: 'excessmtl', mode: 'param' }, { method: 'moco', mode: 'param' }, { method: 'crmogm', inner: 'gradvac', mode: 'rep' }, { method: 'stch', warmupEpochs: 1 }, { method: 'imtl', mode: 'param' }, { method: 'graddrop', mode: 'rep' }, { method: 'modo', mode: 'param' }, { method: 'sdmgrad' }]) {
    for (const [epoch, batch, where] of [[3, 3, 'inside epoch 3'], [2, 9, 'at the end of epoch 2']] as const) {
      it(`${balance.method}: a run interrupted ${where} and resumed ends with the weights of an uninterrupted run`, async () => {
        const raw = config(balance);
        const straight = await fitModel(resolveConfig(parseConfig(raw)), { table: penguins() });
        const tensors = tf.memory().numTensors;
        const { model } = await interruptedRun(raw, epoch, batch);
        assertSameWeights(weightsOf(model), weightsOf(straight));
        assert.deepEqual(model.meta.balance.state, straight.meta.balance.state);
        assert.equal(model.meta.history.length, 6);
        assert.deepEqual(
          model.meta.history.map((e) => e.validation?.loss),
          straight.meta.history.map((e) => e.validation?.loss),
        );
        // Gradient methods: the interrupted epoch's update figures cover all its steps, as in the straight run.
        assert.deepEqual(
          model.meta.history.map((e) => e.update),
          straight.meta.history.map((e) => e.update),
        );
        straight.dispose();
        model.dispose();
        assert.ok(tf.memory().numTensors <= tensors + 40, 'no growing leak');
      });
    }
  }

  // Architectures whose heads hold their own batch norm (MTAN's masks) or a gate regulariser (DSelect-k).
  for (const [architecture, balance] of [
    [{ kind: 'mtan', attentionBatchNorm: true }, { method: 'mgda', mode: 'rep' }],
    [{ kind: 'dselect-k', experts: 3, entropy: 0.01 }, { method: 'pcgrad', mode: 'param' }],
  ] as const) {
    it(`${architecture.kind} (${balance.method}, ${balance.mode}): interrupted inside epoch 3 and resumed, ends with the weights of an uninterrupted run`, async () => {
      const raw = { ...config(balance), architecture };
      const straight = await fitModel(resolveConfig(parseConfig(raw)), { table: penguins() });
      const { model } = await interruptedRun(raw, 3, 3);
      assertSameWeights(weightsOf(model), weightsOf(straight));
      assert.deepEqual(
        model.meta.history.map((e) => e.validation?.loss),
        straight.meta.history.map((e) => e.validation?.loss),
      );
      straight.dispose();
      model.dispose();
    });
  }

  it('the last checkpoint is a loadable model that predicts', async () => {
    // Early stopping off: its best-epoch checkpoints would also refresh last/.
    const raw = config({ method: 'static' }, { checkpointEvery: 2, earlyStopping: false });
    const dir = join(tempDir(), 'ck');
    const model = await fitModel(resolveConfig(parseConfig(raw)), { table: penguins() }, { checkpoint: checkpointWriter(dir, raw) });
    const last = await loadModel(join(dir, 'last'));
    assert.equal(last.meta.history.length, 4, 'checkpoints after epochs 2 and 4 (not after the final epoch)');
    assert.equal(last.predict([{ Island: 'Dream', 'Beak Length (mm)': 40, 'Beak Depth (mm)': 18, 'Flipper Length (mm)': 190 }]).length, 1);
    last.dispose();
    model.dispose();
  });

  it('early stopping stops after `patience` epochs without improvement and restores the best weights', async () => {
    const raw = config({ method: 'static' }, { epochs: 200, learningRate: 0.05, earlyStopping: { monitor: 'validation.species.loss', patience: 3 } });
    const dir = join(tempDir(), 'ck');
    const model = await fitModel(resolveConfig(parseConfig(raw)), { table: penguins() }, { checkpoint: checkpointWriter(dir, raw) });
    const h = model.meta.history;
    assert.ok(h.length < 200, `stopped after ${h.length} epochs`);
    const losses = h.map((e) => e.validation!.heads.species.loss);
    const bestEpoch = losses.indexOf(Math.min(...losses)) + 1;
    assert.equal(h.length, bestEpoch + 3, 'stopped exactly `patience` epochs after the best');
    const best = await loadModel(join(dir, 'best'));
    assertSameWeights(weightsOf(model), weightsOf(best));
    assert.equal(best.meta.history.length, bestEpoch);
    best.dispose();
    model.dispose();
  });

  it('a monitor naming no head or metric is a configuration error listing valid monitors', async () => {
    const bad = [
      ['validation.nohead.accuracy', /no head "nohead"; valid monitors: validation\.relativeLoss, validation\.loss, validation\.species\.loss, validation\.species\.accuracy/],
      ['validation.species.r2', /head "species" has no metric "r2"; it has: loss, accuracy, macro_f1, log_loss/],
      ['loss', /expected train\.… or validation\.…/],
    ] as const;
    for (const [monitor, pattern] of bad) {
      await assert.rejects(fitModel(resolveConfig(parseConfig(config({ method: 'static' }, { earlyStopping: { monitor } }))), { table: penguins() }), pattern);
    }
  });
});
