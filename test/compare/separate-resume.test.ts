import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import {
  readSeparateCheckpoint,
  separateCheckpointWriter,
  disposeAnyCheckpoint,
  readAnyCheckpoint,
  SEPARATE_CHECKPOINT_FILE,
} from '../../src/io/checkpoints.js';
import { fitSeparate, type SeparateCheckpoint } from '../../src/training/fit-separate.js';
import type { SeparateModels } from '../../src/model/separate-models.js';
import { PENGUIN_HEADS, penguins, tempDir, useDefaultBackend } from '../helpers.js';

const HEADS = ['species', 'sex', 'mass'];

function config(training: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    approach: 'separate',
    ...PENGUIN_HEADS,
    validation: { split: 0.25 },
    model: {
      trunk: [
        { units: 16, dropout: 0.2 },
        { units: 8, batchNorm: true },
      ],
    },
    training: { epochs: 6, batchSize: 32, seed: 5, learningRate: 0.01, schedule: 'cosine', ...training },
  };
}

const weightsOf = (m: SeparateModels) => m.models.map((s) => s.network.model.getWeights().map((w) => Float32Array.from(w.dataSync())));

function assertSameWeights(a: Float32Array[][], b: Float32Array[][]): void {
  assert.equal(a.length, b.length);
  a.forEach((model, k) => {
    assert.equal(model.length, b[k].length);
    model.forEach((w, i) =>
      w.forEach((v, j) => assert.ok(Math.abs(v - b[k][i][j]) <= 1e-6 * Math.max(1, Math.abs(v)), `model ${k} weight ${i}[${j}]: ${v} vs ${b[k][i][j]}`)),
    );
  });
}

/** Where to stop: sub-model `model` (0-based), its epoch, and the batch (or 'last': the epoch's last batch, i.e. at the epoch's end). */
interface Stop {
  model: number;
  epoch: number;
  batch: number | 'last';
}

/** Trains with an interrupt raised at `stop`, then resumes from the checkpoint directory; returns the resumed model and the sub-models it trained. */
async function interruptedRun(raw: Record<string, unknown>, stop: Stop): Promise<{ model: SeparateModels; trained: string[]; dir: string }> {
  const dir = join(tempDir(), 'ck');
  const resolved = resolveConfig(parseConfig(raw));
  const interrupt = { interrupted: false };
  let current = -1;
  await assert.rejects(
    fitSeparate(
      resolved,
      { table: penguins() },
      {
        checkpoint: separateCheckpointWriter(dir, raw, HEADS),
        interrupt,
        onModelBegin: (k) => void (current = k),
        callbacks: {
          onBatchEnd: (log) =>
            void (
              current === stop.model &&
              log.epoch === stop.epoch &&
              log.batch === (stop.batch === 'last' ? log.batches : stop.batch) &&
              (interrupt.interrupted = true)
            ),
        },
      },
    ),
    new RegExp(
      `^MultilossError: training interrupted in model ${stop.model + 1} of 3 \\(head "${HEADS[stop.model]}"\\) after epoch ${stop.batch === 'last' ? stop.epoch : stop.epoch - 1} \\(a checkpoint was written\\)$`,
    ),
  );
  assert.ok(existsSync(join(dir, SEPARATE_CHECKPOINT_FILE)));
  const ck = await readSeparateCheckpoint(dir);
  assert.equal(ck.resume.done.length, stop.model, 'the finished sub-models were kept');
  assert.equal(ck.resume.current?.state.epoch, stop.batch === 'last' ? stop.epoch : stop.epoch - 1);
  const trained: string[] = [];
  try {
    const model = await fitSeparate(
      resolveConfig(parseConfig(ck.config)),
      { table: penguins() },
      {
        checkpoint: separateCheckpointWriter(dir, raw, HEADS),
        resume: ck.resume,
        onModelBegin: (_k, _n, head) => void trained.push(head),
      },
    );
    return { model, trained, dir };
  } finally {
    disposeAnyCheckpoint(ck);
  }
}

