/**
 * The stream's spill (io/stream-spill.ts): a streamed file is parsed once, its
 * later reads come from the spill (the same chunks, even after the file
 * changed), a read stopped early leaves none, close() deletes it, and training
 * with and without it — from CSV or from JSON lines of the same rows — ends
 * with the same weights.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { Table } from '../../src/data/table.js';
import { tableRows } from '../../src/data/table-build.js';
import { encodedChunkSpill, fitStreamedFiles, streamedFile, type StreamedFile } from '../../src/io/stream-spill.js';
import { fitModelStream } from '../../src/training/fit-stream.js';
import { trainFromConfig } from '../../src/io/train-from-config.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { penguins, tempDir, useDefaultBackend } from '../helpers.js';

/** Every chunk of one read: its columns, rows and line numbers. */
async function readAll(file: StreamedFile): Promise<{ columns: string[]; rows: unknown[][]; lines: number[] }[]> {
  const reader = await file.open();
  const out = [];
  for (let t = await reader.next(); t !== null; t = await reader.next()) out.push({ columns: [...t.columns], rows: tableRows(t), lines: [...(t.lines ?? t.rowNumbers ?? [])] });
  return out;
}

/** The spill folders in `dir`. */
const spillsIn = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('multiloss-stream-'));

const weightsOf = (m: MultilossModel) => m.network.model.getWeights().map((w) => Float32Array.from(w.dataSync()));

