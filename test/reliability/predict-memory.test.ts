/**
 * Bounded memory: `multiloss predict` streams a 1,000,000-row CSV (read,
 * predicted and written in batches) with a peak RSS under 500 MB, and its
 * output equals a small file's for the same rows. Slow (about 30 s).
 *
 * The child's peak RSS comes from a wrapper that runs the CLI and prints
 * `process.resourceUsage().maxRSS` (getrusage) when it exits.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { writePenguinCsv } from '../../bench/synthetic-penguins.js';
import { cli, PENGUINS_CONFIG, ROOT, tempDir } from '../helpers.js';

const ROWS = 1_000_000;
const LIMIT_MB = 500;
const dir = tempDir('multiloss-memory-');
const model = join(dir, 'model');
const big = join(dir, 'big.csv');
const small = join(dir, 'small.csv');
const wrapper = join(dir, 'rss.mjs');


/** Runs the CLI through the wrapper; resolves with the exit code and the peak RSS in MB. */
function predict(data: string, out: string): Promise<{ code: number | null; stderr: string; maxRssMb: number; seconds: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', wrapper, 'predict', model, data, '--out', out], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      const m = /^maxRSS (\d+)$/m.exec(stderr);
      resolve({ code, stderr, maxRssMb: m ? Number(m[1]) / 1024 : NaN, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

function countLines(path: string): number {
  const b = readFileSync(path);
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

describe(`predict streams a ${ROWS.toLocaleString('en')}-row CSV in bounded memory`, { timeout: 300_000 }, () => {
  before(() => {
    const r = cli(['train', '--config', PENGUINS_CONFIG, '--epochs', '2', '--out', model, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    writeFileSync(wrapper, `process.on('exit', () => process.stderr.write('maxRSS ' + process.resourceUsage().maxRSS + '\\n'));\nawait import(${JSON.stringify(pathToFileURL(join(ROOT, 'src', 'cli', 'main.ts')).href)});\n`);
    writePenguinCsv(big, ROWS, false);
    writePenguinCsv(small, 1000, false);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`peak RSS under ${LIMIT_MB} MB, every row predicted, the same predictions as a small file`, async () => {
    const smallOut = join(dir, 'small-out.csv');
    const s = await predict(small, smallOut);
    assert.equal(s.code, 0, s.stderr);
    const bigOut = join(dir, 'big-out.csv');
    const b = await predict(big, bigOut);
    assert.equal(b.code, 0, b.stderr);
    process.stderr.write(
      `predict memory: 1,000 rows peak RSS ${s.maxRssMb.toFixed(0)} MB (${s.seconds.toFixed(1)} s); ${ROWS.toLocaleString('en')} rows peak RSS ${b.maxRssMb.toFixed(0)} MB (${b.seconds.toFixed(1)} s, ${Math.round(ROWS / b.seconds).toLocaleString('en')} rows/s including start-up)\n`,
    );
    assert.ok(Number.isFinite(b.maxRssMb), 'the wrapper reported the peak RSS');
    assert.ok(b.maxRssMb < LIMIT_MB, `peak RSS ${b.maxRssMb.toFixed(0)} MB`);
    assert.equal(countLines(bigOut), ROWS + 1);
    const head = readFileSync(bigOut).subarray(0, 2_000_000).toString('utf8').split('\n').slice(0, 1001);
    assert.deepEqual(head, readFileSync(smallOut, 'utf8').split('\n').slice(0, 1001));
  });

  it('SIGINT during a streamed prediction: exit 130, no output file, no temporary file', async () => {
    const out = join(dir, 'interrupted.csv');
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'predict', model, big, '--out', out], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Signal once the temporary output exists: predictions are being written.
    const temp = () => readdirSync(dir).some((f) => f.startsWith('.interrupted.csv.tmp-'));
    while (!temp() && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const code = await closed;
    assert.equal(code, 130, stderr);
    assert.match(stderr.trim(), /^multiloss: SIGINT: prediction interrupted after \d+ rows; \S+interrupted\.csv was not written$/);
    assert.equal(existsSync(out), false);
    assert.equal(temp(), false);
  });
});
