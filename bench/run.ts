// npm run bench [-- NAME]: runs a benchmark and prints its figures.
//   w1 (default)  multiloss training loop vs tfjs LayersModel.fit, workload W1
import { initBackend } from '../src/engine/backend.js';
import { runW1 } from './w1.js';

const which = process.argv[2] ?? 'w1';
const backend = await initBackend((process.env.MULTILOSS_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'auto');
console.log(`backend: ${backend.name}${backend.simd ? ' (simd)' : ''}${backend.fixedKernels ? ', fixed wasm kernels' : ''}; node ${process.version}`);

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
  default:
    console.error(`unknown benchmark "${which}"; available: w1`);
    process.exit(2);
}
