/**
 * The library API's callbacks are called by the trainer itself at the right
 * moments, and a Dataset or iterable streams: each epoch asks the source for
 * a new iterator and the first step runs after only the elements its batch
 * needs were read.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { trainLayersModel, type ArrayData, type DatasetLike, type HeadConfig, type TrainingCallbacks } from '../../src/api/index.js';
import type { TrainerState } from '../../src/training/types.js';
import { useDefaultBackend } from '../helpers.js';
import { weightValues } from './fixtures.js';

const N = 120;
const ELEMENT = 10;
const rows = Array.from({ length: N }, (_, i) => [Math.sin(i), Math.cos(i / 3), (i % 7) / 7]);
const a = rows.map(([x, y]) => 2 * x - y);
const b = rows.map(([, , z], i) => (i % 11 === 0 ? null : z > 0.5 ? 1 : 0));
const heads: Record<string, HeadConfig> = { a: { kind: 'regression' }, b: { kind: 'binary' } };

function model(): tfl.LayersModel {
  const input = tfl.input({ shape: [3] });
  const h = tfl.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }), name: 'shared' }).apply(input) as tfl.SymbolicTensor;
  const oa = tfl.layers.dense({ units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }), name: 'a' }).apply(h) as tfl.SymbolicTensor;
  const ob = tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }), name: 'b' }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: [oa, ob] });
}

function element(start: number): ArrayData {
  const end = Math.min(N, start + ELEMENT);
  return { xs: rows.slice(start, end), ys: { a: a.slice(start, end), b: b.slice(start, end) } };
}

/** A Dataset-like source of plain-array elements that counts its iterators and the elements read. */
function countingDataset(): DatasetLike<ArrayData> & { iterators: number; read: number } {
  const ds = {
    iterators: 0,
    read: 0,
    async iterator() {
      ds.iterators++;
      let at = 0;
      return {
        async next(): Promise<IteratorResult<ArrayData>> {
          if (at >= N) return { done: true, value: undefined };
          ds.read++;
          const value = element(at);
          at += ELEMENT;
          return { done: false, value };
        },
      };
    },
  };
  return ds;
}

const sum = (m: tfl.LayersModel) => weightValues(m).reduce((s, w) => s + w.reduce((t, v) => t + v, 0), 0);

