/**
 * The bundled browser entry in real headless Chromium (Debian's, through playwright-core): a
 * 3-head model (classification, binary, regression) trains on in-memory data under wasm and
 * under cpu (and WebGL when the browser and the installed packages offer it; the output says
 * which backends ran and why one did not), reaching accuracy and R² thresholds, with no console
 * errors, no page errors and no leaked tensors; tables read from a File / Blob equal Node's.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTableFile } from '../../src/io/table-file.js';
import { tableRows } from '../../src/data/table-build.js';
import { MultilossError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';
import { webglPackageInstalled } from './harness.js';
import { closeTo, openTestPage, penguinRows, penguinsConfig, penguinsCsv, type PageUnderTest } from './fixtures.js';
import type { TrainResult } from './page.js';

const EPOCHS = 20;

describe('browser entry in Chromium', () => {
  let page: PageUnderTest;
  const rows = penguinRows();
  before(async () => {
    page = await openTestPage();
  });
  after(async () => {
    await page?.stop();
  });

  function checkTrained(r: TrainResult, backend: string): void {
    assert.equal(r.backend.name, backend);
    const v = r.validation;
    assert.ok(v.species.accuracy >= 0.9, `${backend}: species accuracy ${v.species.accuracy}`);
    assert.ok(v.sex.accuracy >= 0.75, `${backend}: sex accuracy ${v.sex.accuracy}`);
    assert.ok(v.body_mass_g.r2 >= 0.7, `${backend}: body mass R² ${v.body_mass_g.r2}`);
    assert.equal(r.predictions.length, rows.length);
    assert.deepEqual(page.problems, []);
  }

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`trains classification + binary + regression heads under ${backend}`, async (t) => {
      const r = await page.run('train', { backend, wasmPaths: `${page.server.url}/wasm/`, rows, config: penguinsConfig(EPOCHS) });
      checkTrained(r, backend);
      if (backend === 'wasm') assert.equal(r.backend.fixedKernels, true);
      t.diagnostic(`${backend}: ${JSON.stringify(r.validation)}`);
      assert.equal(r.leakedTensors, 0, 'training frees everything but the model');
    });
  }

  it('trains under WebGL when the browser offers it (reported either way)', async (t) => {
    const info = await page.run('defaultBackend', `${page.server.url}/wasm/`);
    if (info.name !== 'webgl') {
      // Not a failure: a headless browser without a GPU (or without the webgl package) has no WebGL.
      const reason = info.skipped.find((s) => s.name === 'webgl')?.reason ?? '';
      t.diagnostic(`webgl did not run: ${reason}; the default order fell back to ${info.name}`);
      assert.equal(info.skipped[0].name, 'webgl');
      assert.equal(info.name, 'wasm', 'webgl → wasm');
      if (!webglPackageInstalled()) assert.match(reason, /import '@tensorflow\/tfjs-backend-webgl'/);
      return;
    }
    const r = await page.run('train', { backend: 'webgl', wasmPaths: `${page.server.url}/wasm/`, rows, config: penguinsConfig(EPOCHS) });
    checkTrained(r, 'webgl');
    t.diagnostic(`webgl: ${JSON.stringify(r.validation)}`);
  });

  it('trains in a module Web Worker from a File; the page loads the posted artifacts and predicts the same outputs', async () => {
    const r = (await page.run('trainInWorker', { workerUrl: '/worker.js', csv: penguinsCsv(), config: penguinsConfig(5), wasmPaths: `${page.server.url}/wasm/` })) as {
      error?: string;
      backend: string;
      rows: number;
      workerOutputs: number[][];
      pageOutputs: number[][];
    };
    assert.equal(r.error, undefined);
    assert.equal(r.backend, 'wasm');
    assert.equal(r.rows, rows.length);
    assert.equal(closeTo(r.workerOutputs, r.pageOutputs, 1e-6), undefined);
    assert.deepEqual(page.problems, []);
  });

  it('an unknown backend is a one-line config error', async () => {
    assert.deepEqual(await page.run('badBackend', undefined as never), { error: "backends: unknown backend 'webgpu' (expected some of webgl, wasm, cpu)", kind: 'config' });
  });

  it('readTableFrom gives the table and the one-line errors Node gives for the same bytes', async () => {
    const dir = tempDir();
    const header = ['name', 'note', 'value'];
    const csv = `\uFEFF${header.join(',')}\r\n"Adélie, Torgersen","two\nlines",1.5\r\n\r\nGentoo,"say ""hi""",\r\nChinstrap,plain,-3e2\n`;
    const cases: { name: string; text: string }[] = [
      { name: 'ok.csv', text: csv },
      { name: 'ok.tsv', text: 'a\tb\n1\t2\n' },
      { name: 'ok.json', text: JSON.stringify(penguinRows().slice(0, 5)) },
      { name: 'ok.jsonl', text: '{"a":1,"b":"x"}\n{"a":2,"b":null}\n' },
      { name: 'unterminated.csv', text: 'a,b\n1,"2\n3,4\n' },
      { name: 'ragged.csv', text: 'a,b\n1,2\n3\n' },
      { name: 'empty.csv', text: ' \n' },
      { name: 'bad.json', text: '[{"a":1},' },
      { name: 'data.xlsx', text: 'a,b\n1,2\n' },
    ];
    for (const c of cases) {
      const path = join(dir, c.name);
      writeFileSync(path, c.text);
      let expected: unknown;
      try {
        const t = readTableFile(path);
        expected = { columns: t.columns, rows: tableRows(t), ...(t.lines ? { lines: Array.from(t.lines) } : {}), source: t.source };
      } catch (e) {
        assert.ok(e instanceof MultilossError, `${c.name}: ${String(e)}`);
        expected = { error: e.message.replaceAll(path, c.name), kind: e.kind };
      }
      const got = (await page.run('readFile', { text: c.text, name: c.name })) as { source?: string };
      if (got.source !== undefined) got.source = path;
      assert.deepEqual(got, expected, c.name);
    }
    // A Blob has no name: the format is given, and errors name it.
    const blob = (await page.run('readBlob', { text: 'a;b\n1;2\n', format: 'csv' })) as { columns: string[] };
    assert.deepEqual(blob.columns, ['a', 'b']);
    assert.deepEqual(await page.run('readBlob', { text: 'a,b\n1,2\n' }), {
      error: 'readTableFrom: give options.name (a file name with its extension) or options.format (csv, json, jsonl, parquet or arrow) for a Blob',
      kind: 'usage',
    });
    assert.deepEqual(page.problems, []);
  });
});
