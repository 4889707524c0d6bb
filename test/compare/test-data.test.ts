/**
 * `compare --test-data FILE`: the table, Δm and the report are computed on the
 * test file, validation still drives training (early stopping), and the
 * output says which data it shows. A bad test file is one line, exit 2,
 * before any training.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { compare, compareSplit, summarize, type CompareResult } from '../../src/compare/compare.js';
import { compareNotes, compareReportHtml, metricsDataLine } from '../../src/compare/report.js';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import type { Table } from '../../src/data/table.js';
import { readConfigFile } from '../../src/io/config-file.js';
import { assertRefused, cli, PENGUINS, penguins, PENGUINS_CONFIG, tempDir, useDefaultBackend } from '../helpers.js';

const METHODS = ['equal', 'famo'];

function penguinsConfig(): ResolvedConfig {
  const raw = readConfigFile(PENGUINS_CONFIG);
  raw.training = { ...(raw.training as object), epochs: 3, earlyStopping: { monitor: 'validation.loss', patience: 1 } };
  return resolveConfig(parseConfig(raw));
}

const options = { methods: METHODS, seeds: 2, workers: 0 } as const;
const figures = (r: CompareResult) => r.rows.map((row) => [row.label, row.heads, row.deltaM.values]);

describe('compare with test data', () => {
  const config = penguinsConfig();
  let onValidation: CompareResult;
  before(async () => {
    await useDefaultBackend();
    onValidation = await compare(config, { table: penguins() }, options);
  });

  it('the validation rows given as test data give the validation figures; other test rows give their own, without changing training', async () => {
    assert.equal(onValidation.metricsData?.data, 'validation');
    assert.match(metricsDataLine(onValidation), /^Metrics on the validation split of .*penguins\.json \(86 rows\)$/);
    const split = compareSplit(config, { table: penguins() });

    // The split's own validation rows as a test file: every run's test figures are its validation figures.
    const same = await compare(config, { table: penguins(), test: { ...split.validation, source: 'same.csv' } }, options);
    same.runs.forEach((r, i) => {
      assert.deepEqual(r.validation, onValidation.runs[i].validation, 'training is unchanged by test data');
      assert.ok(r.test);
      for (const [head, log] of Object.entries(r.validation.heads)) {
        for (const [metric, v] of Object.entries(log.metrics)) assert.ok(Math.abs((r.test.heads[head].metrics[metric] ?? NaN) - v) <= 1e-6 * Math.max(1, Math.abs(v)), `${r.label} ${head} ${metric}`);
      }
    });
    assert.deepEqual(same.metricsData, { data: 'test', source: 'same.csv', split: true, rows: 86 });

    // The training rows as test data: the table is theirs (higher accuracy than on validation here), Δm too.
    const trainRows: Table = { ...split.train, source: 'train-rows.csv' };
    const other = await compare(config, { table: penguins(), test: trainRows }, options);
    other.runs.forEach((r, i) => assert.deepEqual(r.validation, onValidation.runs[i].validation, 'validation drives training, test data does not'));
    assert.deepEqual(figures(other), figures({ ...other, ...summarize(other.heads, ['separate', ...METHODS], other.runs, 'test') }));
    assert.notDeepEqual(figures(other), figures({ ...other, ...summarize(other.heads, ['separate', ...METHODS], other.runs, 'validation') }));
    assert.deepEqual(figures(onValidation), figures({ ...other, ...summarize(other.heads, ['separate', ...METHODS], other.runs, 'validation') }));
    assert.equal(other.metricsData?.rows, split.train.length);
    assert.match(compareNotes(other)[0], /^Metrics on test data train-rows\.csv \(258 rows\) after at most 3 epochs, .*validation driving early stopping\.$/);
    const html = await compareReportHtml(other);
    assert.ok(html.includes('<p class="sub">Metrics on test data train-rows.csv (258 rows)</p>'));
  });
});

describe('compare --test-data through the CLI', () => {
  const dir = tempDir('multiloss-compare-test-');
  const rows = JSON.parse(readFileSync(PENGUINS, 'utf8')) as Record<string, unknown>[];
  const file = (name: string, content: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };
  const base = ['compare', '--config', PENGUINS_CONFIG, '--epochs', '2', '--seeds', '1', '--methods', 'equal', '--workers', '0', '--backend', 'wasm'];

  /** Bad input: exit code 2, one stderr line matching `pattern`, nothing on stdout, the JSON not written. */
  function expectBad(testData: string, pattern: RegExp): void {
    const json = join(dir, 'bad.json');
    assertRefused(cli([...base, '--test-data', testData, '--json', json]), pattern);
    assert.equal(existsSync(json), false);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  }

  it('the table, JSON and report say they show the test file', () => {
    const test = file('test.json', rows.filter((_, i) => i % 3 === 0));
    const json = join(dir, 'c.json');
    const report = join(dir, 'c.html');
    const r = cli([...base, '--test-data', test, '--json', json, '--report', report]);
    assert.equal(r.status, 0, r.stderr);
    const n = rows.filter((_, i) => i % 3 === 0).filter((row) => row.Species !== null || row.Sex !== null || row['Body Mass (g)'] !== null).length;
    assert.ok(r.stdout.includes(`\nMetrics on test data ${test} (${n} rows) after at most 2 epochs`), r.stdout);
    const saved = JSON.parse(readFileSync(json, 'utf8')) as CompareResult & { testData: string };
    assert.equal(saved.testData, test);
    assert.deepEqual(saved.metricsData, { data: 'test', source: test, split: true, rows: n });
    assert.ok(saved.runs.every((run) => run.test && run.validation));
    assert.ok(readFileSync(report, 'utf8').includes(`Metrics on test data ${test} (${n} rows)`));
  });

  it('a bad test file: unreadable, a missing target or feature column, an unknown class label', () => {
    expectBad(join(dir, 'nope.csv'), /nope\.csv: no such file/);
    const noTarget = file('no-target.json', rows.slice(0, 20).map(({ Sex: _sex, Species: _species, ['Body Mass (g)']: _mass, ...rest }) => rest));
    expectBad(noTarget, /no-target\.json: .*"Species"/);
    const noFeature = file('no-feature.json', rows.slice(0, 20).map(({ Island: _island, ...rest }) => rest));
    expectBad(noFeature, /no-feature\.json: .*"Island"/);
    const unknown = file('unknown.json', rows.slice(0, 20).map((row, i) => (i === 7 ? { ...row, Species: 'Emperor' } : row)));
    expectBad(unknown, /unknown\.json: .*"Emperor"/);
  });
});