describe('separate models: checkpoints and resume', () => {
  before(useDefaultBackend);

  const stops: [Stop, string][] = [
    [{ model: 0, epoch: 3, batch: 3 }, 'inside epoch 3 of the first model'],
    [{ model: 1, epoch: 2, batch: 'last' }, 'at the end of epoch 2 of the second model'],
    [{ model: 2, epoch: 5, batch: 2 }, 'inside epoch 5 of the last model'],
  ];
  for (const [stop, where] of stops) {
    it(`a run interrupted ${where} and resumed skips the finished models and ends with the weights of an uninterrupted run`, async () => {
      const raw = config();
      const straight = await fitSeparate(resolveConfig(parseConfig(raw)), { table: penguins() });
      const { model, trained } = await interruptedRun(raw, stop);
      assert.deepEqual(trained, HEADS.slice(stop.model), 'only the unfinished models train again');
      assertSameWeights(weightsOf(model), weightsOf(straight));
      model.models.forEach((m, k) => {
        assert.equal(m.meta.history.length, 6);
        assert.deepEqual(
          m.meta.history.map((e) => e.validation?.loss),
          straight.models[k].meta.history.map((e) => e.validation?.loss),
        );
      });
      assert.deepEqual(model.info().metrics, straight.info().metrics);
      straight.dispose();
      model.dispose();
    });
  }

  it('with early stopping: the interrupted model resumes with its best weights and stops where the uninterrupted one did', async () => {
    const raw = config({ epochs: 40, learningRate: 0.05, earlyStopping: { monitor: 'validation.loss', patience: 3 } });
    const straight = await fitSeparate(resolveConfig(parseConfig(raw)), { table: penguins() });
    const epochs = straight.models.map((m) => m.meta.history.length);
    assert.ok(epochs[0] < 40 && epochs[0] > 7, `the first model stops early, after epoch 7: ${epochs}`);
    const bestEpoch = epochs[0] - 3;
    assert.ok(bestEpoch < 8, 'the interrupt comes after the best epoch (its weights come back from best/)');
    const { model, trained } = await interruptedRun(raw, { model: 0, epoch: 8, batch: 2 });
    assert.deepEqual(trained, HEADS);
    assert.deepEqual(
      model.models.map((m) => m.meta.history.length),
      epochs,
    );
    assertSameWeights(weightsOf(model), weightsOf(straight));
    straight.dispose();
    model.dispose();
  });

  it('a run that crashes after periodic checkpoints resumes from the last one (finished models were saved as they finished)', async () => {
    const raw = config({ checkpointEvery: 2 });
    const resolved = resolveConfig(parseConfig(raw));
    const straight = await fitSeparate(resolved, { table: penguins() });
    const dir = join(tempDir(), 'ck');
    const write = separateCheckpointWriter(dir, raw, HEADS);
    // A crash (not an interrupt: nothing is written on the way out) right after model 2's checkpoint of epoch 4.
    const crashing = async (ck: SeparateCheckpoint) => {
      await write(ck);
      if (ck.kind === 'checkpoint' && ck.index === 1 && ck.checkpoint.state.epoch === 4) throw new Error('simulated crash');
    };
    await assert.rejects(fitSeparate(resolved, { table: penguins() }, { checkpoint: crashing }), /simulated crash/);
    assert.deepEqual(readdirSync(join(dir, '0-species')), ['model'], 'a finished model replaces its training checkpoints');
    const ck = await readAnyCheckpoint(dir);
    assert.equal(ck.kind, 'separate');
    if (ck.kind !== 'separate') return;
    assert.equal(ck.resume.done.length, 1);
    assert.equal(ck.resume.current?.state.epoch, 4);
    const model = await fitSeparate(resolved, { table: penguins() }, { checkpoint: write, resume: ck.resume });
    disposeAnyCheckpoint(ck);
    assertSameWeights(weightsOf(model), weightsOf(straight));
    // Every model finished: a resume now trains nothing.
    const again = await readSeparateCheckpoint(dir);
    assert.equal(again.resume.done.length, 3);
    const trained: string[] = [];
    const same = await fitSeparate(resolved, { table: penguins() }, { resume: again.resume, onModelBegin: (_k, _n, h) => void trained.push(h) });
    assert.deepEqual(trained, []);
    assertSameWeights(weightsOf(same), weightsOf(straight));
    for (const m of [straight, model, same]) m.dispose();
  });

  it('resuming finished models with another configuration is an error that names the model', async () => {
    const raw = config({ checkpointEvery: 3 });
    const dir = join(tempDir(), 'ck');
    const done = await fitSeparate(resolveConfig(parseConfig(raw)), { table: penguins() }, { checkpoint: separateCheckpointWriter(dir, raw, HEADS) });
    done.dispose();
    const ck = await readSeparateCheckpoint(dir);
    await assert.rejects(
      fitSeparate(resolveConfig(parseConfig(config({ checkpointEvery: 3, learningRate: 0.02 }))), { table: penguins() }, { resume: ck.resume }),
      /^MultilossError: resume: the finished model of head "species" was trained with a different configuration; resume with the same data and configuration$/,
    );
  });
});
