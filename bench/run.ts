// npm run bench [-- NAME]: runs a benchmark and prints its figures.
//   w1 (default)  multiloss training loop vs tfjs LayersModel.fit, workload W1
//   balance       every balancing method and mode on W1 with T = 3, ratio to static, native and wasm paths
//   native        W1, W2 and C1 on the wasm path vs the native path (and PyTorch when installed)
//   aggregate     time of aggregate() alone per method, 2 ≤ T ≤ 10, d = 10⁵
//   browser       browser entry bundle size; W1 in headless Chromium per backend vs Node (wasm)
//   defaults      training defaults vs old defaults vs tuned vs trivial baselines on held-out rows (weather, penguins)
//   table-memory  peak RSS and rows/s of train (1 epoch) in memory and --stream on a 1M / 10M-row table, beside pandas [ROWS ...]
//   images        LeNet (joint, separate) and C1 training beside PyTorch [--train N --epochs N --rounds N --c1-rows N --no-torch]
//   queue         a compare sweep on the local pool vs 1, 2, 4 queue worker processes (BullMQ, local redis-server) [short: only the many-short-runs overhead]
//   auto          compare --auto vs the full sweep of the same candidates: chosen method, Δm, cost [penguins weather multimnist fingerprint; --mm-train N --mm-epochs N]
//   image-data    the image readers' resize (JS) vs tf.image.resizeBilinear, in one run
import { initBackend } from '../src/engine/backend.js';
import { runW1 } from './w1.js';

const which = process.argv[2] ?? 'w1';
const backend = await initBackend((process.env.MULTILOSS_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'auto');
const native = backend.native.active ? `native kernels on (${backend.native.isa}, ${backend.native.threads} threads)` : `native kernels off (${backend.native.reason ?? 'MULTILOSS_NATIVE=0'})`;
console.log(`backend: ${backend.name}${backend.simd ? ' (simd)' : ''}${backend.fixedKernels ? ', fixed wasm kernels' : ''}; ${native}; node ${process.version}`);

switch (which) {
  case 'w1': {
    const r = await runW1();
    console.log('workload W1: 784→256→256 ReLU, heads 10-class + regression, batch 128, Adam 1e-3, 8192 rows');
    console.log(`multiloss loop (train metrics on):  ${Math.round(r.multiloss)} samples/s`);
    console.log(`multiloss loop (train metrics off): ${Math.round(r.multilossNoMetrics)} samples/s`);
    console.log(`tfjs LayersModel.fit:              ${Math.round(r.fit)} samples/s`);
    console.log(`ratio multiloss / fit:             ${r.ratio.toFixed(3)}`);
    console.log(`peak RSS:                          ${Math.round(r.peakRssMb)} MB`);
    break;
  }
  case 'balance': {
    const { runBalance, printBalance } = await import('./balance.js');
    printBalance(await runBalance());
    break;
  }
  case 'native': {
    const { runNative, printNative } = await import('./native.js');
    printNative(await runNative());
    break;
  }
  case 'aggregate': {
    await import('./aggregate.js');
    break;
  }
  case 'browser': {
    const { runBrowserBench } = await import('./browser.js');
    await runBrowserBench();
    break;
  }
  case 'defaults': {
    const { runDefaults } = await import('./defaults.js');
    await runDefaults();
    break;
  }
  case 'table-memory': {
    const { runTableMemory } = await import('./table-memory.js');
    const sizes = process.argv.slice(3).map(Number).filter((n) => Number.isInteger(n) && n > 0);
    await runTableMemory(sizes.length ? sizes : [1_000_000, 10_000_000]);
    break;
  }
  case 'images': {
    const { runImages, printImages, imagesOptions } = await import('./images.js');
    printImages(await runImages(imagesOptions(process.argv.slice(3))));
    break;
  }
  case 'queue': {
    const { runQueueBench } = await import('./queue.js');
    await runQueueBench(process.argv[3]);
    break;
  }
  case 'auto': {
    const { runAutoBench } = await import('./auto.js');
    await runAutoBench(process.argv.slice(3));
    break;
  }
  case 'image-data': {
    const { runImageData } = await import('./image-data.js');
    runImageData();
    break;
  }
  default:
    console.error(`unknown benchmark "${which}"; available: w1, balance, native, aggregate, browser, defaults, table-memory, images, queue, auto, image-data`);
    process.exit(2);
}
