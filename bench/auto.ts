// npm run bench -- auto [DATASET ...]: `compare --auto` against the full sweep of the same candidates,
// measured in the same process on the same cores. For each data set (penguins, weather by default):
// the full sweep (every method of the default list in each gradient mode, the tuned-static search
// and row, the separate models; 3 seeds, the full budget), then autoBalance on the same candidates.
// Prints the chosen method, its final Δm, the best full-budget row's Δm (mean ± std over seeds), the
// chosen method's rank in the full sweep, and the cost of each (seconds and epochs trained) as ratios.
// MultiMNIST is not measured: compare and autoBalance take tables only (image data in compare is
// another change); see BENCHMARKS.md.
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { autoBalance } from '../src/compare/auto/auto-balance.js';
import { compare, type CompareResult } from '../src/compare/compare.js';
import { resolveConfig } from '../src/config/resolve.js';
import { parseConfig } from '../src/config/schema.js';
import { readConfigFile } from '../src/io/config-file.js';
import { configuredColumns, readDataFile } from '../src/io/table-file.js';

const ROOT = resolve(import.meta.dirname, '..');
const DATASETS: Record<string, string> = { penguins: 'examples/penguins.yaml', weather: 'examples/weather.yaml' };

const fmt = (mean: number, std: number) => `${mean >= 0 ? '+' : ''}${mean.toFixed(2)} ± ${std.toFixed(2)}`;
const epochsOf = (r: CompareResult) => r.runs.reduce((a, x) => a + x.epochs, 0) + (r.tunedStatic?.trials.reduce((a, t) => a + (Number.isFinite(t.epochs) ? t.epochs : 0), 0) ?? 0);

export async function runAutoBench(names: readonly string[]): Promise<void> {
  const workers = Math.min(2, availableParallelism());
  for (const name of names) {
    const file = DATASETS[name];
    if (!file) throw new Error(`unknown data set "${name}"; available: ${Object.keys(DATASETS).join(', ')}`);
    const path = resolve(ROOT, file);
    const parsed = parseConfig(readConfigFile(path), path);
    const config = resolveConfig(parsed);
    const table = await readDataFile(parsed.data as string, parsed.format, { columns: configuredColumns(config) });
    const input = { table };
    console.log(`\n${name} (${file}, ${table.length} rows; ${workers} workers; load ${loadavg()[0].toFixed(1)} at start)`);
    const autoStart = performance.now();
    const auto = await autoBalance(config, input, { workers });
    const autoSeconds = (performance.now() - autoStart) / 1000;
    const labels = auto.candidates.filter((c) => c.kind === 'method').map((c) => c.label);
    const fullStart = performance.now();
    const full = await compare(config, input, { grid: { methods: labels }, workers, tunedStatic: {} });
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
      `cost: auto ${auto.cost.runs} runs, ${auto.cost.epochs} epochs, ${autoSeconds.toFixed(0)} s; full sweep ${fullSeconds.toFixed(0)} s, ${epochsOf(full)} epochs; auto / full: ${(autoSeconds / fullSeconds).toFixed(2)}× time, ${(auto.cost.epochs / epochsOf(full)).toFixed(2)}× epochs; load ${loadavg()[0].toFixed(1)} at end`,
    );
  }
}
