// MultiMNIST benchmark (issue 5): test accuracy of the left and right digit,
// mean ± std over seeds, of the LeNet-style shared network of Sener & Koltun
// (2018) under several balancing methods, and of separate models (one
// single-head LeNet per digit). Data: composed once (composition seed 0) from
// the `mnist` package's 10,000 digits, disjoint digit pools for train and test;
// the seeds vary initialisation and shuffling. Gradient methods run in their
// default mode (param: exact per-head gradients over all shared parameters).
//
//   node --import tsx bench/multimnist.ts [--train 8000] [--test 2000] [--epochs 5] [--seeds 3]
//     [--methods separate,equal,uncertainty,pcgrad,mgda,nash,famo,upgrad] [--architectures shared,mtan,mtan:attentionBatchNorm=true,…] [--json out.json]
// With --architectures, each joint method runs on each architecture (towers [50] as the LeNet heads;
// experts, columns and attention over the LeNet trunk) and the table adds parameters and seconds
// per run relative to `shared` in the same run.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/schema.js';
import { resolveConfig } from '../src/config/resolve.js';
import { buildMultiMnist } from '../src/data/images/multimnist.js';
import { evaluateImages, fitImageModel } from '../src/training/fit-images.js';
import type { ImageSet } from '../src/data/images/dataset.js';
import { loadMnistDigits } from '../src/io/image-files.js';
import { initBackend } from '../src/engine/backend.js';
import { multiMnistConfig } from '../examples/multimnist/lenet.js';

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '8000' },
    test: { type: 'string', default: '2000' },
    epochs: { type: 'string', default: '5' },
    seeds: { type: 'string', default: '3' },
    methods: { type: 'string', default: 'separate,equal,uncertainty,pcgrad,mgda,nash,famo,upgrad' },
    architectures: { type: 'string', default: 'shared' },
    json: { type: 'string' },
  },
});
const epochs = Number(values.epochs);
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i + 1);
const methods = (values.methods as string).split(',');
const architectures = (values.architectures as string).split(',');

const backend = await initBackend('wasm');
console.log(`backend: ${backend.name}${backend.simd ? ' (simd)' : ''}${backend.native.active ? `, native kernels (${backend.native.isa})` : ''}; node ${process.version}`);
const data = buildMultiMnist(loadMnistDigits(), { train: Number(values.train), test: Number(values.test), seed: 0 });
console.log(`MultiMNIST: ${data.train.n} training images (${data.trainDigits.length} digits), ${data.test.n} test images (${data.testDigits.length} other digits); ${epochs} epochs, batch 128, Adam 1e-3; seeds ${seeds.join(', ')}`);

/** `kind` or `kind:option=value:option=value` (values: numbers, true/false, or text). */
function architectureSpec(text: string): Record<string, unknown> {
  const [kind, ...options] = text.split(':');
  return { kind, ...Object.fromEntries(options.map((o) => o.split('=')).map(([k, v]) => [k, v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v)])) };
}

let parameters = 0;
async function accuracy(raw: Record<string, unknown>, train: ImageSet, test: ImageSet): Promise<Record<string, number>> {
  const model = await fitImageModel(resolveConfig(parseConfig(raw)), train);
  const ev = evaluateImages(model, test);
  parameters = model.network.countParams();
  model.dispose();
  return Object.fromEntries(Object.entries(ev.heads).map(([h, v]) => [h, v.metrics.accuracy as number]));
}

interface Row {
  method: string;
  left: number[];
  right: number[];
  seconds: number[];
  parameters: number;
}
const rows: Row[] = [];
const stats = (xs: number[]): string => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return `${(100 * m).toFixed(2)} ± ${(100 * sd).toFixed(2)}`;
};
const runs = methods.flatMap((method) => (method === 'separate' ? [{ method, architecture: 'shared' }] : architectures.map((architecture) => ({ method, architecture }))));
for (const { method, architecture } of runs) {
  const label = architectures.length > 1 && method !== 'separate' ? `${method} · ${architecture}` : method;
  const row: Row = { method: label, left: [], right: [], seconds: [], parameters: 0 };
  for (const seed of seeds) {
    const start = Date.now();
    if (method === 'separate') {
      const l = await accuracy(multiMnistConfig({ epochs, seed, heads: ['left'] }), data.train, data.test);
      const r = await accuracy(multiMnistConfig({ epochs, seed, heads: ['right'] }), data.train, data.test);
      row.left.push(l.left);
      row.right.push(r.right);
    } else {
      const raw = multiMnistConfig({ epochs, seed, balance: { method } });
      const acc = await accuracy(architecture === 'shared' ? raw : { ...raw, architecture: { towers: [50], ...architectureSpec(architecture) } }, data.train, data.test);
      row.left.push(acc.left);
      row.right.push(acc.right);
    }
    row.seconds.push((Date.now() - start) / 1000);
    row.parameters = parameters;
    console.log(`  ${label} seed ${seed}: left ${row.left.at(-1)?.toFixed(4)}, right ${row.right.at(-1)?.toFixed(4)} (${row.seconds.at(-1)?.toFixed(0)} s)`);
  }
  rows.push(row);
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const reference = rows.find((r) => r.method === (architectures.length > 1 ? `${methods.find((m) => m !== 'separate')} · shared` : r.method));
console.log('\n| method | left accuracy (%) | right accuracy (%) | parameters | s per run | time / shared |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  const ratio = reference && r.method !== 'separate' ? (mean(r.seconds) / mean(reference.seconds)).toFixed(2) : '';
  console.log(`| ${r.method} | ${stats(r.left)} | ${stats(r.right)} | ${r.parameters} | ${mean(r.seconds).toFixed(0)} | ${ratio} |`);
}
if (values.json) writeFileSync(values.json, JSON.stringify({ train: data.train.n, test: data.test.n, epochs, seeds, rows }, null, 2));
