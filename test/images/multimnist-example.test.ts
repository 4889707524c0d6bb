import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, ROOT, tempDir } from '../helpers.js';

const EXAMPLE = join(ROOT, 'examples', 'multimnist');
const run = (file: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(EXAMPLE, file), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env: { ...process.env, NO_COLOR: '1' } });

describe('examples/multimnist runs as its README says (small counts)', () => {
  const dir = tempDir('multiloss-multimnist-');
  it('make-data.ts writes image folders; multimnist.yaml trains on them through the CLI; evaluate reads the test folder', () => {
    const made = run('make-data.ts', ['--train', '240', '--test', '40', '--out', join(dir, 'data')]);
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /wrote 240 training and 40 test images \(28×28, grey\)/);
    assert.equal(readFileSync(join(dir, 'data', 'train', 'labels.csv'), 'utf8').split('\n')[0], 'file,left,right');
    // The example's configuration as shipped, beside the data (its paths are relative to it).
    copyFileSync(join(EXAMPLE, 'multimnist.yaml'), join(dir, 'multimnist.yaml'));
    const model = join(dir, 'model');
    const trained = cli(['train', '--config', join(dir, 'multimnist.yaml'), '--epochs', '1', '--out', model, '--quiet']);
    assert.equal(trained.status, 0, trained.stderr);
    const info = cli(['info', model]);
    assert.match(info.stdout, /^input {8}images 28×28×1 /m);
    assert.match(info.stdout, /^trunk {8}conv 10 5×5 valid relu, max pool 2×2 → conv 20 5×5 valid relu, max pool 2×2 → 50 relu$/m);
    const evaluated = cli(['evaluate', model, '--images', join(dir, 'data', 'test'), '--labels', join(dir, 'data', 'test', 'labels.csv'), '--json']);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.deepEqual(JSON.parse(evaluated.stdout).labelled, { left: 40, right: 40 });
    // compare --auto on the example's configuration (two candidates, one epoch: the command as the README gives it, made small).
    const auto = cli(['compare', '--config', join(dir, 'multimnist.yaml'), '--auto', '--methods', 'equal,pcgrad:rep', '--no-tuned-static', '--seeds', '1', '--epochs', '1', '--workers', '0', '--json', join(dir, 'auto.json'), '--quiet']);
    assert.equal(auto.status, 0, auto.stderr);
    assert.match(auto.stdout, /^Chosen: (equal|pcgrad:rep)/m);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'auto.json'), 'utf8')).final.rows.length, 2);
  });

  it('train.ts (the library example) trains, evaluates on the test images and saves the model', () => {
    const out = join(dir, 'library');
    const r = run('train.ts', ['--train', '200', '--test', '40', '--epochs', '1', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^test left: accuracy 0\.\d{4}$/m);
    assert.match(r.stdout, /^test right: accuracy 0\.\d{4}$/m);
    assert.ok(existsSync(join(out, 'model.json')));
  });

  it('train.ts and make-data.ts import multiloss only through the package entry', () => {
    for (const file of ['train.ts', 'make-data.ts']) {
      const imports = [...readFileSync(join(EXAMPLE, file), 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
      const local = imports.filter((p) => p.startsWith('.'));
      assert.deepEqual(
        local.filter((p) => p !== '../../src/index.js' && p !== './lenet.js'),
        [],
        `${file} imports ${local.join(', ')}`,
      );
      assert.ok(local.includes('../../src/index.js'), file);
    }
  });
});
