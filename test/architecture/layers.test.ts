// The layer rule (.dependency-cruiser.mjs, docs/architecture.md "Layers"): src/ passes it, and
// it catches an upward import, a cycle and a module in no layer.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
// @ts-expect-error: a plain .mjs script without types
import { checkLayers } from '../../scripts/check-layers.mjs';

const ROOT = resolve(import.meta.dirname, '../..');

test('src/ imports only downwards and has no import cycle', async () => {
  assert.deepEqual(await checkLayers(ROOT), []);
});

test('the rule fails on an upward import, a cycle and an unplaced module', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'multiloss-layers-'));
  try {
    const files: Record<string, string> = {
      // The repository's rule.
      '.dependency-cruiser.mjs': `export { default } from ${JSON.stringify(pathToFileURL(join(ROOT, '.dependency-cruiser.mjs')).href)};\n`,
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
      'package.json': '{ "type": "module" }',
      'src/util/rng.ts': 'export const seed = 1;\n',
      'src/training/loop.ts': "import { seed } from '../util/rng.js';\nexport const loop = seed;\n",
      // model → training: upward.
      'src/model/network.ts': "import { loop } from '../training/loop.js';\nexport const net = loop;\n",
      // A cycle inside one layer.
      'src/data/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/data/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      // A folder that is in no layer.
      'src/plugins/x.ts': "import { seed } from '../util/rng.js';\nexport const x = seed;\n",
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const errors = (await checkLayers(dir)) as string[];
    assert.ok(errors.includes('layer-model: src/model/network.ts → src/training/loop.ts'), errors.join('\n'));
    assert.ok(errors.some((e) => e.startsWith('no-cycle: src/data/a.ts → src/data/b.ts')), errors.join('\n'));
    assert.ok(errors.some((e) => e.startsWith('layer-unplaced: src/plugins/x.ts')), errors.join('\n'));
    assert.equal(errors.some((e) => e.includes('src/training/loop.ts → src/util/rng.ts')), false, 'a downward import is allowed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
