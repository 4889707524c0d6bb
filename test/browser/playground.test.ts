/**
 * The playground (examples/playground), built with esbuild from the browser
 * entry, served on 127.0.0.1 and driven in Debian's headless Chromium: bad
 * input gets the CLI's one-line messages, penguins load through the file
 * input and train three heads in the worker with the report's charts drawn
 * live, a typed row is predicted, the downloaded model loads in the Node CLI
 * and predicts the same, and the stop button stops a long run.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { cli, PENGUINS, ROOT, tempDir } from '../helpers.js';
import { servePlayground } from '../../examples/playground/serve.js';
import { CHROMIUM, openPage, type BrowserSession } from './harness.js';

const TARGETS: [string, string][] = [
  ['Species', 'classification'],
  ['Sex', 'binary'],
  ['Body Mass (g)', 'regression'],
];
const EPOCHS = 6;

interface DrawnChart {
  kind: string;
  head: string | null;
  /** Data marks (lines, points) with a visible extent. */
  drawn: number;
  /** Point markers. */
  points: number;
  /** Width and height of the region the marks cover, in pixels. */
  width: number;
  height: number;
}

/** What the charts on the page draw (the SVG's mark elements, not just the elements' presence). */
function drawnCharts(page: Page): Promise<DrawnChart[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('figure.chart')).map((fig) => {
      const marks = Array.from(fig.querySelectorAll('svg g.role-mark > *'));
      const boxes = marks.map((m) => m.getBoundingClientRect()).filter((b) => b.width > 0 || b.height > 0);
      // (no named functions in here: tsx would wrap them in a helper the page does not have)
      const left = Math.min(...boxes.map((b) => b.left));
      const top = Math.min(...boxes.map((b) => b.top));
      return {
        kind: fig.getAttribute('data-chart') ?? '',
        head: fig.getAttribute('data-head'),
        drawn: boxes.length,
        points: fig.querySelectorAll('svg g.mark-symbol.role-mark > path').length,
        width: boxes.length ? Math.max(...boxes.map((b) => b.right)) - left : 0,
        height: boxes.length ? Math.max(...boxes.map((b) => b.bottom)) - top : 0,
      };
    }),
  );
}

/** The CLI's one-line message for `args` (exit code 2), without its "multiloss: " prefix. */
function cliMessage(args: string[]): string {
  const r = cli(args);
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  return lines[0].replace(/^multiloss: /, '');
}

/** Runs `npm run playground` on a free port, building into `out`; resolves once it prints its URL. */
function startPlayground(out: string): Promise<{ url: string; stop: () => void }> {
  // Its own process group, so that npm and the server it starts end together.
  const child = spawn('npm', ['run', '--silent', 'playground', '--', '--port', '0', '--out', out], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = () => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  };
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /multiloss playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
      if (m) resolve({ url: m[1], stop });
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => reject(new Error(`npm run playground exited with ${code}: ${stderr}`)));
  });
}

async function pageError(page: Page): Promise<string> {
  await page.waitForSelector('#error:not([hidden])');
  return (await page.textContent('#error')) ?? '';
}

