/**
 * One validation split for every front door: the library API (arrays and a
 * streamed iterable), config training (`fitModel`, what the CLI runs),
 * streaming (`fitModelStream`, `train --stream`) and image training
 * (`fitImageModel`) hold out the same rows for the same data, seed and
 * fraction, stratified on the first classification head. Each door reports
 * the rows it handed to the trainer as validation.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { trainLayersModel, type ArrayData, type TrainOptions } from '../../src/api/index.js';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { ImageSet } from '../../src/data/images/dataset.js';
import { fitImageModel } from '../../src/training/fit-images.js';
import { validationShare } from '../../src/data/split.js';
import type { Cell } from '../../src/data/table.js';
import { openTableStream } from '../../src/io/stream-table.js';
import { readTableFile } from '../../src/io/table-file.js';
import { fitModel } from '../../src/training/fit.js';
import { fitModelStream } from '../../src/training/fit-stream.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir, useDefaultBackend } from '../helpers.js';
import { tinyModel } from './tiny-layers-model.js';

const N = 157;
const CLASSES = ['a', 'b', 'c'];

/** Rows: two features, a class (unequal classes, some missing), a number (some missing); rows 5 and 77 have no label at all. */
function rows(): { x: [number, number][]; cls: (string | null)[]; value: (number | null)[] } {
  const rng = new Rng('split-data');
  const x: [number, number][] = [];
  const cls: (string | null)[] = [];
  const value: (number | null)[] = [];
  for (let i = 0; i < N; i++) {
    const u = rng.next();
    x.push([Math.round(rng.normal() * 1000) / 1000, Math.round(rng.normal() * 1000) / 1000]);
    const unlabelled = i === 5 || i === 77;
    cls.push(unlabelled || i % 11 === 3 ? null : u < 0.6 ? 'a' : u < 0.85 ? 'b' : 'c');
    value.push(unlabelled || i % 13 === 4 ? null : Math.round(rng.normal() * 100) / 100);
  }
  return { x, cls, value };
}

function config(seed: number, split: number, stratify = true) {
  return resolveConfig(
    parseConfig({
      targets: [
        { name: 'value', column: 'value', kind: 'regression' },
        { name: 'cls', column: 'cls', kind: 'classification' },
      ],
      validation: { split, stratify },
      model: { trunk: [4] },
      training: { epochs: 1, batchSize: 16, seed },
    }),
  );
}

describe('one validation split for every front door', () => {
  const dir = tempDir('multiloss-split-');
  const csv = join(dir, 'data.csv');
  const data = rows();
  before(async () => {
    await useDefaultBackend();
    const cell = (v: Cell) => (v === null ? '' : String(v));
    writeFileSync(csv, `x1,x2,cls,value\n${data.x.map((x, i) => [x[0], x[1], data.cls[i], data.value[i]].map(cell).join(',')).join('\n')}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The validation rows each door took, by door. */
  async function doors(seed: number, split: number, stratify = true): Promise<Record<string, readonly number[]>> {
    const resolved = config(seed, split, stratify);
    const out: Record<string, readonly number[]> = {};
    const record = (door: string) => (validationRows: readonly number[]) => {
      out[door] = validationRows;
    };

    const model = await fitModel(resolved, { table: readTableFile(csv) }, { onSplit: record('config') });
    model.dispose();

    const streamed = await fitModelStream(resolved, { train: { source: csv, open: () => openTableStream(csv, { batchSize: 10, chunkSize: 128 }) } }, { onSplit: record('stream'), shuffleBuffer: 8 });
    streamed.dispose();

    const images: ImageSet = { n: N, shape: [1, 1, 2], x: Float32Array.from(data.x.flat()), labels: { cls: data.cls, value: data.value }, source: 'images' };
    const imageModel = await fitImageModel(resolved, images, { onSplit: record('images') });
    imageModel.dispose();

    const options: TrainOptions = {
      heads: { value: { kind: 'regression' }, cls: { kind: 'classification', classes: CLASSES } },
      validationSplit: split,
      stratifySplit: stratify,
      training: { epochs: 1, batchSize: 16, seed },
    };
    const arrays: ArrayData = { xs: data.x, ys: { value: data.value, cls: data.cls } };
    const api = await trainLayersModel(tinyModel(), options, arrays);
    out.api = api.validationRows ?? [];
    api.network.dispose();

    // The API's streamed source (an iterable of batches), which holds labels only.
    const batches = function* (): Generator<ArrayData> {
      for (let at = 0; at < N; at += 20) {
        const end = Math.min(N, at + 20);
        yield { xs: data.x.slice(at, end), ys: { value: data.value.slice(at, end), cls: data.cls.slice(at, end) } };
      }
    };
    const apiStream = await trainLayersModel(tinyModel(), options, { [Symbol.iterator]: batches });
    out['api (stream)'] = apiStream.validationRows ?? [];
    apiStream.network.dispose();
    return out;
  }

  it('takes the same rows through the API (arrays, stream), config training, streaming and images, stratified on the first classification head', async () => {
    const tensors = tf.memory().numTensors;
    const fraction = 0.3;
    const taken = await doors(11, fraction);
    assert.deepEqual(Object.keys(taken).sort(), ['api', 'api (stream)', 'config', 'images', 'stream']);
    const reference = taken.config;
    for (const [door, held] of Object.entries(taken)) assert.deepEqual([...held], [...reference], `${door} vs config`);

    // Stratified: each class (and the rows without a class) gives round(fraction · size); unlabelled rows take no part.
    assert.ok(!reference.includes(5) && !reference.includes(77), 'rows without any label are never held out');
    const strata = [...CLASSES, null];
    for (const s of strata) {
      const size = data.cls.filter((c, i) => c === s && i !== 5 && i !== 77).length;
      assert.equal(reference.filter((i) => data.cls[i] === s).length, validationShare(fraction, size), `stratum ${s}`);
    }
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
  });

  it('another seed takes other rows, again the same through every door; stratify: false makes one stratum of all labelled rows', async () => {
    const first = await doors(11, 0.3);
    const other = await doors(12, 0.3);
    assert.notDeepEqual([...other.config], [...first.config]);
    for (const [door, held] of Object.entries(other)) assert.deepEqual([...held], [...other.config], `${door} vs config (seed 12)`);

    const plain = await doors(11, 0.25, false);
    for (const [door, held] of Object.entries(plain)) assert.deepEqual([...held], [...plain.config], `${door} vs config (not stratified)`);
    assert.equal(plain.config.length, validationShare(0.25, N - 2));
  });
});
