/**
 * One training pipeline: every front door trains through `runTraining`
 * (training/run.ts), so the callbacks, checkpoints and final figures follow
 * one contract whichever door a run comes through — a configuration and a
 * table (`fitModel`), a streamed file (`fitModelStream`), images
 * (`fitImageModel`) or the library API on a LayersModel (`trainLayersModel`).
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { trainLayersModel } from '../../src/api/index.js';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { ImageSet } from '../../src/data/images/dataset.js';
import { openTableStream } from '../../src/io/stream-table.js';
import { readTableFile } from '../../src/io/table-file.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { fitImageModel } from '../../src/training/fit-images.js';
import { fitModel } from '../../src/training/fit.js';
import { fitModelStream } from '../../src/training/fit-stream.js';
import { Rng } from '../../src/util/rng.js';
import type { TrainingCallbacks, TrainingCheckpoint } from '../../src/training/types.js';
import { tempDir, useDefaultBackend } from '../helpers.js';
import { tinyModel } from './tiny-layers-model.js';

const N = 96;
const HEADS = ['value', 'cls'];

function data(): { x: [number, number][]; cls: string[]; value: number[] } {
  const rng = new Rng('one-pipeline');
  const x: [number, number][] = [];
  const cls: string[] = [];
  const value: number[] = [];
  for (let i = 0; i < N; i++) {
    const a = Math.round(rng.normal() * 1000) / 1000;
    const b = Math.round(rng.normal() * 1000) / 1000;
    x.push([a, b]);
    cls.push(a + b > 0.5 ? 'a' : a > b ? 'b' : 'c');
    value.push(Math.round((a - 2 * b) * 100) / 100);
  }
  return { x, cls, value };
}

const config = resolveConfig(
  parseConfig({
    targets: [
      { name: 'value', column: 'value', kind: 'regression' },
      { name: 'cls', column: 'cls', kind: 'classification' },
    ],
    validation: { split: 0.25 },
    model: { trunk: [4] },
    training: { epochs: 2, batchSize: 16, seed: 3, earlyStopping: false, checkpointEvery: 1 },
  }),
);

/** What one run told its callbacks. */
interface Seen {
  begin?: string[];
  epochHeads: string[][];
  epochLossesMatch: boolean[];
  checkpoints: { weights: number; model: boolean }[];
}

function recorder(): { seen: Seen; callbacks: TrainingCallbacks; checkpoint: (ck: TrainingCheckpoint) => Promise<void> } {
  const seen: Seen = { epochHeads: [], epochLossesMatch: [], checkpoints: [] };
  const checkpoint = async (ck: TrainingCheckpoint) => {
    seen.checkpoints.push({ weights: ck.weights.length, model: ck.model !== undefined });
  };
  const callbacks: TrainingCallbacks = {
    onTrainBegin: (info) => void (seen.begin = info.heads),
    onEpochEnd: (log) => {
      seen.epochHeads.push(Object.keys(log.heads));
      seen.epochLossesMatch.push(HEADS.every((h) => log.heads[h].loss === log.train.heads[h].loss && log.heads[h].validation?.loss === log.validation?.heads[h].loss));
    },
    onCheckpoint: checkpoint,
  };
  return { seen, callbacks, checkpoint };
}

describe('one training pipeline for every front door', () => {
  const dir = tempDir('multiloss-pipeline-');
  const csv = join(dir, 'data.csv');
  const rows = data();
  before(async () => {
    await useDefaultBackend();
    writeFileSync(csv, `x1,x2,cls,value\n${rows.x.map((x, i) => [x[0], x[1], rows.cls[i], rows.value[i]].join(',')).join('\n')}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every door the same callbacks: head names at the start, per-head epoch logs, checkpoints with the weights', async () => {
    const tensors = tf.memory().numTensors;
    const runs: Record<string, Seen> = {};
    const models: MultilossModel[] = [];

    const table = recorder();
    models.push(await fitModel(config, { table: readTableFile(csv) }, { callbacks: table.callbacks, checkpoint: table.checkpoint }));
    runs.table = table.seen;

    const stream = recorder();
    const source = { source: csv, open: () => openTableStream(csv, { batchSize: 10, chunkSize: 64 }) };
    models.push(await fitModelStream(config, { train: source }, { callbacks: stream.callbacks, checkpoint: stream.checkpoint, shuffleBuffer: 8 }));
    runs.stream = stream.seen;

    const images = recorder();
    const set: ImageSet = { n: N, shape: [1, 1, 2], x: Float32Array.from(rows.x.flat()), labels: { cls: rows.cls, value: rows.value }, source: 'images' };
    models.push(await fitImageModel(config, set, { callbacks: images.callbacks }));
    runs.images = images.seen;

    const api = recorder();
    const result = await trainLayersModel(
      tinyModel(),
      {
        heads: { value: { kind: 'regression' }, cls: { kind: 'classification', classes: ['a', 'b', 'c'] } },
        validationSplit: 0.25,
        training: { epochs: 2, batchSize: 16, seed: 3, earlyStopping: false, checkpointEvery: 1 },
        callbacks: api.callbacks,
      },
      { xs: rows.x, ys: { value: rows.value, cls: rows.cls } },
    );
    runs.api = api.seen;

    for (const [door, seen] of Object.entries(runs)) {
      assert.deepEqual(seen.begin, HEADS, `${door}: onTrainBegin names the heads`);
      assert.deepEqual(seen.epochHeads, [HEADS, HEADS], `${door}: onEpochEnd has every head's figures`);
      assert.deepEqual(seen.epochLossesMatch, [true, true], `${door}: the per-head figures are the epoch's`);
    }
    // checkpointEvery 1 over 2 epochs: one checkpoint after epoch 1, with the network's weights.
    const weightCount = models[0].network.model.getWeights().length;
    assert.deepEqual(runs.table.checkpoints, [{ weights: weightCount, model: true }], 'a configuration run: its loadable model too');
    assert.deepEqual(runs.stream.checkpoints, [{ weights: weightCount, model: true }]);
    assert.deepEqual(runs.api.checkpoints, [{ weights: result.network.model.getWeights().length, model: false }], 'the library API: the caller owns the model');

    // The final figures are computed and labelled in one place for every door (images included).
    for (const [door, model] of [['table', models[0]], ['stream', models[1]], ['images', models[2]]] as const) {
      assert.equal(model.meta.metrics.train?.total, 'weighted', `${door}: the final training total says what it adds up`);
      assert.equal(model.meta.metrics.validation?.total, 'weighted', `${door}: the final validation total too`);
      assert.equal(model.meta.stop?.reason, 'epoch-cap', `${door}: the model records why training ended`);
    }
    assert.equal(result.metrics.train.total, 'weighted');
    assert.equal(result.stop.reason, 'epoch-cap');

    for (const m of models) m.dispose();
    result.network.dispose();
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
  });
});
