/**
 * Models cross between Node and a page, both ways, through tfjs IO handlers, and predict the
 * same outputs to 1e-5: a model directory saved in Node loads in Chromium from its http URL; a
 * model trained in Chromium and saved with downloads:// (the two downloaded files in a folder)
 * or POSTed to an http URL loads in Node with loadModel and `multiloss predict`, and with plain
 * tf.loadLayersModel; indexeddb:// and localstorage:// round-trip in the page. Bad locations are one-line errors.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { rowsToTable } from '../../src/data/json.js';
import { loadModel, saveModel } from '../../src/io/model-dir.js';
import { loadModelFrom, saveModelTo } from '../../src/model/model-io.js';
import type { MultilossModel, Prediction } from '../../src/model/multiloss-model.js';
import { trainFromTable } from '../../src/training/train-from-table.js';
import { cli, tempDir, useDefaultBackend } from '../helpers.js';
import { closeTo, openTestPage, penguinRows, penguinsConfig, type PageUnderTest } from './fixtures.js';
import type { OutputsResult } from './page.js';

const TOLERANCE = 1e-5;
const toArrays = (outs: Float32Array[]) => outs.map((o) => Array.from(o));

/** `multiloss predict --format jsonl` rows against the page's predictions: labels equal (unless a near tie), numbers to 1e-5. */
function assertCliMatches(lines: Prediction[], expected: Prediction[]): void {
  assert.equal(lines.length, expected.length);
  lines.forEach((line, i) => {
    for (const [head, p] of Object.entries(expected[i])) {
      const got = line[head];
      if (typeof p === 'number') {
        assert.ok(typeof got === 'number' && Math.abs(got - p) <= TOLERANCE * Math.max(1, Math.abs(p)), `row ${i} ${head}: ${JSON.stringify(got)} vs ${p}`);
        continue;
      }
      assert.ok(typeof got === 'object' && 'label' in got && 'label' in p, `row ${i} ${head}: ${JSON.stringify(got)}`);
      const probs = Object.values(p.probabilities).sort((a, b) => b - a);
      if (probs[0] - (probs[1] ?? 0) > 1e-4) assert.equal(got.label, p.label, `row ${i} ${head}`);
      for (const [cls, q] of Object.entries(p.probabilities)) {
        assert.ok(Math.abs(got.probabilities[cls] - q) <= TOLERANCE, `row ${i} ${head} p(${cls}): ${got.probabilities[cls]} vs ${q}`);
      }
    }
  });
}