describe('callbacks and streaming sources (library API)', () => {
  before(useDefaultBackend);

  for (const form of ['arrays', 'dataset'] as const) {
    it(`${form}: every callback is called by the trainer, in order, a step happening between onBatchBegin and onBatchEnd`, async () => {
      const m = model();
      const events: string[] = [];
      let atBegin = NaN;
      let lastEnd = sum(m);
      const callbacks: TrainingCallbacks = {
        onTrainBegin: (info) => events.push(`train-begin ${info.epochs}x${info.batchesPerEpoch} ${info.heads.join(',')}`),
        onEpochBegin: (info) => void events.push(`epoch-begin ${info.epoch}`),
        onBatchBegin: (info) => {
          events.push(`batch-begin ${info.epoch}.${info.batch}/${info.batches}`);
          atBegin = sum(m);
          assert.equal(atBegin, lastEnd, 'no step between the previous batch end and this batch begin');
        },
        onBatchEnd: (log) => {
          events.push(`batch-end ${log.epoch}.${log.batch}`);
          lastEnd = sum(m);
          assert.notEqual(lastEnd, atBegin, 'the step happened between begin and end');
          assert.ok(Number.isFinite(log.headLosses.a) && Number.isFinite(log.headLosses.b));
        },
        onEpochEnd: (log) => {
          events.push(`epoch-end ${log.epoch}`);
          assert.ok(log.heads.a.validation, 'the epoch log has the validation figures');
        },
        onTrainEnd: (info) => void events.push(`train-end ${info.epochs} ${info.stopped}`),
      };
      const data = form === 'arrays' ? { xs: rows, ys: { a, b } } : countingDataset();
      await trainLayersModel(m, { heads, training: { epochs: 2, batchSize: 32, seed: 4 }, validationSplit: 0.2, callbacks }, data);
      // 96 training rows (120 less the 20% split, none dropped: every row has a label for a) → 3 batches of 32.
      const expected = ['train-begin 2x3 a,b'];
      for (let e = 1; e <= 2; e++) {
        expected.push(`epoch-begin ${e}`);
        for (let k = 1; k <= 3; k++) expected.push(`batch-begin ${e}.${k}/3`, `batch-end ${e}.${k}`);
        expected.push(`epoch-end ${e}`);
      }
      expected.push('train-end 2 false');
      assert.deepEqual(events, expected);
      m.dispose();
    });
  }

  it('a Dataset streams: a new iterator per epoch, and the first step runs before the epoch\'s later elements are read', async () => {
    const ds = countingDataset();
    const m = model();
    const readAtFirstBatch: number[] = [];
    let readAtEpochBegin = 0;
    await trainLayersModel(
      m,
      {
        heads,
        training: { epochs: 3, batchSize: 16, seed: 4 },
        callbacks: {
          onEpochBegin: () => void (readAtEpochBegin = ds.read),
          onBatchBegin: (info) => void (info.batch === 1 && readAtFirstBatch.push(ds.read - readAtEpochBegin)),
        },
      },
      ds,
    );
    // 16 rows need 2 elements of 10: nothing like the epoch's 12 elements is read before the first step.
    assert.deepEqual(readAtFirstBatch, [2, 2, 2]);
    // pass 1, the preflight rows, 3 epochs, the final training metrics.
    assert.equal(ds.iterators, 6);
    m.dispose();
  });

  it('a Dataset run interrupted inside an epoch resumes (skipping the batches done) to the uninterrupted weights', async () => {
    const options = { heads, training: { epochs: 3, batchSize: 16, seed: 6 }, validationSplit: 0.2 };
    const straight = model();
    await trainLayersModel(straight, options, countingDataset());
    const interrupt = { interrupted: false };
    let saved: { weights: tf.Tensor[]; state: TrainerState; optimizer: { name: string; tensor: tf.Tensor }[] } | undefined;
    const first = model();
    await trainLayersModel(
      first,
      {
        ...options,
        interrupt,
        callbacks: {
          onBatchEnd: (log) => void (log.epoch === 2 && log.batch === 3 && (interrupt.interrupted = true)),
          onCheckpoint: async (ck) => {
            saved = { weights: ck.weights.map((w) => tf.clone(w)), state: structuredClone(ck.state), optimizer: ck.optimizer.map((o) => ({ name: o.name, tensor: tf.clone(o.tensor) })) };
          },
        },
      },
      countingDataset(),
    );
    assert.ok(saved, 'a checkpoint was offered');
    assert.equal(saved.state.batch, 3);
    assert.deepEqual(saved.state.stream, { rows: 96 });
    const resumed = model();
    await trainLayersModel(resumed, { ...options, resume: saved }, countingDataset());
    const w = weightValues(straight);
    weightValues(resumed).forEach((x, i) => assert.deepEqual(x, w[i], `weight ${i}`));
    tf.dispose([...saved.weights, ...saved.optimizer.map((o) => o.tensor)]);
    [straight, first, resumed].forEach((m) => m.dispose());
  });

  it('validation data as a Dataset is streamed after every epoch and gives the figures of the same rows as arrays', async () => {
    const half = N / 2;
    const train = { xs: rows.slice(0, half), ys: { a: a.slice(0, half), b: b.slice(0, half) } };
    const asArrays = { xs: rows.slice(half), ys: { a: a.slice(half), b: b.slice(half) } };
    const ds = countingDataset();
    const asDataset: DatasetLike<ArrayData> = {
      async iterator() {
        const it = await ds.iterator();
        // Only the second half of the rows (elements 6..11).
        for (let k = 0; k < half / ELEMENT; k++) await it.next();
        return it;
      },
    };
    const options = { heads, training: { epochs: 2, batchSize: 16, seed: 2 } };
    const m1 = model();
    const r1 = await trainLayersModel(m1, { ...options, validationData: asArrays }, train);
    const m2 = model();
    const r2 = await trainLayersModel(m2, { ...options, validationData: asDataset }, train);
    assert.deepEqual(
      r2.history.map((e) => e.validation),
      r1.history.map((e) => e.validation),
    );
    assert.deepEqual(r2.metrics.validation, r1.metrics.validation);
    // The final figures name their total as the epochs' logs do (static: the weighted total).
    assert.equal(r1.metrics.validation?.total, 'weighted');
    assert.equal(r1.metrics.validation?.total, r1.history.at(-1)?.validation?.total);
    // Counted once up front, then once per epoch and for the final metrics.
    assert.equal(ds.iterators, 4);
    m1.dispose();
    m2.dispose();
  });

  it('a generator object (readable once) is kept after its first pass and trains like a re-iterable source; control.stop() in onBatchBegin ends after that epoch', async () => {
    async function* gen(): AsyncGenerator<ArrayData> {
      for (let at = 0; at < N; at += ELEMENT) yield element(at);
    }
    const options = { heads, training: { epochs: 3, batchSize: 24, seed: 9 } };
    const once = model();
    await trainLayersModel(once, options, gen());
    const again = model();
    await trainLayersModel(again, options, { [Symbol.asyncIterator]: () => gen() });
    const w = weightValues(once);
    weightValues(again).forEach((x, i) => assert.deepEqual(x, w[i]));

    const stopped = model();
    const tensors = tf.memory().numTensors;
    let ended: { epochs: number; stopped: boolean } | undefined;
    const result = await trainLayersModel(
      stopped,
      {
        ...options,
        callbacks: {
          onBatchBegin: (info, control) => void (info.epoch === 2 && info.batch === 2 && control.stop()),
          onTrainEnd: (info) => void (ended = { epochs: info.epochs, stopped: info.stopped }),
        },
      },
      { [Symbol.asyncIterator]: () => gen() },
    );
    assert.equal(result.epochs, 2);
    assert.deepEqual(ended, { epochs: 2, stopped: true });
    assert.ok(tf.memory().numTensors <= tensors + 2, 'no tensors left behind by the stream');
    once.dispose();
    again.dispose();
    stopped.dispose();
  });
});
