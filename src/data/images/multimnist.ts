/**
 * MultiMNIST as in Sener & Koltun, "Multi-Task Learning as Multi-Objective
 * Optimization" (NeurIPS 2018): a left digit at the top-left and a right digit
 * at the bottom-right of a 36×36 canvas (they overlap; the brighter pixel
 * wins), resized to 28×28. Two 10-class tasks: `left` and `right`. Train and
 * test images are composed from disjoint sets of digits. Browser-safe: the
 * digits come in as arrays (./node.ts loads them from the `mnist` package).
 */
import { MultilossError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import type { Cell } from '../table.js';
import type { ImageSet } from './dataset.js';
import { resizeBilinear } from './pixels.js';

/** Source digits: n 28×28 grayscale images in [0, 1] (row-major) and their labels 0–9. */
export interface Digits {
  n: number;
  x: Float32Array;
  labels: ArrayLike<number>;
}

export const DIGIT = 28;
export const CANVAS = 36;

/** The 36×36 canvas of two 28×28 digits: `left` at the top-left corner, `right` at the bottom-right, pixelwise maximum. */
export function composeCanvas(left: Float32Array, right: Float32Array): Float32Array {
  const canvas = new Float32Array(CANVAS * CANVAS);
  const off = CANVAS - DIGIT;
  for (let y = 0; y < DIGIT; y++) for (let x = 0; x < DIGIT; x++) canvas[y * CANVAS + x] = left[y * DIGIT + x];
  for (let y = 0; y < DIGIT; y++) {
    for (let x = 0; x < DIGIT; x++) {
      const i = (y + off) * CANVAS + x + off;
      canvas[i] = Math.max(canvas[i], right[y * DIGIT + x]);
    }
  }
  return canvas;
}

/** One MultiMNIST image (28×28) from two digits. */
export function composeMultiMnist(left: Float32Array, right: Float32Array): Float32Array {
  return resizeBilinear(composeCanvas(left, right), [CANVAS, CANVAS, 1], [DIGIT, DIGIT]);
}

export interface MultiMnistOptions {
  /** Number of training / test images to compose. */
  train: number;
  test: number;
  /** Share of each class's digits kept for the test images (default 0.2); the rest make the training images. */
  testFraction?: number;
  seed?: number;
}

export interface MultiMnist {
  train: ImageSet;
  test: ImageSet;
  /** Indices (into the source digits) the training / test images were composed from: disjoint. */
  trainDigits: number[];
  testDigits: number[];
}

function compose(digits: Digits, pool: number[], count: number, rng: Rng, source: string): { set: ImageSet; used: Set<number> } {
  const d = DIGIT * DIGIT;
  const x = new Float32Array(count * d);
  const left: Cell[] = [];
  const right: Cell[] = [];
  const used = new Set<number>();
  let order: number[] = [];
  for (let i = 0; i < count; i++) {
    // Every digit of the pool is a left digit once per pass (seeded order); the right digit is drawn at random.
    if (order.length === 0) order = rng.shuffle([...pool]);
    const a = order.pop() as number;
    let b = pool[rng.int(pool.length)];
    if (b === a && pool.length > 1) b = pool[(pool.indexOf(a) + 1) % pool.length];
    used.add(a).add(b);
    x.set(composeMultiMnist(digits.x.subarray(a * d, (a + 1) * d), digits.x.subarray(b * d, (b + 1) * d)), i * d);
    left.push(String(digits.labels[a]));
    right.push(String(digits.labels[b]));
  }
  return { set: { n: count, shape: [DIGIT, DIGIT, 1], x, labels: { left, right }, source }, used };
}

/**
 * Composes MultiMNIST training and test images. Each class's digits are split
 * in source order: the first (1 − testFraction) go to the training pool, the
 * rest to the test pool, so no digit appears in both.
 */
export function buildMultiMnist(digits: Digits, options: MultiMnistOptions): MultiMnist {
  const f = options.testFraction ?? 0.2;
  if (!(f > 0 && f < 1)) throw new MultilossError('config', `multimnist.testFraction: expected a number in (0, 1), got ${f}`);
  if (digits.x.length !== digits.n * DIGIT * DIGIT) throw new MultilossError('data', `MultiMNIST digits: ${digits.x.length} values for ${digits.n} images of 28×28`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < digits.n; i++) {
    const c = digits.labels[i];
    if (!Number.isInteger(c) || c < 0 || c > 9) throw new MultilossError('data', `MultiMNIST digits: label ${c} of digit ${i} is not 0–9`);
    byClass.set(c, [...(byClass.get(c) ?? []), i]);
  }
  const trainPool: number[] = [];
  const testPool: number[] = [];
  for (const idx of byClass.values()) {
    const k = Math.round(idx.length * (1 - f));
    trainPool.push(...idx.slice(0, k));
    testPool.push(...idx.slice(k));
  }
  if (!trainPool.length || !testPool.length) throw new MultilossError('data', 'MultiMNIST digits: too few digits for disjoint training and test pools');
  const rng = new Rng(options.seed ?? 0);
  const train = compose(digits, trainPool, options.train, rng, 'MultiMNIST (train)');
  const test = compose(digits, testPool, options.test, rng, 'MultiMNIST (test)');
  return { train: train.set, test: test.set, trainDigits: [...train.used].sort((a, b) => a - b), testDigits: [...test.used].sort((a, b) => a - b) };
}
