/**
 * Streaming training (`fitModelStream`, `train --stream`): pass 1 fits what
 * the whole-table fit fits, the validation split is a seeded per-row hash,
 * the shuffle buffer is a bounded, seeded, local shuffle, and a run
 * interrupted inside an epoch resumes to the weights of an uninterrupted
 * streaming run. Real files, read in small chunks to cross chunk boundaries.
 */
import { tableRows } from '../../src/data/table-build.js';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { Table } from '../../src/data/table.js';
import { checkpointWriter, disposeCheckpoint, readCheckpoint } from '../../src/io/checkpoints.js';
import { openTableStream } from '../../src/io/stream-table.js';
import { trainFromConfig } from '../../src/io/train-from-config.js';
import { readTableFile } from '../../src/io/table-file.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { ShuffleBuffer } from '../../src/training/batch-source.js';
import { fitModel } from '../../src/training/fit.js';
import { fitModelStream, type StreamedTable } from '../../src/training/fit-stream.js';
import { splitHash } from '../../src/data/split.js';
import { cli, penguins, tempDir, useDefaultBackend } from '../helpers.js';

const FEATURES = ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)'];

function config(training: Record<string, unknown> = {}, validation: Record<string, unknown> = { split: 0.25 }) {
  return {
    missingValues: ['.'],
    targets: [
      { name: 'species', column: 'Species', kind: 'classification', classWeights: 'balanced' },
      { name: 'sex', column: 'Sex', kind: 'binary' },
      { name: 'mass', column: 'Body Mass (g)', kind: 'regression' },
    ],
    validation,
    model: { trunk: [{ units: 16, dropout: 0.2 }, { units: 8, batchNorm: true }] },
    training: { epochs: 4, batchSize: 16, seed: 5, learningRate: 0.01, schedule: 'cosine', ...training },
    balance: { method: 'uncertainty' },
  };
}

/** The penguins as a CSV file (missing cells empty; "." stays a missing-value token). */
function penguinsCsv(path: string): Table {
  const t = penguins();
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  writeFileSync(path, `${t.columns.join(',')}\n${tableRows(t).map((r) => r.map(cell).join(',')).join('\n')}\n`);
  return t;
}

/** Reads the file in chunks of `rows` rows (and 256-byte reads), from the start each time. */
const streamed = (path: string, rows = 50): StreamedTable => ({ source: path, open: () => openTableStream(path, { batchSize: rows, chunkSize: 256 }) });

const weightsOf = (m: MultilossModel) => m.network.model.getWeights().map((w) => Float32Array.from(w.dataSync()));

