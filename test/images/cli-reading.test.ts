/**
 * The image readers' options through configurations and the command line:
 * `data.size` / `--size`, `data.scale` / `--scale`, `data.augment`, streaming
 * (`stream: true` / `--stream`) of an image folder, and prediction on new
 * files read with the model's own reading options.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertRefused, cli, savedWeights, tempDir } from '../helpers.js';
import { encodeIdx } from '../../src/data/images/idx.js';
import { writeImageFolder } from './image-folder.js';

const dir = tempDir('multiloss-images-reading-');
// 8×8 files; the models below read them at 6×6.
const trainLabels = writeImageFolder(join(dir, 'train'), { n: 96, missingHorizontal: (i) => i % 5 === 0 });
const testDir = join(dir, 'test');
const testLabels = writeImageFolder(testDir, { n: 24, seed: 9 });
const TARGETS = `targets:
  - { name: vertical, kind: classification }
  - { name: horizontal, kind: classification }
training: { epochs: 8, seed: 3, batchSize: 16 }
`;

/** Writes a configuration whose data are the training folder with `options` (YAML flow entries), returns its path. */
function config(name: string, options: string, extra = ''): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `data: { images: train, labels: train/labels.csv, channels: 1${options ? `, ${options}` : ''} }\n${TARGETS}${extra}`);
  return path;
}

function train(name: string, options: string, extra = '', flags: string[] = []): { out: string; stderr: string } {
  const out = join(dir, name);
  const r = cli(['train', '--config', config(name, options, extra), '--out', out, ...flags]);
  assert.equal(r.status, 0, r.stderr);
  return { out, stderr: r.stderr };
}

const meta = (model: string) => JSON.parse(readFileSync(join(model, 'multiloss.json'), 'utf8'));

describe('image reading options in configurations and on the command line', () => {
  const resized = join(dir, 'resized');

  it('data.size and data.scale: the model takes 6×6 images and records how they were read (meta.images, with the standardisation)', () => {
    train('resized', 'size: [6, 6], scale: standardize');
    const m = meta(resized);
    assert.deepEqual([m.images.channels, m.images.size, m.images.scale], [1, [6, 6], 'standardize']);
    assert.equal(m.images.mean.length, 1);
    assert.ok(m.images.std[0] > 0);
    // The configuration's image spec says where the images came from, not again how their pixels were prepared.
    assert.deepEqual(m.config.images, { source: 'folder' });
    const info = cli(['info', resized]);
    assert.match(info.stdout, /^input {8}images 6×6×1 \(height×width×channels: grayscale\), read from an image folder; new images are read with size 6×6, scale standardize$/m);
  });

  it('predict and evaluate read a folder of 8×8 files with the model\'s options (resized to 6×6, standardised)', () => {
    const r = cli(['predict', resized, '--images', testDir]);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split(','));
    assert.equal(rows.length, 25);
    const truth = readFileSync(testLabels, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const right = rows.slice(1).filter((row, i) => row[0] === truth[i][0] && row[1] === truth[i][1] && row[4] === truth[i][2]).length;
    assert.ok(right >= 18, `${right} of 24 images with both heads right`);
    const ev = cli(['evaluate', resized, '--images', testDir, '--labels', testLabels, '--json']);
    assert.equal(ev.status, 0, ev.stderr);
    const result = JSON.parse(ev.stdout);
    assert.equal(result.rows, 24);
    assert.ok(result.heads.vertical.metrics.accuracy >= 0.75, JSON.stringify(result.heads.vertical));
  });

  it('--size and --scale on the command line train the same model as data.size and data.scale', () => {
    const out = join(dir, 'flags');
    const r = cli([
      'train', '--images', join(dir, 'train'), '--labels', trainLabels, '--channels', '1', '--size', '6x6', '--scale', 'standardize',
      '--target', 'vertical:classification', '--target', 'horizontal:classification', '--epochs', '8', '--seed', '3', '--batch-size', '16', '--out', out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(meta(out).images, meta(resized).images);
    assert.deepEqual(savedWeights(out), savedWeights(resized));
  });

  it('stream: true decodes the folder per batch and trains the same weights as reading it whole; so does --stream', () => {
    const streamed = train('streamed', 'size: [6, 6], scale: standardize', 'stream: true\n');
    assert.match(streamed.stderr, /96 images of 6×6×1 streamed from /);
    assert.deepEqual(savedWeights(streamed.out), savedWeights(resized));
    const flag = train('streamed-flag', 'size: [6, 6], scale: standardize', '', ['--stream']);
    assert.match(flag.stderr, /96 images of 6×6×1 streamed from /);
    assert.deepEqual(savedWeights(flag.out), savedWeights(resized));
  });

  it('data.augment: seeded (the same weights twice), recorded in the configuration, and it changes training', () => {
    const a = train('augmented-a', 'size: [6, 6], scale: standardize, augment: { shift: 1, flip: true }');
    const b = train('augmented-b', 'size: [6, 6], scale: standardize, augment: { shift: 1, flip: true }', 'stream: true\n');
    assert.deepEqual(savedWeights(a.out), savedWeights(b.out));
    assert.notDeepEqual(savedWeights(a.out), savedWeights(resized));
    assert.deepEqual(meta(a.out).config.images, { source: 'folder', augment: { shift: 1, flip: true } });
  });

  it('bad reading options: one-line errors naming the option, exit 2, nothing written', () => {
    const cases: [string, string, RegExp][] = [
      // The messages docs/images.md shows.
      ['bad-shift', 'augment: { shift: -1 }', /bad-shift\.yaml: data\.augment\.shift: Too small: expected number to be >=0$/],
      ['bad-flip', 'augment: { flip: 1 }', /data\.augment\.flip/],
      ['bad-augment-key', 'augment: { rotate: 10 }', /data\.augment: unknown key "rotate"/],
      ['bad-scale', 'scale: bright', /data\.scale: Invalid option: expected one of "unit"\|"symmetric"\|"standardize"$/],
      ['bad-size', 'size: [6]', /data\.size: expected \[height, width\], two whole numbers ≥ 1$/],
    ];
    for (const [name, options, pattern] of cases) {
      const out = join(dir, name);
      assertRefused(cli(['train', '--config', config(name, options), '--out', out]), pattern);
      assert.equal(existsSync(out), false);
    }
    const out = join(dir, 'bad-flag');
    assertRefused(cli(['train', '--images', join(dir, 'train'), '--labels', trainLabels, '--size', '6', '--target', 'vertical:classification', '--out', out]), /--size 6: expected HEIGHTxWIDTH/);
    const held = config('bad-held', '', 'validation: { data: { images: test, labels: test/labels.csv, augment: { flip: true } } }\n');
    assertRefused(cli(['train', '--config', held, '--out', out]), /validation\.data\.augment: augmentation applies to the training images only/);
    writeFileSync(join(dir, 'digits.idx'), encodeIdx([4, 6, 6], 'uint8', new Uint8Array(4 * 36)));
    writeFileSync(join(dir, 'digits-labels.idx'), encodeIdx([4], 'uint8', [0, 1, 0, 1]));
    assertRefused(cli(['train', '--images', join(dir, 'digits.idx'), '--labels', join(dir, 'digits-labels.idx'), '--stream', '--target', 'label:classification', '--out', out]), /digits\.idx is an IDX file, read whole; streaming applies to image folders/);
    assert.equal(existsSync(out), false);
  });
});
