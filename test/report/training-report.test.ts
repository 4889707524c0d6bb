import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { MultilossError } from '../../src/errors.js';
import { checkReportPath, writeTrainingReport } from '../../src/io/report-file.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { buildTrainingReport } from '../../src/report/index.js';
import { fitModel } from '../../src/training/fit.js';
import { cli, penguins, PENGUINS, PENGUINS_CONFIG, tempDir, useDefaultBackend } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The example config with a short budget and gradient diagnostics on, as JSON in `dir`. */
function shortPenguinsConfig(dir: string, epochs = 8): string {
  const config = parse(readFileSync(PENGUINS_CONFIG, 'utf8')) as Record<string, unknown> & { training: Record<string, unknown> };
  config.data = PENGUINS;
  config.training.epochs = epochs;
  config.training.diagnostics = true;
  delete config.out;
  const file = join(dir, 'penguins.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

interface ChartCheck {
  id: string;
  kind: string;
  head: string | null;
  svgWidth: number;
  svgHeight: number;
  marks: number;
  drawn: number;
  box: { width: number; height: number };
}

/** Every chart of the page: its size and how much of its data marks is drawn. */
async function measureCharts(page: Page): Promise<ChartCheck[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('figure.chart')).map((fig) => {
      const svg = fig.querySelector('svg');
      const r = svg?.getBoundingClientRect();
      // Data marks (lines, points, cells, labels), not axes, legends or titles.
      const marks = svg ? Array.from(svg.querySelectorAll('g.role-mark > *')) : [];
      const boxes = marks.map((m) => m.getBoundingClientRect()).filter((b) => b.width > 0 || b.height > 0);
      const left = Math.min(...boxes.map((b) => b.left));
      const right = Math.max(...boxes.map((b) => b.right));
      const top = Math.min(...boxes.map((b) => b.top));
      const bottom = Math.max(...boxes.map((b) => b.bottom));
      return {
        id: fig.id,
        kind: fig.getAttribute('data-chart') ?? '',
        head: fig.getAttribute('data-head'),
        svgWidth: r?.width ?? 0,
        svgHeight: r?.height ?? 0,
        marks: marks.length,
        drawn: boxes.length,
        box: boxes.length ? { width: right - left, height: bottom - top } : { width: 0, height: 0 },
      };
    }),
  );
}

/** Asserts that every chart is drawn: an svg of a real size with marks spanning more than a dot. */
function assertDrawn(charts: readonly ChartCheck[]): void {
  for (const c of charts) {
    const what = `${c.id} (${c.kind}${c.head ? ` ${c.head}` : ''})`;
    assert.ok(c.svgWidth > 100 && c.svgHeight > 50, `${what}: svg ${c.svgWidth}×${c.svgHeight}`);
    assert.ok(c.drawn > 0, `${what}: none of its ${c.marks} marks has a non-empty bounding box`);
    // Non-empty in both directions (a flat line still has its point markers), and more than a dot.
    assert.ok(c.box.width > 0 && c.box.height > 0 && Math.max(c.box.width, c.box.height) > 20, `${what}: marks span only ${c.box.width}×${c.box.height} px`);
  }
}

