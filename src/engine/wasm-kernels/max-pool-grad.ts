/**
 * `MaxPoolGrad` for the wasm backend. The stock kernel routes the gradient to the wrong element
 * when every value in a window is negative (for [-3, -1, -2, -4] it picks -3). Here the gradient
 * of each output goes to the first maximum of its window in row-major window order (strictly
 * greater than everything before it, starting from -Infinity), exactly the cpu backend's rule:
 * a window of only NaN or -Infinity passes no gradient.
 */
import {
  backend_util,
  MaxPoolGrad,
  type KernelConfig,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { asWasmBackend, attrsAs, f32View, makeZeros, WASM, type KernelArgs, type WasmBackend } from './internals.js';

export function maxPoolGradWasm(
  backend: WasmBackend,
  dy: TensorInfo,
  input: TensorInfo,
  attrs: MaxPoolGradAttrs,
): TensorInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  if (input.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('wasm MaxPoolGrad: float32 only');
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;

  const dx = makeZeros(backend, input.shape, 'float32');
  if (ch === 0 || batchSize === 0) return dx;
  const x = f32View(backend, input);
  const g = f32View(backend, dy);
  const d = f32View(backend, dx);
  const maxVal = new Float32Array(ch);
  const maxPos = new Int32Array(ch);
  for (let b = 0; b < batchSize; b++) {
    const xImg = b * inHeight * inWidth * ch;
    for (let oh = 0; oh < outHeight; oh++) {
      const r0 = oh * strideHeight - padTop;
      const rLo = Math.max(0, r0);
      const rHi = Math.min(inHeight, r0 + filterHeight);
      for (let ow = 0; ow < outWidth; ow++) {
        const c0 = ow * strideWidth - padLeft;
        const cLo = Math.max(0, c0);
        const cHi = Math.min(inWidth, c0 + filterWidth);
        maxVal.fill(Number.NEGATIVE_INFINITY);
        maxPos.fill(-1);
        for (let r = rLo; r < rHi; r++) {
          for (let c = cLo; c < cHi; c++) {
            const base = xImg + (r * inWidth + c) * ch;
            for (let k = 0; k < ch; k++) {
              const v = x[base + k];
              if (v > maxVal[k]) {
                maxVal[k] = v;
                maxPos[k] = base + k;
              }
            }
          }
        }
        const gBase = ((b * outHeight + oh) * outWidth + ow) * ch;
        for (let k = 0; k < ch; k++) {
          const pos = maxPos[k];
          if (pos >= 0) d[pos] += g[gBase + k];
        }
      }
    }
  }
  return dx;
}

function maxPoolGrad(args: KernelArgs): TensorInfo {
  const { dy, input } = args.inputs;
  if (dy === undefined || input === undefined) throw new Error('MaxPoolGrad needs inputs dy and input');
  return maxPoolGradWasm(asWasmBackend(args.backend), dy, input, attrsAs<MaxPoolGradAttrs>(args));
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: WASM,
  kernelFunc: maxPoolGrad,
};
