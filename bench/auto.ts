// npm run bench -- auto [DATASET ...]: `compare --auto` against the full sweep of the same candidates,
// measured in the same process on the same cores. For each data set (penguins, weather by default):
// autoBalance on the default candidates (every method of the default list in each gradient mode,
// tuned-static), then the full sweep of the same candidates (the tuned-static search and row, the
// separate models; 3 seeds, the full budget). Prints the chosen method, its final Δm, the best
// full-budget row's Δm (mean ± std over seeds), the chosen method's rank in the full sweep, and the
// cost of each (seconds and epochs trained) as ratios.
//
// multimnist: examples/multimnist/multimnist.yaml (LeNet, batch 128, Adam 1e-3, validation split
// 0.1, its 10 epochs: rungs of 1, 3 and 9 epochs with η = 3) on the images make-data.ts writes,
// composed in memory: --mm-train N pairs (default 10000), --mm-epochs N to change the budget.
//
// fingerprint: the cost of image run ids — imageSourceFingerprint of a folder of 60,000 MultiMNIST
// PNGs (written by make-data.ts) beside reading the folder into memory, in the same run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { autoBalance } from '../src/compare/auto/auto-balance.js';
import { compare, compareImages, isCompareImages, type CompareImages, type CompareInput, type CompareResult } from '../src/compare/compare.js';
import { resolveConfig, type ResolvedConfig } from '../src/config/resolve.js';
import { parseConfig } from '../src/config/schema.js';
import { buildMultiMnist } from '../src/data/images/multimnist.js';
import { readConfigFile } from '../src/io/config-file.js';
import { loadMnistDigits, readImageFolder } from '../src/io/image-files.js';
import { imageSourceFingerprint } from '../src/io/image-source.js';
import { configuredColumns, readDataFile } from '../src/io/table-file.js';

const ROOT = resolve(import.meta.dirname, '..');
const TABLES: Record<string, string> = { penguins: 'examples/penguins.yaml', weather: 'examples/weather.yaml' };
const MULTIMNIST = 'examples/multimnist/multimnist.yaml';

interface BenchData {
  config: ResolvedConfig;
  input: CompareInput | CompareImages;
  description: string;
}

async function loadData(name: string, mm: { train: number; epochs?: number }): Promise<BenchData> {
  if (name === 'multimnist') {
    const raw = readConfigFile(resolve(ROOT, MULTIMNIST)) as Record<string, unknown>;
    const training = { ...(raw.training as Record<string, unknown>), ...(mm.epochs !== undefined ? { epochs: mm.epochs } : {}) };
    const config = resolveConfig(parseConfig({ ...raw, training }, MULTIMNIST));
    // make-data.ts's composition (seed 0) of the `mnist` package's digits, without writing the PNGs.
    const train = buildMultiMnist(loadMnistDigits(), { train: mm.train, test: 1, seed: 0 }).train;
    return { config, input: { train }, description: `${MULTIMNIST}, ${train.n} image pairs, ${config.training.epochs} epochs` };
  }
  const file = TABLES[name];
  if (!file) throw new Error(`unknown data set "${name}"; available: ${[...Object.keys(TABLES), 'multimnist'].join(', ')}`);
  const path = resolve(ROOT, file);
  const parsed = parseConfig(readConfigFile(path), path);
  const config = resolveConfig(parsed);
  const table = await readDataFile(parsed.data as string, parsed.format, { columns: configuredColumns(config) });
  return { config, input: { table }, description: `${file}, ${table.length} rows` };
}

const fmt = (mean: number, std: number) => `${mean >= 0 ? '+' : ''}${mean.toFixed(2)} ± ${std.toFixed(2)}`;
const epochsOf = (r: CompareResult) => r.runs.reduce((a, x) => a + x.epochs, 0) + (r.tunedStatic?.trials.reduce((a, t) => a + (Number.isFinite(t.epochs) ? t.epochs : 0), 0) ?? 0);

