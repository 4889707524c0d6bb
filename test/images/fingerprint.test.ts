/**
 * imageSourceFingerprint on IDX files (the folder case is covered through
 * `compare --dry-run` in cli.test.ts): the files' bytes and the reading
 * options, not their location.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { encodeIdx } from '../../src/data/images/idx.js';
import { imageSourceFingerprint } from '../../src/io/image-source.js';
import { tempDir } from '../helpers.js';

/** IDX images (n × 4 × 4) and labels in `dir`; `bump` changes one pixel. */
function writeIdx(dir: string, bump = 0): { images: string; labels: string } {
  mkdirSync(dir, { recursive: true });
  const n = 6;
  const pixels = Array.from({ length: n * 16 }, (_, i) => (i * 37) % 256);
  pixels[5] = (pixels[5] + bump) % 256;
  const files = { images: join(dir, 'images.idx'), labels: join(dir, 'labels.idx') };
  writeFileSync(files.images, encodeIdx([n, 4, 4], 'uint8', pixels));
  writeFileSync(files.labels, encodeIdx([n], 'uint8', [0, 1, 0, 1, 1, 0]));
  return files;
}

it('IDX: the same fingerprint for a copy elsewhere; another pixel, label file or reading option changes it', async () => {
  const dir = tempDir();
  const fp = (idx: { images: string; labels?: string; size?: [number, number] }) => imageSourceFingerprint({ idx });
  const original = await fp(writeIdx(join(dir, 'a')));
  assert.match(original, /^[0-9a-f]{64}$/);
  assert.equal(await fp(writeIdx(join(dir, 'b'))), original);
  const changed = writeIdx(join(dir, 'c'), 1);
  assert.notEqual(await fp(changed), original);
  const { images } = writeIdx(join(dir, 'd'));
  assert.notEqual(await fp({ images }), original, 'without the labels file');
  assert.notEqual(await fp({ ...writeIdx(join(dir, 'e')), size: [2, 2] }), original, 'resized');
});
