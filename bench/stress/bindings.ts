// Every binding of the native addon called straight (no tfjs) with random shapes, each call with
// one operand placed flush against the END of the heap buffer and the others at unaligned offsets
// (4-byte multiples) near its start (issue 20). A read or write past an operand then leaves the
// buffer: on a WebAssembly.Memory buffer the next page is V8's inaccessible guard region (SIGSEGV
// at once, as on the real wasm heap), and on an ArrayBuffer under AddressSanitizer (node's
// ArrayBuffers are calloc'd) it is a red zone. Conv and pool geometries are random too, not only
// the consistent ones tfjs sends. Used by test/engine/native-heap-edge.test.ts,
// test/engine/native-sanitizers.test.ts and their worker threads.
import type { NativeAddon } from '../../src/engine/native/addon.js';
import { Rng } from '../../src/util/rng.js';

const ADAM = new Float64Array([0.9, 0.1, 0.999, 0.001, 0.1, 0.001, 1e-7, -1e-3]);

/** Byte offsets for operands of `sizes` floats: `edge` flush at the end, the rest from the start (disjoint). */
function place(heapBytes: number, sizes: number[], edge: number, rand: () => number): number[] | undefined {
  const offs: number[] = [];
  let at = 4 * Math.floor(rand() * 4);
  for (let i = 0; i < sizes.length; i++) {
    if (i === edge) continue;
    offs[i] = at;
    at += 4 * sizes[i] + 4 * Math.floor(rand() * 5);
  }
  offs[edge] = heapBytes - 4 * sizes[edge];
  return at <= offs[edge] ? offs : undefined;
}

export interface BindingsRun {
  calls: number;
  /** Calls skipped because the operands did not fit the buffer. */
  skipped: number;
}

/**
 * `calls` random binding calls on `heap` (refilled with values in [-1, 1) every 16 calls). `heap`
 * is a getter because a WebAssembly.Memory's buffer must be re-read after it grows.
 */
