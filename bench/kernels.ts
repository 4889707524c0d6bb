/**
 * Microbenchmark of the fixed tfjs wasm kernels against the stock ones (tfjs-backend-wasm 4.22).
 *
 *   node --import tsx bench/kernels.ts
 *
 * 1. GFLOP/s of the matmuls of one W1 training step (dense 784-256-256, batch 128; M x N x K,
 *    NN / NT / TN = which operand is transposed), stock kernels vs fixed.
 * 2. Conv2DBackpropFilter / Conv2DBackpropInput time for the C1 conv shapes (batch 128,
 *    28x28x1 -> 16 3x3, 14x14x16 -> 32 3x3, 'same' padding). Stock wasm has no
 *    Conv2DBackpropFilter at all.
 * 3. One W1-like training step (forward, gradients, SGD update), stock vs fixed.
 *
 * Stock numbers are taken first, then registerWasmKernelFixes() swaps the kernels in.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers the gradients
import { registerWasmKernelFixes } from '../src/engine/wasm-kernels/index.js';

interface MatMulCase {
  label: string;
  m: number;
  n: number;
  k: number;
  ta: boolean;
  tb: boolean;
}

const MATMULS: MatMulCase[] = [
  { label: 'fwd1 NN', m: 128, n: 256, k: 784, ta: false, tb: false },
  { label: 'fwd2 NN', m: 128, n: 256, k: 256, ta: false, tb: false },
  { label: 'dX2  NT', m: 128, n: 256, k: 256, ta: false, tb: true },
  { label: 'dW1  TN', m: 784, n: 256, k: 128, ta: true, tb: false },
  { label: 'dW2  TN', m: 256, n: 256, k: 128, ta: true, tb: false },
  { label: 'dX1  NT', m: 128, n: 784, k: 256, ta: false, tb: true },
  { label: 'head NN', m: 128, n: 10, k: 256, ta: false, tb: false },
  { label: 'dWh  TN', m: 256, n: 10, k: 128, ta: true, tb: false },
  { label: 'dXh  NT', m: 128, n: 256, k: 10, ta: false, tb: true },
];

interface ConvCase {
  label: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
}

const CONVS: ConvCase[] = [
  { label: 'conv1 28x28x1->16', x: [128, 28, 28, 1], f: [3, 3, 1, 16] },
  { label: 'conv2 14x14x16->32', x: [128, 14, 14, 16], f: [3, 3, 16, 32] },
];

/** Median wall time (ms) of `fn`, after warm-up; at least `minReps` runs and ~`budgetMs` total. */
function timeMs(fn: () => void, minReps = 10, budgetMs = 600): number {
  for (let i = 0; i < 3; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minReps || performance.now() - start < budgetMs) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
    if (times.length >= 500) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function benchMatMuls(): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of MATMULS) {
    const a = tf.randomUniform(c.ta ? [c.k, c.m] : [c.m, c.k], -1, 1, 'float32', 1);
    const b = tf.randomUniform(c.tb ? [c.n, c.k] : [c.k, c.n], -1, 1, 'float32', 2);
    const ms = timeMs(() => tf.matMul(a, b, c.ta, c.tb).dispose());
    out.set(c.label, (2 * c.m * c.n * c.k) / (ms * 1e6));
    tf.dispose([a, b]);
  }
  return out;
}

interface ConvTimes {
  forward: number;
  filter: number | undefined;
  input: number;
}

function benchConvs(): Map<string, ConvTimes> {
  const out = new Map<string, ConvTimes>();
  for (const c of CONVS) {
    const x = tf.randomUniform(c.x, -1, 1, 'float32', 3) as tf.Tensor4D;
    const f = tf.randomUniform(c.f, -1, 1, 'float32', 4) as tf.Tensor4D;
    const y = tf.conv2d(x, f, 1, 'same');
    const dy = tf.randomUniform(y.shape, -1, 1, 'float32', 5) as tf.Tensor4D;
    const forward = timeMs(() => tf.conv2d(x, f, 1, 'same').dispose(), 5);
    let filter: number | undefined;
    try {
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: c.f };
      filter = timeMs(() => {
        const r = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
        r.dispose();
      }, 5);
    } catch {
      filter = undefined; // not registered on stock wasm
    }
    const input = timeMs(() => tf.conv2dTranspose(dy, f, c.x, 1, 'same').dispose(), 5);
    out.set(c.label, { forward, filter, input });
    tf.dispose([x, f, y, dy]);
  }
  return out;
}