describe('npm run playground, driven in headless chromium', () => {
  const dir = tempDir('multiloss-playground-');
  const site = join(dir, 'site');
  let running: { url: string; stop: () => void };
  let session: BrowserSession;
  /** Tensors alive in the worker after the first model: a later model of the same shape leaves as many (no leaks). */
  let tensorsAfterFirstRun = 0;
  let page: Page;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
    writeFileSync(join(dir, 'secret.txt'), 'outside the site');
    running = await startPlayground(site);
    session = await openPage(running.url, { downloads: true });
    page = session.page;
    page.setDefaultTimeout(30_000);
    page.on('requestfailed', (r) => session.problems.push(`request failed: ${r.url()}`));
    await page.waitForFunction(() => /backend/.test(document.getElementById('engine')?.textContent ?? ''));
    // wasm unless ?backend= says otherwise (test 7 checks cpu).
    assert.match((await page.textContent('#engine')) ?? '', /^multiloss \S+ · wasm( \(SIMD\))? backend in a Web Worker$/);
  });

  after(async () => {
    await session?.close();
    running?.stop();
  });

  it('serves the site on 127.0.0.1 with the wasm files and the penguins; nothing outside the site', async () => {
    const url = running.url;
    const index = await get(url, '/');
    assert.equal(index.status, 200);
    assert.match(index.type, /^text\/html/);
    assert.match(index.body.toString(), /<script type="module" src="main.js">/);
    for (const [path, type] of [['/main.js', /^text\/javascript/], ['/worker.js', /^text\/javascript/], ['/wasm/tfjs-backend-wasm-simd.wasm', /^application\/wasm$/], ['/data/penguins.json', /^application\/json/]] as const) {
      const r = await get(url, path);
      assert.equal(r.status, 200, path);
      assert.match(r.type, type, path);
    }
    assert.deepEqual(JSON.parse((await get(url, '/data/penguins.json')).body.toString()), JSON.parse(readFileSync(PENGUINS, 'utf8')));
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt', '/nothing-here.js']) assert.equal((await get(url, path)).status, 404, path);
  });

  it('a bad file gets the CLI\'s one-line message, and nothing else is shown', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,2\n3\n');
    const expected = cliMessage(['train', '--data', bad, '--target', 'a:regression']).replaceAll(bad, 'bad.csv');
    await page.setInputFiles('#file', bad);
    assert.equal(await pageError(page), expected);
    assert.equal(await page.isHidden('#columns-section'), true, 'no columns of a file that did not load');

    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '  \n');
    const emptyMessage = cliMessage(['train', '--data', empty, '--target', 'a:regression']).replaceAll(empty, 'empty.json');
    await page.setInputFiles('#file', empty);
    await page.waitForFunction((m) => document.getElementById('error')?.textContent === m, emptyMessage);
  });

  it('no target picked, and a non-numeric regression target, are one-line errors too', async () => {
    await page.setInputFiles('#file', PENGUINS);
    await page.waitForSelector('#columns tbody tr');
    assert.equal(await page.isHidden('#error'), true, 'a good file clears the error');
    await page.click('#train');
    assert.match(await pageError(page), /^no targets: pick at least one column as a target$/);

    await page.selectOption('tr[data-column="Species"] select.role', 'target');
    await page.selectOption('tr[data-column="Species"] select.kind', 'regression');
    await page.click('#train');
    const expected = cliMessage(['train', '--data', PENGUINS, '--target', 'Species:regression', '--quiet']).replaceAll(PENGUINS, 'penguins.json');
    await page.waitForFunction((m) => document.getElementById('error')?.textContent === m, expected);
    assert.equal(await page.isDisabled('#train'), false, 'the page can train again');
  });

  it('penguins from the file input train three heads in the worker, with the report\'s charts drawn', async () => {
    await page.setInputFiles('#file', PENGUINS);
    await page.waitForSelector('#columns tbody tr');
    await page.fill('#missing', '.');
    for (const [column, kind] of TARGETS) {
      await page.selectOption(`tr[data-column="${column}"] select.role`, 'target');
      await page.selectOption(`tr[data-column="${column}"] select.kind`, kind);
    }
    await page.selectOption('#architecture', 'mmoe');
    await page.selectOption('#method', 'pcgrad');
    await page.fill('#epochs', String(EPOCHS));
    await page.click('#train');
    await page.waitForSelector('#predict-section:not([hidden])');
    assert.equal(await page.isHidden('#error'), true, (await page.textContent('#error')) ?? '');
    assert.match((await page.textContent('#status')) ?? '', new RegExp(`^done after ${EPOCHS} epochs`));
    assert.match((await page.textContent('#final-metrics')) ?? '', /Species[\s\S]*accuracy[\s\S]*R²/);
    tensorsAfterFirstRun = Number(await page.getAttribute('#status', 'data-tensors'));
    assert.ok(tensorsAfterFirstRun > 0);

    const charts = await drawnCharts(page);
    const kinds = charts.map((c) => (c.head ? `${c.kind}:${c.head}` : c.kind));
    for (const k of ['loss:Species', 'loss:Sex', 'loss:Body Mass (g)', 'loss-total', 'metric:Species', 'metric:Sex', 'metric:Body Mass (g)', 'update-share', 'update-cosine', 'learning-rate', 'cosine', 'grad-norm']) {
      assert.ok(kinds.includes(k), `chart ${k} missing; charts: ${kinds.join(', ')}`);
    }
    for (const c of charts) {
      // Flat lines (a constant learning rate, static weights) are a few pixels high; falling losses are not.
      assert.ok(c.drawn > 0 && c.width > 50 && (c.height > 10 || !c.kind.startsWith('loss')), `chart ${c.kind}:${c.head} has no visible drawing: ${JSON.stringify(c)}`);
    }
    // One marker per epoch and split on every per-head loss curve: every epoch log reached its chart.
    for (const c of charts.filter((x) => x.kind === 'loss')) assert.equal(c.points, EPOCHS * 2, `${c.head}: ${c.points} points`);
    for (const c of charts.filter((x) => x.kind === 'cosine')) assert.equal(c.points, EPOCHS * 3, `cosine: one point per epoch and pair of heads`);
  });

  it('the downloaded model loads in the Node CLI and predicts what the page predicts', async () => {
    const rows: Record<string, string | number>[] = [];
    const pagePredictions: unknown[] = [];
    for (const change of [{}, { Island: 'Dream', 'Flipper Length (mm)': '185', 'Beak Length (mm)': '49.5' }]) {
      for (const [name, value] of Object.entries(change)) {
        const field = page.locator(`#predict-fields [name="${name}"]`);
        if ((await field.evaluate((e) => e.tagName)) === 'SELECT') await field.selectOption(value);
        else await field.fill(value);
      }
      const row = await page.evaluate(() => Object.fromEntries(Array.from(document.querySelectorAll<HTMLInputElement>('#predict-fields [name]')).map((e) => [e.name, e.value])));
      await page.evaluate(() => (document.getElementById('prediction-json') as HTMLElement).replaceChildren());
      await page.click('#predict-form button[type=submit]');
      await page.waitForFunction(() => (document.getElementById('prediction-json')?.textContent ?? '') !== '');
      pagePredictions.push(JSON.parse((await page.textContent('#prediction-json')) as string));
      rows.push(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v])));
    }
    assert.notDeepEqual(pagePredictions[0], pagePredictions[1], 'two different rows');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'penguins.tar');
    const tar = join(dir, 'penguins.tar');
    await download.saveAs(tar);
    const out = join(dir, 'unpacked');
    mkdirSync(out);
    const untar = spawnSync('tar', ['xf', tar, '-C', out], { encoding: 'utf8' });
    assert.equal(untar.status, 0, untar.stderr);
    assert.deepEqual(readdirSync(join(out, 'penguins')).sort(), ['model.json', 'multiloss.json', 'weights.bin']);

    const data = join(dir, 'data.json');
    writeFileSync(data, JSON.stringify(rows));
    const r = cli(['predict', join(out, 'penguins'), data, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
    const nodePredictions = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    assert.equal(nodePredictions.length, 2);
    nodePredictions.forEach((p, i) => assertClose(p, pagePredictions[i], `row ${i + 1}`));
    const info = JSON.parse(readFileSync(join(out, 'penguins', 'multiloss.json'), 'utf8')) as { history: unknown[]; balance: { method: string }; config: { architecture: { kind: string } } };
    assert.equal(info.history.length, EPOCHS);
    assert.equal(info.balance.method, 'pcgrad');
    assert.equal(info.config.architecture.kind, 'mmoe');
  });

  it('the stop button ends a long run after the current epoch; the stopped model still predicts', async () => {
    await page.fill('#epochs', '2000');
    await page.click('#train');
    await page.waitForFunction(() => /^epoch ([3-9]|\d\d+) of 2000/.test(document.getElementById('status')?.textContent ?? ''));
    // The page stays responsive while the worker trains.
    assert.equal(await page.evaluate(() => 6 * 7), 42);
    await page.click('#stop');
    await page.waitForFunction(() => /^stopped after \d+ epochs/.test(document.getElementById('status')?.textContent ?? ''));
    const epochs = Number(/after (\d+) epochs/.exec((await page.textContent('#status')) ?? '')?.[1]);
    assert.ok(epochs >= 2 && epochs < 2000, `stopped after ${epochs} epochs`);
    assert.equal(await page.isEnabled('#train'), true);
    assert.equal(await page.isDisabled('#stop'), true);
    assert.equal(Number(await page.getAttribute('#status', 'data-tensors')), tensorsAfterFirstRun, 'tensors left in the worker after a second, stopped run');
    await page.evaluate(() => (document.getElementById('prediction-json') as HTMLElement).replaceChildren());
    await page.click('#predict-form button[type=submit]');
    await page.waitForFunction(() => (document.getElementById('prediction-json')?.textContent ?? '') !== '');
    const charts = await drawnCharts(page);
    for (const c of charts.filter((x) => x.kind === 'loss')) assert.equal(c.points, epochs * 2, `${c.head}: the charts show the stopped run's ${epochs} epochs`);
  });

  it('?backend=cpu picks the cpu backend; the bundled penguins load with the example\'s missing value', async () => {
    await page.goto(`${running.url}?backend=cpu`);
    await page.waitForFunction(() => /^multiloss \S+ · cpu backend in a Web Worker$/.test(document.getElementById('engine')?.textContent ?? ''));
    await page.click('#penguins');
    await page.waitForSelector('#columns tbody tr');
    assert.equal(await page.textContent('#data-summary'), '344 rows × 7 columns from penguins.json');
    assert.equal(await page.inputValue('#missing'), '.');
  });

  it('no console errors, page errors or failed requests', () => {
    assert.deepEqual(session.problems, []);
  });
});