describe('training report: penguins trained through the CLI with --report, opened in headless chromium', () => {
  const dir = tempDir('multiloss-report-');
  const report = join(dir, 'report.html');
  const screenshot = join(dir, 'training-report.png');
  let html: string;

  before(() => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
    const r = cli(['train', '--config', shortPenguinsConfig(dir), '--out', join(dir, 'model'), '--report', report, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    html = readFileSync(report, 'utf8');
  });

  it('writes one self-contained HTML file, atomically (nothing else left in the directory)', () => {
    assert.match(html, /^<!DOCTYPE html>/);
    assert.ok(html.trimEnd().endsWith('</html>'));
    assert.doesNotMatch(html, /<script|<link|<iframe|<img|@import/i, 'no scripts or external resources');
    assert.doesNotMatch(html, /\b(src|href)="(?!#)/, 'only in-page links');
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]).filter((u) => !u.startsWith('http://www.w3.org/'));
    assert.deepEqual(urls, [], 'no URLs but XML namespaces');
    assert.deepEqual(readdirSync(dir).sort(), ['model', 'penguins.json', 'report.html']);
    for (const text of ['species', 'sex', 'body_mass_g', 'Final metrics', 'Gradient cosine similarity', 'confusion matrix', 'predicted vs actual']) {
      assert.ok(html.includes(text), text);
    }
  });

  it('every chart renders with a visible drawing, without console errors or requests, and a screenshot is saved', async (t) => {
    const profile = mkdtempSync(join(tmpdir(), 'multiloss-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(report).href;
      await page.goto(url, { waitUntil: 'load' });

      const charts = await measureCharts(page);
      const kinds = charts.map((c) => (c.head ? `${c.kind}:${c.head}` : c.kind));
      const expected = [
        'loss:species',
        'loss:sex',
        'loss:body_mass_g',
        'loss-total',
        'metric:species',
        'metric:sex',
        'metric:body_mass_g',
        'weights',
        'learning-rate',
        'cosine',
        'grad-norm',
        'confusion:species',
        'confusion:sex',
        'scatter:body_mass_g',
      ];
      for (const k of expected) assert.ok(kinds.includes(k), `chart ${k} missing; charts: ${kinds.join(', ')}`);
      assert.equal(kinds.filter((k) => k.startsWith('metric:')).length, 9, 'three metrics per head');
      assertDrawn(charts);
      // A confusion matrix has K² cells with K² counts printed in them.
      const cells = await page.evaluate(() => {
        const fig = document.querySelector('figure[data-chart="confusion"][data-head="species"]');
        return { rects: fig?.querySelectorAll('g.mark-rect.role-mark > path').length, texts: fig?.querySelectorAll('g.mark-text.role-mark > text').length };
      });
      assert.deepEqual(cells, { rects: 9, texts: 9 });
      // Nothing overflows the page sideways.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than the window`);

      await page.screenshot({ path: screenshot, fullPage: true });
      assert.deepEqual(problems, []);
      assert.deepEqual(requests, [url], 'the page loads nothing but itself');
      assert.ok(statSync(screenshot).size > 50_000, 'a full-page screenshot');
      t.diagnostic(`screenshot: ${screenshot}`);
    } finally {
      await context.close();
    }
  });

  it('a report path in a directory that does not exist: one-line error, exit 2, before training', () => {
    const out = join(dir, 'never');
    const missing = join(dir, 'no-such-dir', 'report.html');
    const started = Date.now();
    const r = cli(['train', '--config', join(dir, 'penguins.json'), '--out', out, '--report', missing]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^multiloss: report .*no-such-dir.*report\.html: directory .*no-such-dir does not exist\n$/);
    assert.ok(!existsSync(out), 'no model written');
    assert.ok(Date.now() - started < 60_000);
  });
});

describe('training report of a gradient method (pcgrad through the CLI), in headless chromium', () => {
  const dir = tempDir('multiloss-report-grad-');
  const report = join(dir, 'report.html');
  let stderr: string;

  before(() => {
    const r = cli(['train', '--config', shortPenguinsConfig(dir, 4), '--balance', 'pcgrad', '--out', join(dir, 'model'), '--report', report]);
    assert.equal(r.status, 0, r.stderr);
    stderr = r.stderr;
  });

  it('the log names the total: the unweighted sum of the head losses', () => {
    const lines = stderr.split('\n').filter((l) => l.startsWith('epoch '));
    assert.equal(lines.length, 4, stderr);
    for (const l of lines) assert.match(l, /^epoch \d\/4 {2}loss \(sum\) \S+ {2}val \S+ /);
  });

  it('info names the total and shows the last epoch\'s shares of the update, not coefficients', () => {
    const r = cli(['info', join(dir, 'model')]);
    assert.equal(r.status, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.startsWith('balance '));
    assert.match(line ?? '', /^balance {6}pcgrad \(total: unweighted sum of head losses; last epoch's share of the update: species (\S+), sex (\S+), body_mass_g (\S+)\)$/);
    const shares = [...(line ?? '').matchAll(/ (\d\.\d{4})(?=[,)])/g)].map((m) => Number(m[1]));
    assert.equal(shares.length, 3, line);
    assert.ok(shares.every((x) => x >= 0 && x <= 1) && Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-3, line);
  });

  it('shows what the updates did to each head, bounded, instead of raw coefficients; every chart is drawn', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'multiloss-chromium-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
      const charts = await measureCharts(page);
      const kinds = charts.map((c) => c.kind);
      for (const k of ['loss-total', 'update-share', 'update-cosine', 'learning-rate', 'cosine']) assert.ok(kinds.includes(k), `chart ${k} missing; charts: ${kinds.join(', ')}`);
      assert.ok(!kinds.includes('weights'), 'no chart of raw coefficients as weights');
      assertDrawn(charts);
      // The heads table: weight in the total (1), share in [0, 1], cosine in [−1, 1].
      const table = await page.evaluate(() => {
        const grid = Array.from(document.querySelectorAll('#summary table.grid')).find((t) => t.querySelector('th')?.textContent === 'head');
        const head = Array.from(grid?.querySelectorAll('thead th') ?? []).map((th) => th.textContent ?? '');
        const rows = Array.from(grid?.querySelectorAll('tbody tr') ?? []).map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? ''));
        return { head, rows };
      });
      assert.deepEqual(table.head.slice(5), ['weight in total', 'share of update', 'cos(gradient, update)', 'decrease vs sum']);
      assert.equal(table.rows.length, 3);
      let shares = 0;
      for (const row of table.rows) {
        const [weight, share, cosine, decrease] = row.slice(5).map(Number);
        assert.equal(weight, 1, row.join(' | '));
        assert.ok(share >= 0 && share <= 1 && cosine >= -1 && cosine <= 1 && Number.isFinite(decrease), row.join(' | '));
        shares += share;
      }
      assert.ok(Math.abs(shares - 1) < 0.01, `shares sum to ${shares}`);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe('training report: library', () => {
  let model: MultilossModel;
  let separate: MultilossModel[];
  const weird = 'mass <b>"g" & co</b>';

  before(async () => {
    await useDefaultBackend();
    const table = penguins();
    const base = parse(readFileSync(PENGUINS_CONFIG, 'utf8')) as Record<string, unknown> & { targets: Record<string, unknown>[]; training: Record<string, unknown> };
    delete base.out;
    const fit = (targets: Record<string, unknown>[], epochs: number, diagnostics: boolean) =>
      fitModel(resolveConfig(parseConfig({ ...base, targets, training: { ...base.training, epochs, diagnostics } }, 'test')), { table });
    const [species, sex, mass] = base.targets;
    model = await fit([species, sex, { ...mass, name: weird }], 3, false);
    separate = [await fit([species], 3, false), await fit([mass], 2, false)];
  });

  it('escapes every text and notes what it cannot show', async () => {
    const html = await buildTrainingReport(model, { title: 'Run <1> & "two"' });
    assert.ok(html.includes('<title>Run &lt;1&gt; &amp; &quot;two&quot;</title>'));
    assert.ok(!html.includes(weird), 'head name escaped everywhere');
    assert.ok(html.includes('mass &lt;b&gt;&quot;g&quot; &amp; co&lt;/b&gt;'), 'in HTML text');
    assert.ok(html.includes('data-head="mass &lt;b&gt;&quot;g&quot; &amp; co&lt;/b&gt;"'), 'in attributes');
    assert.doesNotMatch(html, /<b>"g"/);
    assert.match(html, /Not recorded for this run \(set training\.diagnostics: true/);
    assert.match(html, /No validation data was given/);
    assert.ok(!html.includes('data-chart="confusion"'));
    assert.doesNotMatch(html, /NaN|undefined/);
    // Unique ids across the inline SVGs (clip paths, gradients).
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length, 'duplicate ids');
  });

  it('separate models: every head, merged by epoch, with predictions per model', async () => {
    const validation = penguins();
    const html = await buildTrainingReport({ models: separate }, { validation });
    assert.match(html, /2 separate models/);
    assert.equal([...html.matchAll(/data-chart="loss" data-head="(species|body_mass_g)"/g)].length, 2);
    assert.ok(html.includes('data-chart="confusion" data-head="species"'));
    assert.ok(html.includes('data-chart="scatter" data-head="body_mass_g"'));
    assert.match(html, /Separate models share no trunk/);
    assert.ok(!html.includes('data-chart="weights"') && html.includes('data-chart="learning-rate"'));
    assert.doesNotMatch(html, /NaN|undefined/);
  });

  it('checkReportPath and writeTrainingReport', async () => {
    const dir = tempDir('multiloss-report-lib-');
    assert.throws(
      () => checkReportPath(join(dir, 'missing', 'r.html')),
      (e: unknown) => e instanceof MultilossError && e.kind === 'io' && /missing.*does not exist$/.test(e.message),
    );
    assert.throws(() => checkReportPath(dir), /is a directory/);
    const file = join(dir, 'r.html');
    assert.equal(checkReportPath(file), file);
    assert.equal(await writeTrainingReport(model, file), file);
    assert.match(readFileSync(file, 'utf8'), /^<!DOCTYPE html>/);
    assert.deepEqual(readdirSync(dir), ['r.html']);
  });
});