describe('streaming training', () => {
  const dir = tempDir('multiloss-stream-');
  const csv = join(dir, 'penguins.csv');
  let table: Table;
  before(async () => {
    await useDefaultBackend();
    table = penguinsCsv(csv);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('pass 1 fits the preprocessing and the heads the whole-table fit fits (means exact, standard deviations to 1e-12)', async () => {
    const resolved = resolveConfig(parseConfig({ ...config({ epochs: 1 }, { split: 0 }), features: FEATURES }));
    const whole = await fitModel(resolved, { table });
    const stream = await fitModelStream(resolved, { train: streamed(csv, 7) });
    const a = whole.preprocessor.toJSON().features;
    const b = stream.preprocessor.toJSON().features;
    assert.equal(b.length, a.length);
    a.forEach((f, i) => {
      const g = b[i];
      assert.equal(g.type, f.type, f.name);
      if (f.type === 'numeric' && g.type === 'numeric') {
        assert.equal(g.mean, f.mean, `${f.name} mean`);
        assert.ok(Math.abs(g.std - f.std) <= 1e-12 * f.std, `${f.name} std ${g.std} vs ${f.std}`);
        assert.equal(g.missingIndicator, f.missingIndicator);
      } else {
        assert.deepEqual(g, f);
      }
    });
    whole.heads.forEach((h, i) => {
      const x = h.toJSON();
      const y = stream.heads[i].toJSON();
      assert.deepEqual(y.classes, x.classes, h.name);
      assert.deepEqual(y.classWeights, x.classWeights, `${h.name}: balanced class weights from the real counts`);
      if (x.mean !== undefined) {
        assert.equal(y.mean, x.mean);
        assert.ok(Math.abs((y.std as number) - (x.std as number)) <= 1e-12 * (x.std as number));
      }
    });
    // Same rows in the same order once (batch 16, shuffle buffer 1 vs the trainer's permutation: different
    // steps), so the models differ, but both learn: species accuracy on the training rows.
    assert.ok((stream.meta.metrics.train?.heads.species.metrics.accuracy ?? 0) > 0.5);
    assert.equal(stream.meta.history.length, 1);
    whole.dispose();
    stream.dispose();
  });

  it('trains, validates on the hashed split and predicts; the same run twice gives the same weights', async () => {
    const resolved = resolveConfig(parseConfig(config({ epochs: 6 })));
    const a = await fitModelStream(resolved, { train: streamed(csv) }, { shuffleBuffer: 64 });
    const b = await fitModelStream(resolved, { train: streamed(csv, 1000) }, { shuffleBuffer: 64 });
    const wa = weightsOf(a);
    weightsOf(b).forEach((w, i) => assert.deepEqual(w, wa[i], `weight ${i}: chunk size does not change the run`));
    const v = a.meta.metrics.validation;
    assert.ok(v, 'validation metrics');
    assert.deepEqual(v, a.meta.history.at(-1)?.validation, 'the final pass (training and validation rows in one read) sees the epochs\' validation rows');
    assert.ok(v.heads.species.metrics.accuracy > 0.8, `species accuracy ${v.heads.species.metrics.accuracy}`);
    assert.ok(v.heads.mass.metrics.r2 > 0.3, `mass R² ${v.heads.mass.metrics.r2}`);
    const predictions = a.predict(tableRows(table).slice(0, 5).map((r) => Object.fromEntries(table.columns.map((c, j) => [c, r[j]]))));
    assert.equal(predictions.length, 5);
    for (const p of predictions) assert.ok(Number.isFinite(p.mass as number));
    a.dispose();
    b.dispose();
  });

  it('a run interrupted inside an epoch resumes (skipping the batches done) to the weights of an uninterrupted streaming run', async () => {
    const raw = config({ epochs: 4 });
    const resolved = resolveConfig(parseConfig(raw));
    const straight = await fitModelStream(resolved, { train: streamed(csv) }, { shuffleBuffer: 32 });
    const ckDir = join(dir, 'ck');
    const interrupt = { interrupted: false };
    await assert.rejects(
      fitModelStream(resolved, { train: streamed(csv) }, {
        shuffleBuffer: 32,
        checkpoint: checkpointWriter(ckDir, raw),
        interrupt,
        callbacks: { onBatchEnd: (log) => void (log.epoch === 3 && log.batch === 4 && (interrupt.interrupted = true)) },
      }),
      /training interrupted after epoch 2/,
    );
    const ck = await readCheckpoint(ckDir);
    assert.equal(ck.resume.state.batch, 4);
    assert.ok(ck.resume.state.stream, 'the checkpoint says the run streams');
    assert.equal(ck.resume.state.order, undefined, 'no row order is saved for a stream');
    let resumed: MultilossModel;
    try {
      resumed = await fitModelStream(resolveConfig(parseConfig(ck.config)), { train: streamed(csv) }, { shuffleBuffer: 32, resume: ck.resume });
    } finally {
      disposeCheckpoint(ck);
    }
    const expected = weightsOf(straight);
    weightsOf(resumed).forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(v - expected[i][j]) <= 1e-6 * Math.max(1, Math.abs(v)), `weight ${i}[${j}]`)));
    assert.deepEqual(
      resumed.meta.history.map((e) => e.validation?.loss),
      straight.meta.history.map((e) => e.validation?.loss),
    );
    straight.dispose();
    resumed.dispose();
  });

  it('JSON lines with a key missing from the first rows, and validation.data: the same preprocessing and heads as the whole-table fit', async () => {
    const jsonl = join(dir, 'penguins.jsonl');
    const validationCsv = join(dir, 'validation.csv');
    const beak = table.columns.indexOf('Beak Length (mm)');
    const objects = tableRows(table).slice(0, 300).map((r, i) => Object.fromEntries(table.columns.map((c, j) => [c, r[j]]).filter(([, v], j) => v !== null && !(i < 60 && j === beak))));
    writeFileSync(jsonl, `${objects.map((o) => JSON.stringify(o)).join('\n')}\n`);
    writeFileSync(validationCsv, `${table.columns.join(',')}\n${tableRows(table).slice(300).map((r) => r.map((c) => (c === null ? '' : String(c))).join(',')).join('\n')}\n`);
    const raw = { ...config({ epochs: 1 }, { data: validationCsv }), features: FEATURES };
    const resolved = resolveConfig(parseConfig(raw));
    const whole = await fitModel(resolved, { table: readTableFile(jsonl), validation: readTableFile(validationCsv) });
    const stream = await fitModelStream(resolved, { train: streamed(jsonl, 16), validation: streamed(validationCsv, 16) });
    const a = whole.preprocessor.toJSON().features;
    const b = stream.preprocessor.toJSON().features;
    const beakFit = b.find((f) => f.name === 'Beak Length (mm)');
    assert.ok(beakFit?.type === 'numeric' && beakFit.missingIndicator, 'missing in the first rows: a missing indicator');
    a.forEach((f, i) => {
      const g = b[i];
      if (f.type === 'numeric' && g.type === 'numeric') {
        assert.equal(g.mean, f.mean, f.name);
        assert.ok(Math.abs(g.std - f.std) <= 1e-12 * f.std, f.name);
        assert.equal(g.missingIndicator, f.missingIndicator, f.name);
      } else assert.deepEqual(g, f);
    });
    whole.heads.forEach((h, i) => assert.deepEqual(stream.heads[i].toJSON().classes, h.toJSON().classes));
    const vw = whole.meta.metrics.validation;
    const vs = stream.meta.metrics.validation;
    assert.ok(vw && vs, 'both validated on validation.data');
    assert.equal(stream.meta.history[0].validation?.heads.species.metrics.accuracy, vs.heads.species.metrics.accuracy);
    whole.dispose();
    stream.dispose();
  });

  it('a feature that reads as numbers for 250 rows, then as text: one more pass collects the categories the whole-table fit finds', async () => {
    const mixed = join(dir, 'mixed.csv');
    // "2.50" and "2.5" are two categories once the column is categorical: the text is kept, not the number.
    const tag = (i: number) => (i >= 250 ? `late${i % 3}` : i % 5 === 0 ? '2.50' : i % 7 === 0 ? '' : String(i % 4));
    const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
    writeFileSync(mixed, `${table.columns.join(',')},Tag\n${tableRows(table).map((r, i) => `${r.map(cell).join(',')},${tag(i)}`).join('\n')}\n`);
    const resolved = resolveConfig(parseConfig({ ...config({ epochs: 1 }), features: [...FEATURES, 'Tag'] }));
    const whole = await fitModel(resolved, { table: readTableFile(mixed) });
    const stream = await fitModelStream(resolved, { train: streamed(mixed, 7) });
    const expected = whole.preprocessor.toJSON().features.find((f) => f.name === 'Tag');
    assert.ok(expected?.type === 'categorical' && expected.categories.includes('2.50') && expected.categories.includes('3') && expected.categories.includes('late2'), JSON.stringify(expected));
    assert.deepEqual(stream.preprocessor.toJSON().features.find((f) => f.name === 'Tag'), expected);
    whole.dispose();
    stream.dispose();
  });

  it('`stream: true` in a configuration (trainFromConfig) trains the streaming way', async () => {
    const raw = { ...config({ epochs: 2 }), data: csv, stream: true };
    const viaConfig = await trainFromConfig(raw);
    const direct = await fitModelStream(resolveConfig(parseConfig(raw)), { train: streamed(csv, 4096) });
    const w = weightsOf(direct);
    weightsOf(viaConfig).forEach((x, i) => assert.deepEqual(x, w[i]));
    viaConfig.dispose();
    direct.dispose();
  });

  it('stream.shuffleBuffer (config) and --shuffle-buffer (CLI) set the buffer: the same weights as the option, other weights than the default', async () => {
    const raw = { ...config({ epochs: 2 }), data: csv, stream: { shuffleBuffer: 7 } };
    const viaConfig = await trainFromConfig(raw);
    const resolved = resolveConfig(parseConfig({ ...raw, stream: true }));
    const direct = await fitModelStream(resolved, { train: streamed(csv, 4096) }, { shuffleBuffer: 7 });
    const byDefault = await fitModelStream(resolved, { train: streamed(csv, 4096) });
    const w = weightsOf(direct);
    weightsOf(viaConfig).forEach((x, i) => assert.deepEqual(x, w[i]));
    assert.ok(weightsOf(byDefault).some((x, i) => x.some((v, j) => v !== w[i][j])), 'a 7-row buffer gives another batch order than 16,384 rows');
    for (const m of [viaConfig, direct, byDefault]) m.dispose();

    // Through the CLI: the flag lands in the saved configuration; without --stream it is a usage error.
    const cfg = join(dir, 'stream.json');
    writeFileSync(cfg, JSON.stringify({ ...config({ epochs: 1 }), data: csv }));
    const out = join(dir, 'model-buffer');
    const r = cli(['train', '--config', cfg, '--stream', '--shuffle-buffer', '7', '--out', out, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((JSON.parse(readFileSync(join(out, 'multiloss.json'), 'utf8')) as { config: { stream: unknown } }).config.stream, { shuffleBuffer: 7 });
    const bad = cli(['train', '--config', cfg, '--shuffle-buffer', '7', '--out', join(dir, 'never'), '--quiet']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr.trim(), /^multiloss: .*--shuffle-buffer: only with --stream/);
    assert.ok(!existsSync(join(dir, 'never')));
  });

  it('a bad cell deep in the file stops pass 1 with the file, line and column', async () => {
    const bad = join(dir, 'bad.csv');
    const lines = [`${table.columns.join(',')}`];
    const massAt = table.columns.indexOf('Body Mass (g)');
    tableRows(table).forEach((r, i) => lines.push(r.map((c, j) => (i === 300 && j === massAt ? 'heavy' : c === null ? '' : String(c))).join(',')));
    writeFileSync(bad, `${lines.join('\n')}\n`);
    const before = tf.memory().numTensors;
    await assert.rejects(fitModelStream(resolveConfig(parseConfig(config())), { train: streamed(bad) }), (e: Error) => {
      assert.match(e.message, /bad\.csv: line 302, column "Body Mass \(g\)": "heavy" is not a number/);
      return true;
    });
    assert.equal(tf.memory().numTensors, before, 'nothing built before the data is known good');
  });
});

describe("splitHash, each row's draw in the validation split, is a seeded hash of the row index", () => {
  it('holds out about `split` of the rows, the same rows for the same seed, other rows for another seed', () => {
    const n = 200_000;
    const held = (seed: number) => Array.from({ length: n }, (_, r) => splitHash(seed, r) < 0.25);
    const a = held(1);
    const share = a.filter(Boolean).length / n;
    assert.ok(Math.abs(share - 0.25) < 0.005, `share ${share}`);
    assert.deepEqual(held(1), a);
    const b = held(2);
    const overlap = a.filter((x, i) => x && b[i]).length / n;
    assert.ok(Math.abs(overlap - 0.0625) < 0.005, `independent across seeds: overlap ${overlap}`);
    for (let r = 0; r < 1000; r++) {
      const u = splitHash(7, r * 1_000_003);
      assert.ok(u >= 0 && u < 1);
    }
  });
});

describe('ShuffleBuffer', () => {
  it('emits every row once, seeded, moving a row at most `capacity` places earlier', () => {
    const run = (seed: string) => {
      const buffer = new ShuffleBuffer<number>(100, seed);
      const out: number[] = [];
      for (let i = 0; i < 10_000; i++) {
        const x = buffer.push(i);
        if (x !== undefined) out.push(x);
      }
      out.push(...buffer.drain());
      return out;
    };
    const a = run('s');
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 10_000 }, (_, i) => i));
    assert.deepEqual(run('s'), a);
    assert.notDeepEqual(run('t'), a);
    assert.ok(a.filter((x, p) => x !== p).length > 9000, 'shuffled');
    a.forEach((x, p) => assert.ok(x - p <= 100, `row ${x} at ${p}`));
    const one = new ShuffleBuffer<number>(1, 's');
    assert.deepEqual([1, 2, 3].map((x) => one.push(x)), [1, 2, 3], 'capacity 1 keeps the order');
  });
});