describe('models cross between Node and Chromium', () => {
  const rows = penguinRows();
  const dir = tempDir('multiloss-crossload-');
  let page: PageUnderTest;
  let nodeModel: MultilossModel;
  const downloads: Promise<void>[] = [];
  const downloaded = join(dir, 'downloaded');

  before(async () => {
    await useDefaultBackend();
    nodeModel = await trainFromTable(penguinsConfig(8), { table: rowsToTable(rows) });
    await saveModel(nodeModel, join(dir, 'node-model'));
    page = await openTestPage({ downloads: true });
    page.server.addDir('/models/', dir);
    page.server.acceptSaves(join(dir, 'posted'));
    mkdirSync(downloaded);
    page.page.on('download', (d) => downloads.push(d.saveAs(join(downloaded, d.suggestedFilename()))));
  });
  after(async () => {
    nodeModel?.dispose();
    await page?.stop();
  });

  it('a model directory saved in Node loads in the page from its URL and predicts the same outputs', async () => {
    await page.run('backend', { name: 'wasm', wasmPaths: `${page.server.url}/wasm/` });
    // A path without a scheme is relative to the page.
    const r = (await page.run('load', { source: '/models/node-model/model.json', rows })) as OutputsResult;
    assert.equal(closeTo(toArrays(nodeModel.predictOutputs(rows)), r.outputs, TOLERANCE), undefined);
    assert.deepEqual(page.problems, []);
  });

  it('a model trained in the page and downloaded loads in Node (loadModel, multiloss predict, plain tfjs) with the same outputs', async () => {
    const trained = await page.run('train', { backend: 'wasm', wasmPaths: `${page.server.url}/wasm/`, rows, config: penguinsConfig(8) });
    const info = (await page.run('save', 'downloads://model')) as { modelTopologyType?: string };
    assert.equal(info.modelTopologyType, 'JSON');
    while (downloads.length < 2) await new Promise((ok) => setTimeout(ok, 20));
    await Promise.all(downloads);
    assert.deepEqual(readdirSync(downloaded).sort(), ['model.json', 'model.weights.bin']);

    const loaded = await loadModel(downloaded);
    assert.equal(closeTo(trained.outputs, toArrays(loaded.predictOutputs(rows)), TOLERANCE), undefined);
    loaded.dispose();

    const data = join(dir, 'rows.json');
    writeFileSync(data, JSON.stringify(rows));
    const predicted = cli(['predict', downloaded, data, '--format', 'jsonl']);
    assert.equal(predicted.status, 0, predicted.stderr);
    assertCliMatches(
      predicted.stdout.trim().split('\n').map((l) => JSON.parse(l) as Prediction),
      trained.predictions,
    );

    // Plain tfjs reads the same model.json (the metadata rides in userDefinedMetadata).
    const modelJson = JSON.parse(readFileSync(join(downloaded, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; userDefinedMetadata: { multiloss: { heads: unknown[] } } };
    assert.equal(modelJson.userDefinedMetadata.multiloss.heads.length, 3);
    const weights = readFileSync(join(downloaded, modelJson.weightsManifest[0].paths[0]));
    const plain = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData: new Uint8Array(weights).buffer }));
    assert.deepEqual(plain.outputNames, ['species', 'sex', 'body_mass_g']);
    plain.dispose();
    assert.deepEqual(page.problems, []);
  });

  it('a model POSTed from the page to an http URL loads in Node with the same outputs', async () => {
    const trained = (await page.run('load', { source: `${page.server.url}/models/downloaded/model.json`, rows })) as OutputsResult;
    const info = (await page.run('save', `${page.server.url}/save/page-model`)) as { modelTopologyType?: string };
    assert.equal(info.modelTopologyType, 'JSON');
    const loaded = await loadModel(join(dir, 'posted', 'page-model'));
    assert.equal(closeTo(trained.outputs, toArrays(loaded.predictOutputs(rows)), TOLERANCE), undefined);
    loaded.dispose();
    assert.deepEqual(page.problems, []);
  });

  for (const location of ['indexeddb://multiloss-test', 'localstorage://multiloss-test']) {
    it(`${location.split(':')[0]}:// round-trips in the page with identical outputs`, async () => {
      const saved = (await page.run('save', location)) as { modelTopologyType?: string };
      assert.equal(saved.modelTopologyType, 'JSON');
      const a = (await page.run('load', { source: `${page.server.url}/models/downloaded/model.json` })) as OutputsResult;
      const b = (await page.run('load', { source: location })) as OutputsResult;
      assert.equal(a.outputs?.length, 3, JSON.stringify(a).slice(0, 200));
      assert.deepEqual(b.outputs, a.outputs);
      assert.deepEqual(page.problems, []);
    });
  }

  it('bad locations and models without multiloss metadata are one-line errors', async () => {
    assert.deepEqual(await page.run('load', { source: 'nosuch://x' }), {
      error: 'nosuch://x: no tfjs handler can load a model there (use downloads://, indexeddb:// or localstorage:// in a page, an http(s):// URL, or a tf.io.IOHandler)',
      kind: 'io',
    });
    const missing = (await page.run('load', { source: `${page.server.url}/models/none/model.json` })) as { error: string; kind: string };
    assert.equal(missing.kind, 'io');
    assert.match(missing.error, /^cannot load model from http:\/\/127\.0\.0\.1:\d+\/models\/none\/model\.json: .*404/);
    page.problems.length = 0; // the 404 above is expected

    // A plain tfjs model (no userDefinedMetadata) in Node, through an IO handler.
    const { modelJson, weightData } = await nodeModel.toArtifacts();
    const plain = tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData });
    await assert.rejects(loadModelFrom(plain), { name: 'MultilossError', message: 'the given IO handler: model.json has no multiloss metadata (userDefinedMetadata.multiloss); it is a plain tfjs model, not one saved by multiloss' });
    await assert.rejects(saveModelTo(nodeModel, 'indexeddb://x'), { name: 'MultilossError', message: /^indexeddb:\/\/x: no tfjs handler can save a model there/ });
  });
});