/** Same labels; probabilities and numbers within 1e-5 (relative to the value's size when above 1). */
function assertClose(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected === 'number') {
    assert.equal(typeof actual, 'number', where);
    const tolerance = 1e-5 * Math.max(1, Math.abs(expected));
    assert.ok(Math.abs((actual as number) - expected) <= tolerance, `${where}: ${String(actual)} vs ${expected}`);
    return;
  }
  if (expected && typeof expected === 'object') {
    assert.ok(actual && typeof actual === 'object', where);
    assert.deepEqual(Object.keys(actual as object).sort(), Object.keys(expected).sort(), where);
    for (const [k, v] of Object.entries(expected)) assertClose((actual as Record<string, unknown>)[k], v, `${where}.${k}`);
    return;
  }
  assert.deepEqual(actual, expected, where);
}

/** A raw GET (no URL normalisation, unlike fetch), for paths that try to leave the site. */
function get(url: string, path: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(url), { path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('npm run playground -- --out', () => {
  it('serves on http://127.0.0.1:8080/ without --port, as the README says', async () => {
    const dir = tempDir('multiloss-playground-port-');
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>playground</title>');
    const running = await servePlayground(dir);
    try {
      assert.equal(running.url, 'http://127.0.0.1:8080/');
      const page = await get(running.url, '/');
      assert.equal(page.status, 200);
      assert.match(page.body.toString('utf8'), /<title>playground<\/title>/);
    } finally {
      await running.close();
    }
  });

  it('refuses to build into a folder that holds something else', () => {
    const dir = tempDir('multiloss-playground-out-');
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'playground', 'serve.ts'), '--build-only', '--out', dir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), `playground: ${dir}: the folder is not empty and holds no earlier playground build; give a new or empty folder (--out DIR)`);
    assert.deepEqual(readdirSync(dir), ['keep.txt']);
  });
});
