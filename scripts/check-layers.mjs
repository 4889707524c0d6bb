// Checks the layer rule (.dependency-cruiser.mjs; docs/architecture.md, "Layers") with
// dependency-cruiser over src/ of a directory (default: the working directory). Prints each
// violation and exits 1 when there is one; the edges in the configuration's PENDING list (fixes
// on other branches) are left out, and an entry that no longer occurs is itself an error, so the
// list only shrinks. Used by `npm run lint` and test/architecture/layers.test.ts.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The package exports no path to its CLI; it is found beside this script.
const DEPCRUISE = fileURLToPath(new URL('../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url));

/** The violations in `root`, as "rule: from → to" lines, and PENDING entries that no longer occur. */
export async function checkLayers(root = process.cwd()) {
  const config = resolve(root, '.dependency-cruiser.mjs');
  const { PENDING = [] } = await import(pathToFileURL(config).href);
  const run = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', config, '--output-type', 'json'], { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (run.error || !run.stdout) throw new Error(`dependency-cruiser did not run in ${root}: ${run.error?.message ?? run.stderr}`);
  const violations = JSON.parse(run.stdout).summary.violations;
  const key = (from, to) => `${from} → ${to}`;
  const pending = new Set(PENDING.flatMap((p) => p.to.map((to) => key(p.from, to))));
  const found = new Set();
  const errors = [];
  for (const v of violations) {
    const edge = v.cycle ? [v.from, ...v.cycle.map((c) => c.name ?? c)].join(' → ') : key(v.from, v.to);
    if (!v.cycle && pending.has(edge)) found.add(edge);
    else errors.push(`${v.rule.name}: ${edge}`);
  }
  const stale = [...pending].filter((e) => !found.has(e)).map((e) => `PENDING entry no longer occurs (delete it from .dependency-cruiser.mjs): ${e}`);
  return { errors, stale };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { errors, stale } = await checkLayers(process.argv[2]);
  for (const line of [...errors, ...stale]) console.error(line);
  if (errors.length || stale.length) {
    console.error(`${errors.length} layer violation(s), ${stale.length} stale PENDING entr${stale.length === 1 ? 'y' : 'ies'} (docs/architecture.md, "Layers")`);
    process.exit(1);
  }
  console.log('layers: no upward import, no cycle');
}
