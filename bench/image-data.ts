// npm run bench -- image-data: the image readers' resize (plain JS on Float32Array) against tfjs's
// tf.image.resizeBilinear (same values: half-pixel centres) on the active backend, in one run.
import * as tf from '@tensorflow/tfjs-core';
import { resizeBilinear } from '../src/data/images/pixels.js';

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Milliseconds per call (median of 5 rounds of `reps` calls, after 2 warm-up calls). */
function time(f: () => unknown, reps = 5): number {
  f();
  f();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) f();
    rounds.push((performance.now() - t) / reps);
  }
  return median(rounds);
}

export function runImageData(): void {
  const cases: [number, [number, number, number], [number, number]][] = [
    [512, [64, 64, 3], [32, 32]],
    [512, [28, 28, 1], [56, 56]],
  ];
  console.log('images  from → to        JS resizeBilinear   tf.image.resizeBilinear   tfjs / JS');
  for (const [n, from, to] of cases) {
    const d = from[0] * from[1] * from[2];
    const x = Float32Array.from({ length: n * d }, (_, i) => ((i * 7919) % 255) / 255);
    const ours = () => {
      const out = new Float32Array(n * to[0] * to[1] * from[2]);
      for (let k = 0; k < n; k++) out.set(resizeBilinear(x.subarray(k * d, (k + 1) * d), from, to), k * to[0] * to[1] * from[2]);
      return out;
    };
    const theirs = () => tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(x, [n, ...from]), to, false, true).dataSync());
    const a = time(ours);
    const b = time(theirs);
    console.log(`${n}     ${from.join('×')} → ${to.join('×')}   ${a.toFixed(1).padStart(8)} ms        ${b.toFixed(1).padStart(8)} ms            ${(b / a).toFixed(1)}×`);
  }
}
