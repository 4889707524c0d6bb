/**
 * docs/browser.md's "A complete page" runs as written in Chromium: its <input> and module script
 * are served with the browser entry bundled as ./multiloss.bundle.js and the .wasm files at
 * /tfjs-wasm/; penguins is chosen in the file input; the page trains, logs the backend and the
 * validation metrics, and downloads model.json + model.weights.bin, which Node loads.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadModel } from '../../src/io/model-dir.js';
import { PENGUINS, tempDir, useDefaultBackend } from '../helpers.js';
import { bundleForBrowser, openPage, ROOT, startServer, WASM_DIR } from './harness.js';

describe('docs/browser.md', () => {
  it('the complete page example trains on a chosen file and downloads a model Node loads', async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'browser.md'), 'utf8');
    const html = /## A complete page\s+```html\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(html !== undefined, 'the example is in docs/browser.md');
    const server = await startServer();
    server.add('/example.html', { body: `<!doctype html><meta charset="utf-8">${html}`, type: 'text/html' });
    server.add('/multiloss.bundle.js', { body: await bundleForBrowser(`export * from ${JSON.stringify(join(ROOT, 'src', 'browser.ts'))};`, ROOT), type: 'text/javascript' });
    server.addDir('/tfjs-wasm/', WASM_DIR);
    const session = await openPage(server.url, { downloads: true });
    const dir = tempDir('multiloss-docs-page-');
    try {
      const { page } = session;
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      const saved: Promise<void>[] = [];
      page.on('download', (d) => saved.push(d.saveAs(join(dir, d.suggestedFilename()))));
      await page.goto(`${server.url}/example.html`, { waitUntil: 'load' });
      // The module script has run its top-level await (the backend) once the handler is set.
      await page.waitForFunction(() => (document.querySelector('#data') as HTMLInputElement | null)?.onchange !== null);
      const json = join(dir, 'penguins.json');
      writeFileSync(json, readFileSync(PENGUINS));
      await page.setInputFiles('#data', json);
      while (saved.length < 2 && session.problems.length === 0) await new Promise((ok) => setTimeout(ok, 50));
      await Promise.all(saved);
      assert.deepEqual(session.problems, []);
      assert.ok(logs.some((l) => /^wasm /.test(l)), `logged the backend: ${logs.join(' | ')}`);
      assert.deepEqual(readdirSync(dir).sort(), ['model.json', 'model.weights.bin', 'penguins.json']);
      await useDefaultBackend();
      const model = await loadModel(dir);
      const acc = (model.meta.metrics.validation?.heads.species.metrics.accuracy ?? 0);
      assert.ok(acc >= 0.9, `species accuracy ${acc}`);
      assert.equal(model.predict([{ Island: 'Biscoe', 'Beak Length (mm)': 45, 'Beak Depth (mm)': 15, 'Flipper Length (mm)': 220 }]).length, 1);
      model.dispose();
    } finally {
      await session.close();
      await server.close();
    }
  });
});
