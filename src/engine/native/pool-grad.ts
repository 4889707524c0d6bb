/**
 * The gradient of max pooling, optionally together with relu's before it, as one native kernel
 * (native/src/conv.cc `max_pool_grad`), in place on the wasm heap. `relu`: `input` is relu's
 * output, and the result is the gradient at relu's input (MaxPoolGrad then × step, in one pass;
 * a window whose maximum is not > 0 passes nothing). Returns undefined when the native kernels
 * are not active (another backend, MULTILOSS_NATIVE=0, no addon) or a tensor is not float32 on
 * the wasm heap: the caller then runs its tfjs ops.
 *
 * Browser-safe: the native kernels are only ever active under the Node backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, floatOnHeap } from '../wasm-kernels/internals.js';
import { nativeKernelAddonSet, nativeMaxPoolGrad } from './kernels.js';
import { nativeKernelsActive } from './state.js';

export interface PoolGradAttrs {
  filterSize: [number, number];
  strides: [number, number];
  pad: 'valid' | 'same';
}

export function maxPoolGradNative(dy: tf.Tensor4D, input: tf.Tensor4D, attrs: PoolGradAttrs, relu: boolean): tf.Tensor4D | undefined {
  if (!nativeKernelsActive() || !nativeKernelAddonSet()) return undefined;
  const backend = asWasmBackend(tf.backend());
  if (dy.dtype !== 'float32' || !floatOnHeap(backend, dy) || !floatOnHeap(backend, input)) return undefined;
  const info = tf.backend_util.computePool2DInfo(input.shape, attrs.filterSize, attrs.strides, 1, attrs.pad);
  return tf.engine().makeTensorFromTensorInfo(nativeMaxPoolGrad(backend, info, input, dy, relu)) as tf.Tensor4D;
}
