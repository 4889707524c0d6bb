// Streaming prediction benchmark: rows/second and peak RSS of `multiloss predict`
// on generated penguin-like CSV files (default 1M and 5M rows).
//
//   node --import tsx bench/stream.ts [ROWS ...]        e.g. bench/stream.ts 1000000 5000000
//
// Each run is a separate CLI process started through a wrapper that prints
// process.resourceUsage().maxRSS at exit; the time includes start-up (about 1–2 s).
// The model is the penguins example trained for 2 epochs (4 features, 3 heads).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
const ROWS = sizes.length ? sizes : [1_000_000, 5_000_000];

const dir = mkdtempSync(join(tmpdir(), 'multiloss-bench-stream-'));
const model = join(dir, 'model');
const wrapper = join(dir, 'rss.mjs');
writeFileSync(wrapper, `process.on('exit', () => process.stderr.write('maxRSS ' + process.resourceUsage().maxRSS + '\\n'));\nawait import(${JSON.stringify(pathToFileURL(MAIN).href)});\n`);

const ISLANDS = ['Biscoe', 'Dream', 'Torgersen'];
function writeCsv(path: string, rows: number): void {
  const fd = openSync(path, 'w');
  writeSync(fd, 'Island,Beak Length (mm),Beak Depth (mm),Flipper Length (mm)\n');
  for (let start = 0; start < rows; start += 50_000) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(rows, start + 50_000); i++) {
      lines.push(`${ISLANDS[i % 3]},${(35 + ((i * 7919) % 200) / 10).toFixed(1)},${(14 + ((i * 104729) % 60) / 10).toFixed(1)},${170 + ((i * 31) % 60)}`);
    }
    writeSync(fd, `${lines.join('\n')}\n`);
  }
  closeSync(fd);
}

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

const trained = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'train', '--config', join(ROOT, 'examples', 'penguins.yaml'), '--epochs', '2', '--out', model, '--quiet'], { cwd: ROOT, encoding: 'utf8' });
if (trained.status !== 0) throw new Error(trained.stderr);

console.log(`multiloss predict, streaming CSV → CSV; node ${process.version}`);
console.log('rows        file MB   seconds   rows/s    peak RSS MB');
const small = join(dir, 'small.csv');
writeCsv(small, 1000);
for (const rows of [1000, ...ROWS]) {
  const data = rows === 1000 ? small : join(dir, `rows-${rows}.csv`);
  if (rows !== 1000) writeCsv(data, rows);
  const out = join(dir, 'out.csv');
  const r = await predict(data, out);
  console.log(`${String(rows).padEnd(11)} ${(statSync(data).size / 1e6).toFixed(0).padStart(7)}   ${r.seconds.toFixed(1).padStart(7)}   ${String(Math.round(rows / r.seconds)).padStart(7)}   ${r.maxRssMb.toFixed(0).padStart(11)}`);
  if (rows !== 1000) rmSync(data);
  rmSync(out);
}
rmSync(dir, { recursive: true, force: true });
