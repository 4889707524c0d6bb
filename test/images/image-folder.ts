/**
 * A small labelled image folder written with pngjs, for the CLI tests: each
 * image is noise plus a bright square in one quadrant; `vertical` (top /
 * bottom) and `horizontal` (left / right) say which. Seeded.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pngBytes as encodePng } from './folder-fixture.js';
import { Rng } from '../../src/util/rng.js';

export interface ImageFolderSpec {
  n: number;
  size?: number;
  seed?: number;
  /** Rows (0-based) whose `horizontal` label is left empty. */
  missingHorizontal?: (i: number) => boolean;
}

/** Encodes an opaque image given by `pixel` (RGB) as PNG bytes. */
export function pngBytes(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rgba.set([...pixel(x, y), 255], 4 * (y * width + x));
  }
  return encodePng(rgba, height, width);
}

/** Writes `dir/img-000.png`, … and `dir/labels.csv` (file, vertical, horizontal); returns the labels' path. */
export function writeImageFolder(dir: string, spec: ImageFolderSpec): string {
  mkdirSync(dir, { recursive: true });
  const size = spec.size ?? 8;
  const rng = new Rng(spec.seed ?? 1);
  const lines = ['file,vertical,horizontal'];
  for (let i = 0; i < spec.n; i++) {
    const top = rng.next() < 0.5;
    const left = rng.next() < 0.5;
    const noise = Array.from({ length: size * size }, () => Math.floor(rng.next() * 60));
    const half = size / 2;
    const bytes = pngBytes(size, size, (x, y) => {
      const inside = (top ? y < half : y >= half) && (left ? x < half : x >= half);
      const v = Math.min(255, noise[y * size + x] + (inside ? 180 : 0));
      return [v, v, v];
    });
    const file = `img-${String(i).padStart(3, '0')}.png`;
    writeFileSync(join(dir, file), bytes);
    lines.push(`${file},${top ? 'top' : 'bottom'},${spec.missingHorizontal?.(i) ? '' : left ? 'left' : 'right'}`);
  }
  const labels = join(dir, 'labels.csv');
  writeFileSync(labels, `${lines.join('\n')}\n`);
  return labels;
}