export function exerciseBindings(addon: NativeAddon, heap: () => ArrayBuffer, seed: number, calls: number): BindingsRun {
  const rng = new Rng(seed);
  const rand = () => rng.next();
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  // Mostly small shapes (edge tiles everywhere), sometimes ones big enough to be split over threads.
  const dim = () => (rand() < 0.15 ? int(100, 260) : int(1, 40));
  let skipped = 0;
  for (let c = 0; c < calls; c++) {
    const buf = heap();
    const bytes = buf.byteLength;
    if (c % 16 === 0) {
      const f = new Float32Array(buf);
      for (let i = 0; i < f.length; i += 1) f[i] = rand() * 2 - 1;
    }
    const kind = int(0, 10);
    switch (kind) {
      case 0:
      case 1: {
        const batch = int(1, 3);
        const m = dim();
        const n = dim();
        const k = dim();
        const ta = int(0, 1);
        const tb = int(0, 1);
        const bias = rand() < 0.5;
        const perRowBias = bias && rand() < 0.3;
        const biasSize = perRowBias ? m * n : n;
        const o = place(bytes, [batch * m * k, batch * k * n, batch * m * n, biasSize], int(0, bias ? 3 : 2), rand);
        if (!o) {
          skipped++;
          break;
        }
        const p = new Float64Array([batch, m, n, k, ta, tb, o[0], o[1], o[2], bias ? o[3] : -1, m * k, k * n, 1, perRowBias ? n : 0, 0, int(0, 3), 0.2]);
        addon.gemm(buf, p);
        break;
      }
      case 2: {
        const outer = int(1, 20);
        const red = dim();
        const inner = int(1, 40);
        const o = place(bytes, [outer * red * inner, outer * inner], int(0, 1), rand);
        if (!o) {
          skipped++;
          break;
        }
        addon.sumMiddle(buf, new Float64Array([o[0], o[1], outer, red, inner]));
        break;
      }
      case 3: {
        const n = rand() < 0.2 ? int(5000, 40000) : int(1, 300);
        const o = place(bytes, [n, n, n, n], int(0, 3), rand);
        if (!o) {
          skipped++;
          break;
        }
        addon.adam(buf, new Float64Array([o[0], o[1], o[2], o[3], n]), ADAM);
        break;
      }
      case 4: {
        if (!addon.adamWeighted) break;
        const n = rand() < 0.2 ? int(5000, 40000) : int(1, 300);
        const T = int(1, 3);
        const o = place(bytes, [n, n, n, ...Array.from({ length: T }, () => n)], int(0, 2 + T), rand);
        if (!o) {
          skipped++;
          break;
        }
        const terms = new Float64Array(2 * T);
        for (let t = 0; t < T; t++) {
          terms[2 * t] = T === 1 && rand() < 0.5 ? 1 : rand();
          terms[2 * t + 1] = o[3 + t];
        }
        addon.adamWeighted(buf, new Float64Array([o[0], o[1], o[2], n, 0, T]), terms, ADAM);
        break;
      }
      case 5:
      case 6: {
        const mode = int(0, 2);
        const batch = int(1, 3);
        const inH = int(1, 14);
        const inW = int(1, 14);
        const inC = int(1, 9);
        const kH = int(1, 4);
        const kW = int(1, 4);
        const sH = int(1, 3);
        const sW = int(1, 3);
        const dH = int(1, 2);
        const dW = int(1, 2);
        // Negative padding (cropping) is accepted by the binding too.
        const padT = int(-2, 3);
        const padL = int(-2, 3);
        // Usually the output size tfjs would compute; sometimes any size (the kernel must stay inside x).
        const outH = rand() < 0.8 ? Math.max(1, Math.floor((inH + 2 * padT - dH * (kH - 1) - 1) / sH) + 1) : int(1, 16);
        const outW = rand() < 0.8 ? Math.max(1, Math.floor((inW + 2 * padL - dW * (kW - 1) - 1) / sW) + 1) : int(1, 16);
        const outC = int(1, 20);
        // The bias (forward) or the bias gradient's output (filter gradient).
        const bias = mode !== 1 && rand() < 0.5;
        const o = place(bytes, [batch * inH * inW * inC, kH * kW * inC * outC, batch * outH * outW * outC, outC], int(0, bias ? 3 : 2), rand);
        if (!o) {
          skipped++;
          break;
        }
        addon.conv2d(buf, new Float64Array([mode, batch, inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, dH, dW, padT, padL, o[0], o[1], o[2], bias ? o[3] : -1, int(0, 3), 0.2]));
        break;
      }
      case 7: {
        const batch = int(1, 3);
        const inH = int(1, 16);
        const inW = int(1, 16);
        const ch = int(1, 20);
        const kH = int(1, 3);
        const kW = int(1, 3);
        const sH = int(1, 3);
        const sW = int(1, 3);
        const padT = int(-1, 2);
        const padL = int(-1, 2);
        const outH = rand() < 0.8 ? Math.max(1, Math.floor((inH + padT - kH) / sH) + 1) : int(1, 10);
        const outW = rand() < 0.8 ? Math.max(1, Math.floor((inW + padL - kW) / sW) + 1) : int(1, 10);
        const nx = batch * inH * inW * ch;
        const o = place(bytes, [nx, batch * outH * outW * ch, nx], int(0, 2), rand);
        if (!o) {
          skipped++;
          break;
        }
        const geometry = [batch, inH, inW, ch, outH, outW, kH, kW, sH, sW, padT, padL];
        if (rand() < 0.3) addon.maxPool(buf, new Float64Array([...geometry, o[0], o[1]]));
        else addon.maxPoolGrad(buf, new Float64Array([...geometry, o[0], o[1], o[2], int(0, 1)]));
        break;
      }
      case 8: {
        const T = int(1, 4);
        const n = rand() < 0.2 ? int(5000, 40000) : int(1, 300);
        const o = place(bytes, Array.from({ length: T }, () => n), int(0, T - 1), rand);
        if (!o) {
          skipped++;
          break;
        }
        const slots = new Float64Array([T, n, ...o.map((x) => (rand() < 0.1 ? -1 : x))]);
        if (rand() < 0.5) {
          addon.gram(buf, slots, new Float64Array((T * (T + 1)) / 2));
        } else {
          // weightedSum: the first operand is the output.
          const w = Array.from({ length: T - 1 }, () => rand() * 2 - 1);
          if (T === 1) break;
          addon.weightedSum(buf, new Float64Array([T - 1, n, o[0], ...w, ...o.slice(1)]));
        }
        break;
      }
      case 9: {
        if (!addon.layerGradNorms) break;
        const n = int(1, 60);
        const kin = dim();
        const k = int(1, 12);
        const T = int(1, 3);
        const withD = rand() < 0.5;
        const withMask = rand() < 0.3;
        const sizes = [n * kin, n * k, n * k, ...Array.from({ length: T }, () => n * k)];
        const o = place(bytes, sizes, int(0, sizes.length - 1), rand);
        if (!o) {
          skipped++;
          break;
        }
        const params = [n, kin, k, T, int(0, 2), o[0], withD ? o[1] : -1, withD ? int(0, 1) : 0, withMask ? o[2] : -1, ...o.slice(3)];
        addon.layerGradNorms(buf, new Float64Array(params), new Float64Array(2 * T));
        break;
      }
      case 10:
        // Read while another environment may configure (the pool's settings are shared).
        addon.info();
        break;
    }
  }
  return { calls, skipped };
}
