/**
 * Generated image folders for the image tests: PNG files whose pixels follow
 * from their index (seeded), with a CSV of labels (`shape`: a class, `level`:
 * a number), and a small configuration that trains on them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import { Rng } from '../../src/util/rng.js';

/** RGBA bytes of image `k` (height × width): a bright square whose place gives the class, on seeded noise. */
export function imageRgba(k: number, height: number, width: number): { rgba: Buffer; shape: string; level: number } {
  const rng = new Rng(`img:${k}`);
  const rgba = Buffer.alloc(height * width * 4);
  const cls = k % 3;
  const level = Math.round(rng.next() * 100) / 100;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inSquare = y < height / 2 && Math.floor((x * 3) / width) === cls;
      const v = inSquare ? 200 + Math.floor(55 * level) : Math.floor(rng.next() * 60);
      rgba.set([v, Math.floor(v * level), 255 - v, 255], 4 * (y * width + x));
    }
  }
  return { rgba, shape: ['left', 'middle', 'right'][cls], level };
}

export function pngBytes(rgba: Buffer, height: number, width: number): Buffer {
  const png = new PNG({ width, height });
  rgba.copy(png.data);
  return PNG.sync.write(png);
}

/** Writes `n` PNG images of height × width into `dir` with labels.csv; returns the CSV's path. */
export function writeImageFolder(dir: string, n: number, height: number, width: number, options: { missingLevelEvery?: number } = {}): string {
  mkdirSync(dir, { recursive: true });
  const lines = ['file,shape,level'];
  for (let k = 0; k < n; k++) {
    const img = imageRgba(k, height, width);
    const name = `img${String(k).padStart(4, '0')}.png`;
    writeFileSync(join(dir, name), pngBytes(img.rgba, height, width));
    const level = options.missingLevelEvery && k % options.missingLevelEvery === 0 ? '' : String(img.level);
    lines.push(`${name},${img.shape},${level}`);
  }
  const csv = join(dir, 'labels.csv');
  writeFileSync(csv, lines.join('\n') + '\n');
  return csv;
}

/** A small conv model with a class head (`shape`) and a regression head (`level`), as written in a configuration file. */
export const folderRaw: Record<string, unknown> = {
  targets: [
    { name: 'shape', kind: 'classification' },
    { name: 'level', kind: 'regression' },
  ],
  model: { trunk: [{ type: 'conv', filters: 3, kernel: 3, pool: 'max' }, 8] },
  training: { epochs: 2, batchSize: 8, seed: 5, earlyStopping: false },
  validation: { split: 0.25 },
};

export function folderConfig(extra: Record<string, unknown> = {}): ResolvedConfig {
  return resolveConfig(parseConfig({ ...folderRaw, ...extra }));
}