describe('stream spill', () => {
  const dir = tempDir('multiloss-spill-');
  const csv = join(dir, 'penguins.csv');
  const jsonl = join(dir, 'penguins.jsonl');
  let table: Table;
  const writeCsv = () => writeFileSync(csv, `${table.columns.join(',')}\n${tableRows(table).map((r) => r.map((c) => (c === null ? '' : String(c))).join(',')).join('\n')}\n`);
  before(async () => {
    await useDefaultBackend();
    table = penguins();
    writeCsv();
    const objects = tableRows(table).map((r) => Object.fromEntries(table.columns.map((c, j) => [c, r[j]]).filter(([, v]) => v !== null)));
    writeFileSync(jsonl, `${objects.map((o) => JSON.stringify(o)).join('\n')}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('later reads come from the spill: the same chunks after the file changed; close() deletes it', async () => {
    const spillDir = mkdtempSync(join(dir, 'spill-'));
    const file = streamedFile(csv, { batchSize: 50, spillDir });
    const first = await readAll(file);
    assert.equal(first.length, Math.ceil(table.length / 50));
    assert.equal(spillsIn(spillDir).length, 1, 'one spill folder');
    writeFileSync(csv, 'a,b\n1,2\n');
    try {
      assert.deepEqual(await readAll(file), first);
      file.close();
      assert.deepEqual(spillsIn(spillDir), [], 'close() deletes the spill');
      assert.deepEqual(
        (await readAll(file)).flatMap((c) => c.rows),
        [['1', '2']],
        'after close() the file is parsed again',
      );
    } finally {
      writeCsv();
    }
  });

  it('a first read stopped early leaves no spill: the next read parses the file', async () => {
    const spillDir = mkdtempSync(join(dir, 'spill-'));
    const file = streamedFile(csv, { batchSize: 50, spillDir });
    const reader = await file.open();
    assert.ok(await reader.next());
    reader.close();
    assert.deepEqual(spillsIn(spillDir), []);
    writeFileSync(csv, 'a,b\n1,2\n');
    try {
      assert.deepEqual((await readAll(file)).flatMap((c) => c.rows), [['1', '2']]);
    } finally {
      file.close();
      writeCsv();
    }
  });

  it('trains to the same weights with and without the spill, from CSV and from JSON lines of the same rows; the spill is gone afterwards', async () => {
    const resolved = resolveConfig(
      parseConfig({
        targets: [
          { name: 'species', column: 'Species', kind: 'classification' },
          { name: 'mass', column: 'Body Mass (g)', kind: 'regression' },
        ],
        features: ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)'],
        validation: { split: 0.2 },
        model: { trunk: [8] },
        training: { epochs: 2, batchSize: 32, seed: 3 },
        stream: { shuffleBuffer: 64 },
      }),
    );
    const spillDir = mkdtempSync(join(dir, 'spill-'));
    const plain = await fitStreamedFiles(resolved, csv, undefined, { spill: false, batchSize: 40 });
    const spilled = await fitStreamedFiles(resolved, csv, undefined, { batchSize: 40, spillDir });
    const fromJson = await fitStreamedFiles(resolved, jsonl, undefined, { batchSize: 40, spillDir });
    assert.deepEqual(spillsIn(spillDir), [], 'no spill left');
    const w = weightsOf(plain);
    for (const m of [spilled, fromJson]) weightsOf(m).forEach((x, i) => assert.deepEqual(x, w[i]));
    assert.deepEqual(fromJson.meta.metrics, plain.meta.metrics);
    for (const m of [plain, spilled, fromJson]) m.dispose();
  });

  it('the encoded rows: recorded by the first epoch, replayed by every later pass (epochs, validations, final metrics) to the same weights and metrics as reading the file', async () => {
    const resolved = resolveConfig(
      parseConfig({
        targets: [
          { name: 'species', column: 'Species', kind: 'classification' },
          { name: 'mass', column: 'Body Mass (g)', kind: 'regression' },
        ],
        features: ['Island', 'Beak Length (mm)', 'Flipper Length (mm)'],
        validation: { split: 0.2 },
        model: { trunk: [8] },
        training: { epochs: 3, batchSize: 32, seed: 4 },
        stream: { shuffleBuffer: 64 },
      }),
    );
    const spillDir = mkdtempSync(join(dir, 'encoded-'));
    const file = () => streamedFile(csv, { batchSize: 40, spill: false });
    const plain = await fitModelStream(resolved, { train: file() });
    const store = encodedChunkSpill(spillDir);
    let recorded = 0;
    let replayed = 0;
    const counted = {
      record: () => {
        const r = store.record();
        if (r) recorded++;
        return r;
      },
      replay: () => {
        const r = store.replay();
        if (r) replayed++;
        return r;
      },
    };
    const cached = await fitModelStream(resolved, { train: file() }, { encodedChunks: counted });
    assert.equal(spillsIn(spillDir).length, 1, 'the encoded rows in a spill folder until closed');
    store.close();
    assert.deepEqual(spillsIn(spillDir), []);
    // Epoch 1 records; epochs 2 and 3, the three validations and the final metrics replay.
    assert.equal(recorded, 1);
    assert.equal(replayed, 6);
    const w = weightsOf(plain);
    weightsOf(cached).forEach((x, i) => assert.deepEqual(x, w[i]));
    assert.deepEqual(cached.meta.metrics, plain.meta.metrics);
    assert.deepEqual(
      cached.meta.history.map((h) => h.validation),
      plain.meta.history.map((h) => h.validation),
    );
    for (const m of [plain, cached]) m.dispose();
  });

  it('the configuration turns it off (stream: { spill: false }); on by default, in the temporary directory, while training runs', async () => {
    const tmp = process.env.TMPDIR;
    const spillDir = mkdtempSync(join(dir, 'tmp-'));
    process.env.TMPDIR = spillDir;
    try {
      for (const spill of [undefined, false]) {
        const seen: number[] = [];
        const raw = {
          data: csv,
          stream: spill === undefined ? true : { spill },
          targets: [{ name: 'species', column: 'Species', kind: 'classification' }],
          features: ['Beak Length (mm)'],
          model: { trunk: [4] },
          training: { epochs: 1, batchSize: 64, seed: 1 },
        };
        const model = await trainFromConfig(raw, {}, { callbacks: { onEpochEnd: () => void seen.push(spillsIn(spillDir).length) } });
        model.dispose();
        // Two folders while training runs: the parsed chunks, and the rows the first epoch encoded.
        assert.deepEqual(seen, [spill === false ? 0 : 2], `spill ${String(spill)}`);
        assert.deepEqual(spillsIn(spillDir), []);
      }
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    }
  });
});
