/**
 * `Conv2DBackpropFilter` for the wasm backend (not registered there in tfjs 4.22, so training any
 * conv net fails). NHWC, dilation 1, any strides and padding ('same', 'valid', a number, explicit).
 *
 * dW[fh, fw, ci, co] = sum over (n, oh, ow) of x[n, oh*sh - pt + fh, ow*sw - pl + fw, ci] * dy[n, oh, ow, co]
 *
 * Built as one matmul through XNNPACK: colsT [fh*fw*ci, P] (im2col, transposed, written straight
 * into the wasm heap) times dy [P, co], P = n*oh*ow. Large batches are done in chunks so the
 * column buffer stays bounded.
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
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
  withShape,
  WASM,
  type KernelArgs,
  type WasmBackend,
} from './internals.js';
import { fastMatMul } from './matmul.js';

interface Geometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  fH: number;
  fW: number;
  sH: number;
  sW: number;
  padTop: number;
  padLeft: number;
}

/** colsT[r, p] for images n0..n0+count-1, r = (fh*fW + fw)*inC + ci, p = (n*outH + oh)*outW + ow. */
function im2colT(g: Geometry, x: Float32Array, cols: Float32Array, n0: number, count: number): void {
  const { inH, inW, inC, outH, outW, fH, fW, sH, sW, padTop, padLeft } = g;
  const p = count * outH * outW;
  // Valid ow range per fw: 0 <= ow*sW - padLeft + fw < inW.
  const owLo = new Int32Array(fW);
  const owHi = new Int32Array(fW);
  for (let fw = 0; fw < fW; fw++) {
    owLo[fw] = Math.min(outW, Math.max(0, Math.ceil((padLeft - fw) / sW)));
    owHi[fw] = Math.max(owLo[fw], Math.min(outW, Math.floor((inW - 1 + padLeft - fw) / sW) + 1));
  }
  const xRow = inW * inC;
  const xImg = inH * xRow;
  for (let nn = 0; nn < count; nn++) {
    const xN = (n0 + nn) * xImg;
    for (let oh = 0; oh < outH; oh++) {
      const pBase = (nn * outH + oh) * outW;
      for (let fh = 0; fh < fH; fh++) {
        const ih = oh * sH - padTop + fh;
        const rowValid = ih >= 0 && ih < inH;
        for (let fw = 0; fw < fW; fw++) {
          const lo = rowValid ? owLo[fw] : outW;
          const hi = rowValid ? owHi[fw] : outW;
          const iw0 = -padLeft + fw;
          for (let ci = 0; ci < inC; ci++) {
            const dst = ((fh * fW + fw) * inC + ci) * p + pBase;
            for (let ow = 0; ow < lo; ow++) cols[dst + ow] = 0;
            let src = xN + ih * xRow + (iw0 + lo * sW) * inC + ci;
            const step = sW * inC;
            for (let ow = lo; ow < hi; ow++, src += step) cols[dst + ow] = x[src];
            for (let ow = hi; ow < outW; ow++) cols[dst + ow] = 0;
          }
        }
      }
    }
  }
}

export function conv2DBackpropFilterWasm(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: Conv2DBackpropFilterAttrs,
): TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  if (format !== 'channelsLast') {
    throw new Error(`wasm Conv2DBackpropFilter supports dataFormat 'NHWC' only, got '${dataFormat}'`);
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('wasm Conv2DBackpropFilter: float32 only');
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  const g: Geometry = {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    fH: info.filterHeight,
    fW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
  const rows = g.fH * g.fW * g.inC;
  const perImage = g.outH * g.outW;
  const outShape = [g.fH, g.fW, g.inC, g.outC];
  const chunk = Math.max(1, Math.min(g.batch, Math.floor(convColumnBudget() / Math.max(1, rows * perImage))));

  let acc: TensorInfo | undefined;
  for (let n0 = 0; n0 < g.batch; n0 += chunk) {
    const count = Math.min(chunk, g.batch - n0);
    const p = count * perImage;
    const cols = backend.makeOutput([1, rows, p], 'float32');
    // Views only after the allocation (it may grow the heap).
    im2colT(g, f32View(backend, x), f32View(backend, cols), n0, count);
    const dyChunk = count === g.batch ? dy : makeView(backend, dy, n0 * perImage * g.outC, [p, g.outC]);
    let part: TensorInfo;
    try {
      part = fastMatMul(
        backend,
        cols,
        { dataId: dyChunk.dataId, shape: [1, p, g.outC], dtype: 'float32' },
        false,
        false,
      );
    } finally {
      dispose(backend, cols);
      if (dyChunk !== dy) releaseView(backend, dyChunk);
    }
    if (acc === undefined) {
      acc = part;
    } else {
      const size = rows * g.outC;
      const dst = f32View(backend, acc, 0, size);
      const src = f32View(backend, part, 0, size);
      for (let i = 0; i < size; i++) dst[i] += src[i];
      dispose(backend, part);
    }
  }
  if (acc === undefined) {
    return makeZeros(backend, outShape, 'float32'); // empty batch: the gradient is zero
  }
  return withShape(backend, acc, outShape);
}

function conv2DBackpropFilter(args: KernelArgs): TensorInfo {
  const { x, dy } = args.inputs;
  if (x === undefined || dy === undefined) throw new Error('Conv2DBackpropFilter needs inputs x and dy');
  return conv2DBackpropFilterWasm(asWasmBackend(args.backend), x, dy, attrsAs<Conv2DBackpropFilterAttrs>(args));
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: WASM,
  kernelFunc: conv2DBackpropFilter,
};
