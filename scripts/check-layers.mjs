// Checks the layer rule (.dependency-cruiser.mjs; docs/architecture.md, "Layers") with
// dependency-cruiser over src/ of a directory (default: the working directory). Prints each
// violation and exits 1 when there is one; there is no allow-list. Used by `npm run lint` and
// test/architecture/layers.test.ts.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The package exports no path to its CLI; it is found beside this script.
const DEPCRUISE = fileURLToPath(new URL('../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url));

/** The violations in `root`, as "rule: from → to" lines. */
export async function checkLayers(root = process.cwd()) {
  const config = resolve(root, '.dependency-cruiser.mjs');
  const run = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', config, '--output-type', 'json'], { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (run.error || !run.stdout) throw new Error(`dependency-cruiser did not run in ${root}: ${run.error?.message ?? run.stderr}`);
  const violations = JSON.parse(run.stdout).summary.violations;
  return violations.map((v) => `${v.rule.name}: ${v.cycle ? [v.from, ...v.cycle.map((c) => c.name ?? c)].join(' → ') : `${v.from} → ${v.to}`}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const errors = await checkLayers(process.argv[2]);
  for (const line of errors) console.error(line);
  if (errors.length) {
    console.error(`${errors.length} layer violation(s) (docs/architecture.md, "Layers")`);
    process.exit(1);
  }
  console.log('layers: no upward import, no cycle');
}
