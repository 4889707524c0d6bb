/**
 * Parquet and Arrow IPC in real headless Chromium through the browser entry: readTableFrom on a
 * File fetched from a server gives the table Node's readDataFile gives for the same bytes (and
 * the same one-line error for a truncated file); a model trained in the page on the Parquet table
 * has the weights of one trained there on the same rows given as objects.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tableToIPC, tableFromJSON } from 'apache-arrow';
import { readDataFile } from '../../src/io/table-file.js';
import { tableRows } from '../../src/data/table-build.js';
import { MultilossError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';
import { penguinsParquet } from '../data/duckdb.js';
import { openTestPage, penguinRows, penguinsConfig, type PageUnderTest } from './fixtures.js';

describe('Parquet and Arrow in Chromium (browser entry)', () => {
  let page: PageUnderTest;
  const dir = tempDir();
  /** The files served to the page: Parquet written by DuckDB, the same cut short, Arrow IPC written by apache-arrow. */
  const files = new Map<string, Uint8Array>();
  before(async () => {
    const parquet = readFileSync(await penguinsParquet(dir));
    files.set('penguins.parquet', parquet);
    files.set('cut.parquet', parquet.subarray(0, parquet.length - 50));
    files.set('penguins.arrow', tableToIPC(tableFromJSON(penguinRows().slice(0, 40) as Record<string, unknown>[]), 'file'));
    page = await openTestPage();
    for (const [name, body] of files) page.server.add(`/${name}`, { body, type: 'application/octet-stream' });
  });
  after(async () => {
    await page?.stop();
  });

  /** Node's table (or one-line error) for `bytes` in a file, named as the page names it. */
  async function inNode(bytes: Uint8Array, name: string): Promise<unknown> {
    const path = join(tempDir(), name);
    writeFileSync(path, bytes);
    try {
      // As the page hands it over: plain data (columns, rows of cells, lines).
      const t = await readDataFile(path);
      return { columns: t.columns, rows: tableRows(t), ...(t.lines ? { lines: Array.from(t.lines) } : {}), source: name };
    } catch (e) {
      assert.ok(e instanceof MultilossError);
      return { error: e.message.replaceAll(path, name), kind: e.kind };
    }
  }

  it('readTableFrom(File) of Parquet and Arrow equals Node\'s readDataFile; a truncated file gives the same error', async () => {
    for (const [name, bytes] of files) {
      const got = await page.run('readFetched', { url: `/${name}`, name });
      assert.deepEqual(got, await inNode(bytes, name), name);
    }
    const table = (await page.run('readFetched', { url: '/penguins.parquet', name: 'penguins.parquet' })) as { rows: unknown[][] };
    assert.equal(table.rows.length, 344);
    assert.match(JSON.stringify(await page.run('readFetched', { url: '/cut.parquet', name: 'cut.parquet' })), /cut\.parquet: not a readable Parquet file/);
    assert.deepEqual(page.problems, []);
  });

  it('trains in the page on the Parquet table read from an ArrayBuffer: the weights of training on the same rows as objects', async () => {
    const r = (await page.run('trainFetched', { url: '/penguins.parquet', format: 'parquet', rows: penguinRows(), config: penguinsConfig(3), wasmPaths: `${page.server.url}/wasm/` })) as { fromFile: number[][]; fromRows: number[][]; error?: string };
    assert.equal(r.error, undefined);
    assert.ok(r.fromFile.length > 0);
    assert.deepEqual(r.fromFile, r.fromRows);
    assert.deepEqual(page.problems, []);
  });
});
