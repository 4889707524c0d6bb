/**
 * The browser entry bundles for the browser (esbuild, platform 'browser') with no Node built-in
 * marked external, no stubs and no aliases, and none of the bundle's inputs is a `node:` module
 * or a Node-only source file (one that imports a Node built-in). Checked twice:
 *
 * - from the TypeScript sources (src/browser.ts): fast, and names the offending import;
 * - from the compiled package: src compiled by tsc with the build's tsconfig into a temporary
 *   package holding this package.json, then `import 'multiloss'` bundled for the browser from a
 *   project that has it installed — so the exports map's "browser" condition, the `./browser`
 *   subpath and the emitted dist/browser.js are what is bundled (type checking is left to
 *   `npm run typecheck`: --noCheck keeps this test quick).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { tempDir } from '../helpers.js';
import { ROOT } from './harness.js';

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The source files that import a Node built-in directly (from the Node entry's import graph). */
async function nodeOnlySources(): Promise<Set<string>> {
  const r = await esbuild.build({ entryPoints: [join(ROOT, 'src/index.ts'), join(ROOT, 'src/cli/main.ts')], bundle: true, write: false, platform: 'node', format: 'esm', packages: 'external', metafile: true, logLevel: 'silent', outdir: 'out' });
  const files = new Set<string>();
  for (const [file, input] of Object.entries(r.metafile.inputs)) {
    if (input.imports.some((i) => NODE_BUILTINS.has(i.path))) files.add(relative(ROOT, join(process.cwd(), file)));
  }
  return files;
}

async function bundleForBrowser(options: esbuild.BuildOptions): Promise<esbuild.Metafile> {
  const r = await esbuild.build({ ...options, bundle: true, write: false, platform: 'browser', format: 'esm', metafile: true, logLevel: 'silent', outdir: 'out' });
  assert.deepEqual(r.warnings.map((w) => w.text), [], 'no warnings');
  return r.metafile;
}

/** Bundling errors as one line each, naming the importing file: the assertion message a broken import gets. */
function describeFailure(e: unknown): string {
  const errors = (e as esbuild.BuildFailure).errors ?? [];
  return errors.map((x) => `${x.location?.file ?? '?'}: ${x.text}`).join('\n') || String(e);
}

/** Every input path of the bundle, relative to the repository. */
function inputsOf(meta: esbuild.Metafile): string[] {
  return Object.keys(meta.inputs).map((f) => relative(ROOT, join(process.cwd(), f)));
}

function assertBrowserSafe(meta: esbuild.Metafile, nodeOnly: Set<string>, compiled: (file: string) => string): void {
  const inputs = inputsOf(meta);
  const builtins = Object.values(meta.inputs).flatMap((i) => i.imports.filter((imp) => imp.path.startsWith('node:') || (NODE_BUILTINS.has(imp.path) && imp.external === true)));
  assert.deepEqual(builtins, [], 'no Node built-in imported or left external');
  assert.deepEqual(inputs.filter((f) => f.startsWith('node:')), [], 'no node: module among the inputs');
  const leaked = [...nodeOnly].map(compiled).filter((f) => inputs.includes(f));
  assert.deepEqual(leaked, [], 'no Node-only source file among the inputs');
}

