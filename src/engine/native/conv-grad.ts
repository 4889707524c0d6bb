/**
 * A conv2d's filter and bias gradients as one native kernel (native/src/conv.cc
 * `conv2d_backprop_filter` with the bias sums), in place on the wasm heap: the conv block's
 * backward pass without a separate Sum over the activations' gradient. Returns undefined when the
 * native kernels are not active (another backend, MULTILOSS_NATIVE=0, no addon) or a tensor is
 * not float32 on the wasm heap: the caller then runs its tfjs ops.
 *
 * Browser-safe: the native kernels are only ever active under the Node backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, floatOnHeap } from '../wasm-kernels/internals.js';
import { nativeConv2dFilterBiasGrad, nativeKernelAddonSet } from './kernels.js';
import { nativeKernelsActive } from './state.js';

export interface ConvGradAttrs {
  strides: [number, number];
  pad: 'valid' | 'same';
}

export function convFilterBiasGradNative(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attrs: ConvGradAttrs,
): [tf.Tensor4D, tf.Tensor1D] | undefined {
  if (!nativeKernelsActive() || !nativeKernelAddonSet()) return undefined;
  const backend = asWasmBackend(tf.backend());
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || !floatOnHeap(backend, x) || !floatOnHeap(backend, dy)) return undefined;
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, attrs.strides, 1, attrs.pad, undefined, false, 'channelsLast');
  if (info.outShape.some((d) => d < 0) || info.outShape.join() !== dy.shape.join()) return undefined;
  const [df, db] = nativeConv2dFilterBiasGrad(backend, info, x, dy);
  const engine = tf.engine();
  return [engine.makeTensorFromTensorInfo(df) as tf.Tensor4D, engine.makeTensorFromTensorInfo(db) as tf.Tensor1D];
}
