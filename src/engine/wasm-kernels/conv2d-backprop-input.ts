/**
 * `Conv2DBackpropInput` for the wasm backend. The stock kernel is correct but a direct scalar
 * loop (~2.6 GFLOP/s on the C1 shapes); this one is one XNNPACK matmul plus a col2im:
 *
 *   cols[p, (fh*fW + fw)*inC + ci] = sum_co dy[p, co] * W[fh, fw, ci, co]      (dy @ W^T)
 *   dx[n, oh*sh - pt + fh, ow*sw - pl + fw, ci] += cols[p, ...],  p = (n*outH + oh)*outW + ow
 *
 * With stride 1 (and padding no larger than the filter) it is instead the stock XNNPACK Conv2D
 * of dy with the filter flipped in space and its channel axes swapped, padded by
 * (filter - 1 - original padding): no column buffer at all.
 *
 * NHWC only; NCHW goes to the stock kernel. Large batches are done in chunks.
 */
import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import {
  asWasmBackend,
  attrsAs,
  convColumnBudget,
  dispose,
  f32View,
  makeView,
  makeZeros,
  releaseView,
  runStock,
  WASM,
  type KernelArgs,
  type WasmBackend,
} from './internals.js';
import { fastMatMul } from './matmul.js';

/**
 * 'conv': the stride-1 transposed convolution (falls back to 'col2im' when not applicable);
 * 'col2im': matmul + col2im; 'auto': 'conv' when applicable and dx has enough channels for
 * XNNPACK's conv to beat the matmul (with a single channel it does not).
 */
export type BackpropInputStrategy = 'auto' | 'conv' | 'col2im';

/**
 * Below this many input channels, 'auto' uses matmul + col2im even for stride 1 (measured on the
 * C1 shapes: 1 channel 5.8 ms col2im vs 8.4 ms conv; 2 channels 8.9 vs 8.3; 16 channels 17.4 vs 7.6).
 */
const MIN_CHANNELS_FOR_CONV = 2;

export function conv2DBackpropInputWasm(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: Conv2DBackpropInputAttrs,
  strategy: BackpropInputStrategy = 'auto',
): TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  if (format !== 'channelsLast' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    return runStock(Conv2DBackpropInput, backend, { dy, filter }, attrs as unknown as NamedAttrMap);
  }
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  const batch = info.batchSize;
  const inH = info.inHeight;
  const inW = info.inWidth;
  const inC = info.inChannels;
  const outH = info.outHeight;
  const outW = info.outWidth;
  const outC = info.outChannels;
  const fH = info.filterHeight;
  const fW = info.filterWidth;
  const sH = info.strideHeight;
  const sW = info.strideWidth;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const rows = fH * fW * inC;
  const perImage = outH * outW;

  if (rows === 0 || perImage === 0 || outC === 0 || batch === 0) return makeZeros(backend, info.inShape, 'float32');

  const pads = [fH - 1 - padTop, fH - 1 - info.padInfo.bottom, fW - 1 - padLeft, fW - 1 - info.padInfo.right];
  const convApplies = sH === 1 && sW === 1 && pads.every((v) => v >= 0);
  if (convApplies && (strategy === 'conv' || (strategy === 'auto' && inC >= MIN_CHANNELS_FOR_CONV))) {
    return transposedConvStride1(backend, dy, filter, info.inShape, pads);
  }

  const dx = makeZeros(backend, info.inShape, 'float32');

  // fw range that lands inside the image, per ow.
  const fwLo = new Int32Array(outW);
  const fwHi = new Int32Array(outW);
  for (let ow = 0; ow < outW; ow++) {
    const iw0 = ow * sW - padLeft;
    fwLo[ow] = Math.min(fW, Math.max(0, -iw0));
    fwHi[ow] = Math.max(fwLo[ow], Math.min(fW, inW - iw0));
  }

  const chunk = Math.max(1, Math.min(batch, Math.floor(convColumnBudget() / (rows * perImage))));
  const filter3: TensorInfo = { dataId: filter.dataId, shape: [1, rows, outC], dtype: 'float32' };
  for (let n0 = 0; n0 < batch; n0 += chunk) {
    const count = Math.min(chunk, batch - n0);
    const p = count * perImage;
    const dyChunk =
      count === batch
        ? { dataId: dy.dataId, shape: [1, p, outC], dtype: 'float32' as const }
        : makeView(backend, dy, n0 * perImage * outC, [1, p, outC]);
    let cols: TensorInfo;
    try {
      cols = fastMatMul(backend, dyChunk, filter3, false, true);
    } finally {
      if (dyChunk.dataId !== dy.dataId) releaseView(backend, dyChunk);
    }
    const c = f32View(backend, cols);
    const d = f32View(backend, dx);
    for (let nn = 0; nn < count; nn++) {
      const n = n0 + nn;
      for (let oh = 0; oh < outH; oh++) {
        for (let fh = 0; fh < fH; fh++) {
          const ih = oh * sH - padTop + fh;
          if (ih < 0 || ih >= inH) continue;
          const dRow = (n * inH + ih) * inW;
          for (let ow = 0; ow < outW; ow++) {
            const lo = fwLo[ow];
            const len = (fwHi[ow] - lo) * inC;
            if (len <= 0) continue;
            const pIdx = (nn * outH + oh) * outW + ow;
            const src = pIdx * rows + (fh * fW + lo) * inC;
            const dst = (dRow + ow * sW - padLeft + lo) * inC;
            for (let j = 0; j < len; j++) d[dst + j] += c[src + j];
          }
        }
      }
    }
    dispose(backend, cols);
  }
  return dx;
}

/** Stride 1: dx = conv2d(dy, flip(W) with in/out channels swapped, padding `pads` [t, b, l, r]). */
function transposedConvStride1(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  inShape: [number, number, number, number],
  pads: number[],
): TensorInfo {
  const [fH, fW, inC, outC] = filter.shape;
  const flipped = backend.makeOutput([fH, fW, outC, inC], 'float32');
  const w = f32View(backend, filter);
  const v = f32View(backend, flipped);
  for (let fh = 0; fh < fH; fh++) {
    for (let fw = 0; fw < fW; fw++) {
      const src = ((fH - 1 - fh) * fW + (fW - 1 - fw)) * inC * outC;
      const dst = (fh * fW + fw) * outC * inC;
      for (let ci = 0; ci < inC; ci++) {
        for (let co = 0; co < outC; co++) v[dst + co * inC + ci] = w[src + ci * outC + co];
      }
    }
  }
  try {
    const dx = runStock('Conv2D', backend, { x: dy, filter: flipped }, {
      strides: [1, 1],
      pad: [
        [0, 0],
        [pads[0], pads[1]],
        [pads[2], pads[3]],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    });
    if (dx.shape.join() !== inShape.join()) {
      dispose(backend, dx);
      throw new Error(`wasm Conv2DBackpropInput: got shape ${dx.shape}, expected ${inShape}`);
    }
    return dx;
  } finally {
    dispose(backend, flipped);
  }
}

function conv2DBackpropInput(args: KernelArgs): TensorInfo {
  const { dy, filter } = args.inputs;
  if (dy === undefined || filter === undefined) throw new Error('Conv2DBackpropInput needs inputs dy and filter');
  return conv2DBackpropInputWasm(asWasmBackend(args.backend), dy, filter, attrsAs<Conv2DBackpropInputAttrs>(args));
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: WASM,
  kernelFunc: conv2DBackpropInput,
};
