/**
 * `multiloss train --stream`: trains from a file read in chunks (one pass to
 * fit the preprocessing and heads, one per epoch to train), so memory stays
 * flat in the number of rows. Slow (about 1–2 min): a 1,000,000-row CSV is
 * trained with a peak RSS far below what reading it whole takes (~1.7 GB for
 * this file); a run interrupted with SIGINT resumes to the weights of an
 * uninterrupted streaming run; a malformed row deep in a file is a one-line
 * error with exit 2 and nothing written.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import { loadModel } from '../../src/io/model-dir.js';
import { penguinRow, writePenguinCsv } from '../../bench/synthetic-penguins.js';
import { cli, ROOT, tempDir } from '../helpers.js';

const ROWS = 1_000_000;
const LIMIT_MB = 600;
const dir = tempDir('multiloss-train-stream-');
const wrapper = join(dir, 'rss.mjs');
const writeCsv = (path: string, rows: number, bad?: { at: number; line: string }) => writePenguinCsv(path, rows, true, bad);
const row = (i: number) => penguinRow(i, true);

function config(data: string, extra: Record<string, unknown> = {}): string {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  const targets = [
    { name: 'species', column: 'Species', kind: 'classification' },
    { name: 'sex', column: 'Sex', kind: 'binary' },
    { name: 'mass', column: 'Body Mass (g)', kind: 'regression' },
  ];
  writeFileSync(path, JSON.stringify({ data, targets, model: { trunk: [32, 16] }, ...extra }));
  return path;
}

/** Runs the CLI through the RSS wrapper. `onStderr` sees the output as it comes (to send a signal). */
function run(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; stderr: string; maxRssMb: number; seconds: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', wrapper, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, child);
    });
    child.on('close', (code) => {
      const m = /^maxRSS (\d+)$/m.exec(stderr);
      resolve({ code, stderr: stderr.replace(/^maxRSS \d+\n?/m, ''), maxRssMb: m ? Number(m[1]) / 1024 : NaN, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

describe('train --stream', { timeout: 600_000 }, () => {
  before(async () => {
    writeFileSync(wrapper, `process.on('exit', () => process.stderr.write('maxRSS ' + process.resourceUsage().maxRSS + '\\n'));\nawait import(${JSON.stringify(pathToFileURL(join(ROOT, 'src', 'cli', 'main.ts')).href)});\n`);
    await initBackend('wasm');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`trains a ${ROWS.toLocaleString('en')}-row CSV with a peak RSS under ${LIMIT_MB} MB, and the model predicts well`, async () => {
    const big = join(dir, 'big.csv');
    writeCsv(big, ROWS);
    const out = join(dir, 'model-big');
    const r = await run(['train', '--config', config(big), '--stream', '--epochs', '1', '--batch-size', '512', '--validation-split', '0', '--out', out, '--json']);
    rmSync(big);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /streaming .*big\.csv/);
    assert.ok(r.maxRssMb < LIMIT_MB, `peak RSS ${r.maxRssMb.toFixed(0)} MB (limit ${LIMIT_MB} MB), ${r.seconds.toFixed(0)} s`);
    const model = await loadModel(out);
    try {
      const metrics = model.info().metrics.train;
      assert.ok(metrics, 'training metrics over the whole file');
      assert.ok(metrics.heads.species.metrics.accuracy > 0.85, `species accuracy ${metrics.heads.species.metrics.accuracy}`);
      assert.ok(metrics.heads.mass.metrics.r2 > 0.8, `mass R² ${metrics.heads.mass.metrics.r2}`);
      const probe = [5, 123_456, 999_999].map((i) => {
        const cells = row(i).split(',');
        return { Island: cells[0], 'Beak Length (mm)': Number(cells[1]), 'Beak Depth (mm)': Number(cells[2]), 'Flipper Length (mm)': Number(cells[3]) };
      });
      for (const p of model.predict(probe)) assert.ok(Number.isFinite(p.mass as number) && (p.mass as number) > 3000 && (p.mass as number) < 6000, `mass ${String(p.mass)}`);
    } finally {
      model.dispose();
    }
  });

  it('SIGINT inside an epoch writes a checkpoint (exit 130); --resume (streaming again, from the checkpoint) ends with the uninterrupted weights', async () => {
    const data = join(dir, 'mid.csv');
    writeCsv(data, 20_000);
    const cfg = config(data, { training: { epochs: 3, batchSize: 32, seed: 3, learningRate: 0.005 }, validation: { split: 0.1 } });
    const straight = join(dir, 'straight');
    const a = cli(['train', '--config', cfg, '--stream', '--out', straight, '--quiet']);
    assert.equal(a.status, 0, a.stderr);
    const out = join(dir, 'interrupted');
    let sent = false;
    const r = await run(['train', '--config', cfg, '--stream', '--out', out], (text, child) => {
      if (!sent && /epoch 1\/3/.test(text)) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), 300);
      }
    });
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /resume with: multiloss train --resume \S+/);
    assert.ok(!existsSync(out), 'no model directory');
    const resumed = cli(['train', '--resume', `${out}.checkpoints`, '--quiet']);
    assert.equal(resumed.status, 0, resumed.stderr);
    const [x, y] = [await loadModel(straight), await loadModel(out)];
    try {
      const wx = x.network.model.getWeights().map((w) => w.dataSync());
      y.network.model.getWeights().forEach((w, i) => w.dataSync().forEach((v, j) => assert.ok(Math.abs(v - wx[i][j]) <= 1e-6 * Math.max(1, Math.abs(v)), `weight ${i}[${j}]`)));
      assert.equal(y.meta.history.length, 3);
    } finally {
      x.dispose();
      y.dispose();
    }
  });

  it('a malformed row deep in the file: one line naming the file and line, exit 2, no model or checkpoint directory', async () => {
    const data = join(dir, 'bad.csv');
    const at = 299_000;
    writeCsv(data, 300_000, { at, line: 'Dream,40.1,18.2' });
    const out = join(dir, 'bad-model');
    const r = await run(['train', '--config', config(data), '--stream', '--epochs', '1', '--out', out, '--checkpoint-every', '1']);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n').filter((l) => !/^multiloss \w+ backend/.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^multiloss: .*bad\\.csv: line ${at + 2} has 3 fields, the header has 7`));
    assert.ok(!existsSync(out) && !existsSync(`${out}.checkpoints`), 'nothing written');
    const badValue = join(dir, 'bad-value.csv');
    writeCsv(badValue, 300_000, { at, line: 'Dream,40.1,18.2,190,Adelie,MALE,heavy' });
    const v = await run(['train', '--config', config(badValue), '--stream', '--epochs', '1', '--out', out]);
    assert.equal(v.code, 2, v.stderr);
    assert.match(v.stderr, new RegExp(`bad-value\\.csv: line ${at + 2}, column "Body Mass \\(g\\)": "heavy" is not a number`));
    assert.ok(!existsSync(out));
  });
});