/** Seconds of imageSourceFingerprint and of readImageFolder on 60,000 PNGs, in the same run. */
async function fingerprintBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'multiloss-fingerprint-'));
  try {
    execFileSync(process.execPath, ['--import', 'tsx', resolve(ROOT, 'examples/multimnist/make-data.ts'), '--train', '60000', '--test', '1', '--out', dir], { cwd: ROOT, stdio: 'inherit' });
    const source = { images: join(dir, 'train'), labels: join(dir, 'train', 'labels.csv'), channels: 1 as const };
    const timed = async <T>(f: () => T | Promise<T>): Promise<number> => {
      const start = performance.now();
      await f();
      return (performance.now() - start) / 1000;
    };
    const hash = [await timed(() => imageSourceFingerprint(source)), await timed(() => imageSourceFingerprint(source))];
    const read = await timed(() => readImageFolder({ dir: source.images, labels: source.labels, channels: 1 }));
    console.log(`60,000 PNGs: fingerprint ${hash.map((s) => s.toFixed(2)).join(' s, ')} s; reading into memory ${read.toFixed(2)} s; fingerprint / read ${(Math.min(...hash) / read).toFixed(2)} (load ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runAutoBench(args: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { 'mm-train': { type: 'string', default: '10000' }, 'mm-epochs': { type: 'string' } },
  });
  const names = positionals.length > 0 ? positionals : ['penguins', 'weather'];
  const mm = { train: Number(values['mm-train']), ...(values['mm-epochs'] !== undefined ? { epochs: Number(values['mm-epochs']) } : {}) };
  const workers = Math.min(2, availableParallelism());
  for (const name of names) {
    if (name === 'fingerprint') {
      await fingerprintBench();
      continue;
    }
    const { config, input, description } = await loadData(name, mm);
    console.log(`\n${name} (${description}; ${workers} workers; load ${loadavg().map((l) => l.toFixed(1)).join(' ')} at start)`);
    const autoStart = performance.now();
    const auto = await autoBalance(config, input, { workers });
    const autoSeconds = (performance.now() - autoStart) / 1000;
    const labels = auto.candidates.filter((c) => c.kind === 'method').map((c) => c.label);
    const fullStart = performance.now();
    const options = { grid: { methods: labels }, workers, tunedStatic: {} };
    const full = isCompareImages(input) ? await compareImages(config, input, options) : await compare(config, input, options);
    const fullSeconds = (performance.now() - fullStart) / 1000;
    const joint = full.rows.filter((r) => r.approach === 'joint').sort((a, b) => b.deltaM.mean - a.deltaM.mean);
    const best = joint[0];
    const chosenRow = auto.final.rows.find((r) => r.label === auto.chosen.label);
    if (!chosenRow) throw new Error('auto: no final row');
    // Where auto's final Δm sits among the full sweep's rows (tuned-static's weights may differ: auto searched them on a short budget).
    const inFull = joint.filter((r) => r.deltaM.mean > chosenRow.deltaM.mean).length;
    const n = full.seeds.length;
    // Welch's t of the gap between the best row and auto's choice (3 seeds: |t| < 2 is well within noise).
    const welch = (best.deltaM.mean - chosenRow.deltaM.mean) / Math.sqrt(best.deltaM.std ** 2 / n + chosenRow.deltaM.std ** 2 / n);
    console.log(`full sweep (${full.runs.length + (full.tunedStatic?.trials.length ?? 0)} runs, ${fullSeconds.toFixed(0)} s, ${epochsOf(full)} epochs), Δm % over seeds ${full.seeds.join(', ')}:`);
    for (const r of joint) console.log(`  ${r.label.padEnd(14)} ${fmt(r.deltaM.mean, r.deltaM.std)}`);
    console.log(`auto rungs: ${auto.rungs.map((r) => `${r.rows.length} × ${r.epochs} epochs`).join(' → ')}; ${auto.reasons.lines.slice(-2).join(' ')}`);
    console.log(
      `chosen ${auto.chosen.label}: Δm ${fmt(chosenRow.deltaM.mean, chosenRow.deltaM.std)} (below ${inFull} of the full sweep's ${joint.length} rows); best ${best.label}: ${fmt(best.deltaM.mean, best.deltaM.std)}; gap ${(best.deltaM.mean - chosenRow.deltaM.mean).toFixed(2)} points, Welch t ${welch.toFixed(2)}`,
    );
    console.log(
      `cost: auto ${auto.cost.runs} runs, ${auto.cost.epochs} epochs, ${autoSeconds.toFixed(0)} s; full sweep ${fullSeconds.toFixed(0)} s, ${epochsOf(full)} epochs; auto / full: ${(autoSeconds / fullSeconds).toFixed(2)}× time, ${(auto.cost.epochs / epochsOf(full)).toFixed(2)}× epochs; load ${loadavg().map((l) => l.toFixed(1)).join(' ')} at end`,
    );
  }
}
