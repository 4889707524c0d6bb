// Streaming benchmarks: rows/second and peak RSS of `multiloss predict` (default)
// or of `multiloss train --stream` (`train` first) on generated penguin-like CSV
// files (default 1M and 5M rows).
//
//   node --import tsx bench/stream.ts [ROWS ...]        e.g. bench/stream.ts 1000000 5000000
//   node --import tsx bench/stream.ts train [ROWS ...]  train --stream: 1 epoch, batch 256, 10% validation
//
// Each run is a separate CLI process started through a wrapper that prints
// process.resourceUsage().maxRSS at exit; the time includes start-up (about 1–2 s).
// The model is the penguins example trained for 2 epochs (4 features, 3 heads).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writePenguinCsv } from './synthetic-penguins.js';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const TRAIN = process.argv[2] === 'train';
const sizes = process.argv.slice(TRAIN ? 3 : 2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
const ROWS = sizes.length ? sizes : [1_000_000, 5_000_000];

const dir = mkdtempSync(join(tmpdir(), 'multiloss-bench-stream-'));
const model = join(dir, 'model');
const wrapper = join(dir, 'rss.mjs');
writeFileSync(wrapper, `process.on('exit', () => process.stderr.write('maxRSS ' + process.resourceUsage().maxRSS + '\\n'));\nawait import(${JSON.stringify(pathToFileURL(MAIN).href)});\n`);

function predict(data: string, out: string): Promise<{ seconds: number; maxRssMb: number }> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', wrapper, 'predict', model, data, '--out', out], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      const m = /^maxRSS (\d+)$/m.exec(stderr);
      if (code !== 0 || !m) fail(new Error(`predict exited ${code}: ${stderr}`));
      else done({ seconds: (performance.now() - t0) / 1000, maxRssMb: Number(m[1]) / 1024 });
    });
  });
}


function run(args: string[]): Promise<{ seconds: number; maxRssMb: number; stderr: string }> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', wrapper, ...args], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      const m = /^maxRSS (\d+)$/m.exec(stderr);
      if (code !== 0 || !m) fail(new Error(`${args[0]} exited ${code}: ${stderr}`));
      else done({ seconds: (performance.now() - t0) / 1000, maxRssMb: Number(m[1]) / 1024, stderr });
    });
  });
}

if (TRAIN) {
  const flags = ['--epochs', '1', '--batch-size', '256', '--validation-split', '0.1', '--seed', '1', '--stream'];
  console.log(`multiloss train --stream, CSV, 1 epoch, batch 256, 10% validation, 3 heads, trunk 64-32; node ${process.version}`);
  console.log('total: the whole run (start-up, pass 1, the epoch, validation, final metrics); epoch: the epoch line (training + validation)');
  console.log('rows        file MB   total s   rows/s   epoch s   rows/s    peak RSS MB');
  for (const rows of [1000, ...ROWS]) {
    const data = join(dir, `train-${rows}.csv`);
    writePenguinCsv(data, rows, true);
    const config = join(dir, 'train.json');
    const targets = [
      { name: 'species', column: 'Species', kind: 'classification' },
      { name: 'sex', column: 'Sex', kind: 'binary' },
      { name: 'mass', column: 'Body Mass (g)', kind: 'regression' },
    ];
    writeFileSync(config, JSON.stringify({ data, targets, model: { trunk: [64, 32] } }));
    const r = await run(['train', '--config', config, ...flags, '--out', join(dir, 'model-stream')]);
    const epoch = Number(/^epoch 1\/1 .* ([\d.]+)s$/m.exec(r.stderr)?.[1] ?? NaN);
    const cols = [
      String(rows).padEnd(11),
      (statSync(data).size / 1e6).toFixed(0).padStart(7),
      r.seconds.toFixed(1).padStart(9),
      String(Math.round(rows / r.seconds)).padStart(8),
      epoch.toFixed(1).padStart(9),
      String(Math.round((rows * 0.9) / epoch)).padStart(8),
      r.maxRssMb.toFixed(0).padStart(14),
    ];
    console.log(cols.join(' '));
    rmSync(data);
  }
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const trained = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'train', '--config', join(ROOT, 'examples', 'penguins.yaml'), '--epochs', '2', '--out', model, '--quiet'], { cwd: ROOT, encoding: 'utf8' });
if (trained.status !== 0) throw new Error(trained.stderr);

console.log(`multiloss predict, streaming CSV → CSV; node ${process.version}`);
console.log('rows        file MB   seconds   rows/s    peak RSS MB');
const small = join(dir, 'small.csv');
writePenguinCsv(small, 1000, false);
for (const rows of [1000, ...ROWS]) {
  const data = rows === 1000 ? small : join(dir, `rows-${rows}.csv`);
  if (rows !== 1000) writePenguinCsv(data, rows, false);
  const out = join(dir, 'out.csv');
  const r = await predict(data, out);
  console.log(`${String(rows).padEnd(11)} ${(statSync(data).size / 1e6).toFixed(0).padStart(7)}   ${r.seconds.toFixed(1).padStart(7)}   ${String(Math.round(rows / r.seconds)).padStart(7)}   ${r.maxRssMb.toFixed(0).padStart(11)}`);
  if (rows !== 1000) rmSync(data);
  rmSync(out);
}
rmSync(dir, { recursive: true, force: true });