describe('browser bundle', () => {
  it('src/browser.ts bundles for the browser without any Node built-in or Node-only source', async () => {
    const nodeOnly = await nodeOnlySources();
    // The list is the Node-only modules the issue names: if it shrank to nothing the check below would prove nothing.
    for (const f of ['src/engine/native/addon.ts', 'src/engine/backend.ts', 'src/io/files.ts', 'src/io/stream-table.ts', 'src/compare/pool.ts', 'src/io/image-files.ts']) {
      assert.ok(nodeOnly.has(f), `${f} is recognised as Node-only`);
    }
    let meta: esbuild.Metafile;
    try {
      meta = await bundleForBrowser({ entryPoints: [join(ROOT, 'src/browser.ts')] });
    } catch (e) {
      assert.fail(`src/browser.ts does not bundle for the browser:\n${describeFailure(e)}`);
    }
    assertBrowserSafe(meta, nodeOnly, (f) => f);
    const inputs = inputsOf(meta);
    // The core that can use the native addon in Node is in the bundle, without the addon loader.
    for (const f of ['src/engine/native/state.ts', 'src/engine/native/adam.ts', 'src/training/trainer.ts', 'src/model/network.ts', 'src/balancing/dbmtl-tensors.ts', 'src/data/csv.ts', 'src/data/parquet.ts', 'src/data/arrow.ts']) {
      assert.ok(inputs.includes(f), `${f} is bundled`);
    }
  });

  it('a code-splitting bundle keeps the Parquet and Arrow readers out of the entry chunk (readTableFrom loads them on demand)', async () => {
    const r = await esbuild.build({ entryPoints: { entry: join(ROOT, 'src/browser.ts') }, bundle: true, write: false, splitting: true, platform: 'browser', format: 'esm', metafile: true, logLevel: 'silent', outdir: 'out', external: ['@tensorflow/*'] });
    const outputs = Object.values(r.metafile.outputs).filter((o) => o.entryPoint !== undefined || Object.keys(o.inputs).length > 0);
    const entry = outputs.find((o) => o.entryPoint?.endsWith('src/browser.ts'));
    assert.ok(entry, 'the entry chunk');
    const inEntry = Object.keys(entry.inputs).map((f) => relative(ROOT, join(process.cwd(), f)));
    assert.ok(inEntry.includes('src/browser/table.ts') && inEntry.includes('src/data/csv.ts'), 'readTableFrom and the CSV reader are in the entry chunk');
    const heavy = inEntry.filter((f) => /node_modules\/(hyparquet|hyparquet-compressors|apache-arrow)\/|src\/data\/(parquet|arrow)\.ts$/.test(f));
    assert.deepEqual(heavy, [], 'no Parquet / Arrow reader in the entry chunk');
    const lazy = Object.values(r.metafile.outputs).find((o) => Object.keys(o.inputs).some((f) => f.endsWith('src/data/binary.ts')));
    assert.ok(lazy && Object.keys(lazy.inputs).some((f) => f.includes('node_modules/hyparquet/')), 'the readers are a chunk of their own');
  });

  it('the compiled package bundles for the browser through its exports map ("browser" condition and ./browser)', async () => {
    const dir = tempDir('multiloss-browser-build-');
    const pkg = join(dir, 'multiloss');
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist'), '--noCheck', '--declaration', 'false', '--sourceMap', 'false'], { encoding: 'utf8' });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    writeFileSync(join(pkg, 'package.json'), readFileSync(join(ROOT, 'package.json')));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const app = join(dir, 'app');
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    symlinkSync(pkg, join(app, 'node_modules', 'multiloss'));
    writeFileSync(join(app, 'main.js'), "import * as a from 'multiloss';\nimport * as b from 'multiloss/browser';\nconsole.log(a.initBrowserBackend, b.trainFromTable, a.parseCsv);\n");
    writeFileSync(join(app, 'package.json'), '{"type":"module"}');

    const nodeOnly = await nodeOnlySources();
    const compiled = (f: string) => relative(ROOT, join(pkg, f.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js')));
    let meta: esbuild.Metafile;
    try {
      meta = await bundleForBrowser({ entryPoints: [join(app, 'main.js')], absWorkingDir: process.cwd() });
    } catch (e) {
      assert.fail(`the compiled package does not bundle for the browser:\n${describeFailure(e)}`);
    }
    assertBrowserSafe(meta, nodeOnly, compiled);
    const inputs = inputsOf(meta);
    assert.ok(inputs.includes(compiled('src/browser.ts')), 'dist/browser.js is what a browser bundle of "multiloss" gets');
    assert.ok(!inputs.includes(compiled('src/index.ts')), 'not dist/index.js');

    // Node still resolves the package to the Node entry.
    const resolved = spawnSync(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('multiloss'))"], { cwd: app, encoding: 'utf8' });
    assert.equal(resolved.status, 0, resolved.stderr);
    assert.equal(fileURLToPath(resolved.stdout.trim()), join(pkg, 'dist', 'index.js'));
  });
});
