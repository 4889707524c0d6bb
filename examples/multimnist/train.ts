// MultiMNIST (Sener & Koltun 2018) with the LeNet-style shared encoder:
// composes the images from the `mnist` package's digits, trains both heads
// (left and right digit) with a balancing method, prints the test accuracy
// and saves the model.
//
//   node --import tsx examples/multimnist/train.ts [--method equal] [--mode param|rep]
//     [--train 8000] [--test 2000] [--epochs 10] [--seed 1] [--out models/multimnist]
//
// It imports only the package entry (here its source, ../../src/index.js; in a
// project that depends on multiloss: from 'multiloss').
import { parseArgs } from 'node:util';
import { buildMultiMnist, evaluateImages, fitImageModel, initBackend, loadMnistDigits, parseConfig, resolveConfig, saveModel } from '../../src/index.js';
import { multiMnistConfig } from './lenet.js';

const { values } = parseArgs({
  options: {
    method: { type: 'string', default: 'equal' },
    mode: { type: 'string' },
    train: { type: 'string', default: '8000' },
    test: { type: 'string', default: '2000' },
    epochs: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'models/multimnist' },
  },
});

const backend = await initBackend('auto');
console.log(`backend: ${backend.name}`);
const digits = loadMnistDigits();
const data = buildMultiMnist(digits, { train: Number(values.train), test: Number(values.test), seed: 0 });
console.log(`MultiMNIST: ${data.train.n} training images from ${data.trainDigits.length} digits, ${data.test.n} test images from ${data.testDigits.length} other digits`);
const balance = { method: values.method, ...(values.mode ? { mode: values.mode } : {}) };
const config = resolveConfig(parseConfig(multiMnistConfig({ balance, epochs: Number(values.epochs), seed: Number(values.seed) })));
const start = Date.now();
const model = await fitImageModel(config, data.train, {
  callbacks: { onEpochEnd: (log) => console.log(`epoch ${log.epoch}: loss ${log.train.loss.toFixed(4)} (${((Date.now() - start) / 1000).toFixed(0)} s)`) },
});
const test = evaluateImages(model, data.test);
for (const [head, h] of Object.entries(test.heads)) console.log(`test ${head}: accuracy ${(h.metrics.accuracy as number).toFixed(4)}`);
await saveModel(model, values.out as string);
console.log(`saved to ${values.out}`);
model.dispose();