/** Forward + backward + SGD update of a 784-256-256-10 ReLU net, batch 128 (ms per step). */
function benchTrainStep(): number {
  const w1 = tf.variable(tf.randomNormal([784, 256], 0, 0.05, 'float32', 11));
  const b1 = tf.variable(tf.zeros([256]));
  const w2 = tf.variable(tf.randomNormal([256, 256], 0, 0.05, 'float32', 12));
  const b2 = tf.variable(tf.zeros([256]));
  const w3 = tf.variable(tf.randomNormal([256, 10], 0, 0.05, 'float32', 13));
  const b3 = tf.variable(tf.zeros([10]));
  const vars = [w1, b1, w2, b2, w3, b3];
  const x = tf.randomUniform([128, 784], 0, 1, 'float32', 14);
  const labels = tf.oneHot(tf.randomUniform([128], 0, 10, 'int32', 15) as tf.Tensor1D, 10);
  const opt = tf.train.sgd(0.01);
  const step = () => {
    const cost = opt.minimize(
      () => {
        const h1 = tf.relu(tf.add(tf.matMul(x, w1), b1));
        const h2 = tf.relu(tf.add(tf.matMul(h1, w2), b2));
        const logits = tf.add(tf.matMul(h2, w3), b3);
        return tf.losses.softmaxCrossEntropy(labels, logits);
      },
      true,
      vars,
    );
    cost?.dispose();
  };
  const ms = timeMs(step, 10, 1500);
  tf.dispose([...vars, x, labels]);
  opt.dispose();
  return ms;
}

function fmt(v: number | undefined, digits = 1): string {
  return v === undefined ? 'n/a' : v.toFixed(digits);
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  console.log(`tfjs ${tf.version_core}, backend wasm (SIMD ${String(simd)}), Node ${process.version}`);

  const stockMm = benchMatMuls();
  const stockConv = benchConvs();
  const stockStep = benchTrainStep();

  registerWasmKernelFixes();
  const fixedMm = benchMatMuls();
  const fixedConv = benchConvs();
  const fixedStep = benchTrainStep();

  console.log('\nW1 matmuls, GFLOP/s (M x N x K)');
  console.log('case       shape            stock   fixed  speed-up');
  for (const c of MATMULS) {
    const s = stockMm.get(c.label) ?? NaN;
    const f = fixedMm.get(c.label) ?? NaN;
    const shape = `${c.m}x${c.n}x${c.k}`.padEnd(15);
    console.log(`${c.label}    ${shape} ${fmt(s).padStart(6)}  ${fmt(f).padStart(6)}  ${(f / s).toFixed(1).padStart(6)}x`);
  }

  console.log('\nC1 convolutions, batch 128, ms per call (stock -> fixed)');
  for (const c of CONVS) {
    const s = stockConv.get(c.label);
    const f = fixedConv.get(c.label);
    if (s === undefined || f === undefined) continue;
    console.log(`${c.label.padEnd(20)} forward ${fmt(f.forward, 2)}`);
    console.log(`${''.padEnd(20)} Conv2DBackpropFilter ${fmt(s.filter, 2)} (stock: ${s.filter === undefined ? 'missing' : 'ok'}) -> ${fmt(f.filter, 2)}`);
    console.log(`${''.padEnd(20)} Conv2DBackpropInput  ${fmt(s.input, 2)} -> ${fmt(f.input, 2)}`);
  }

  console.log('\nW1-like train step (784-256-256-10, batch 128, SGD), ms per step (samples/s)');
  console.log(`stock ${fmt(stockStep, 2)} (${Math.round(128_000 / stockStep)})  fixed ${fmt(fixedStep, 2)} (${Math.round(128_000 / fixedStep)})`);
}

await main();
