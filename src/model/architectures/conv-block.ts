/**
 * A conv unit's conv2d + bias + activation (linear or relu) + optional max pooling as one tape
 * node. tfjs runs tf.fused.conv2d with relu as separate ops under a tape (Conv2D, Add, Relu and
 * their gradients: Step, Multiply, Sum, then MaxPoolGrad), each a full pass over the
 * activations with its own bookkeeping; here the forward pass is one FusedConv2D kernel (bias
 * and relu in the GEMM's epilogue) and MaxPool, and the backward pass is the pooling and relu
 * gradients in one native kernel where the native kernels are active (MaxPoolGrad, then × step(y)
 * otherwise), ∂W and ∂b = Σ dz (one native pass for both where active) and, when `inputGradient`, ∂x. `inputGradient` false is for the
 * trunk's first layer (its input is data): no ∂x convolution.
 */
import * as tf from '@tensorflow/tfjs-core';
import { convFilterBiasGradNative } from '../../engine/native/conv-grad.js';
import { maxPoolGradNative } from '../../engine/native/pool-grad.js';

export type ConvBlockActivation = 'linear' | 'relu';

export interface ConvBlockOptions {
  strides: [number, number];
  padding: 'same' | 'valid';
  activation: ConvBlockActivation;
  /** Max pooling after the activation. */
  pool?: { size: [number, number]; strides: [number, number]; padding: 'same' | 'valid' };
  inputGradient: boolean;
}

export function convBlock(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D, o: ConvBlockOptions): tf.Tensor4D {
  const engine = tf.engine();
  const pool = o.pool;
  const forwardOnly = (): tf.Tensor4D => {
    const y = tf.fused.conv2d({ x, filter: kernel, strides: o.strides, pad: o.padding, bias, activation: o.activation });
    return pool ? tf.maxPool(y, pool.size, pool.strides, pool.padding) : y;
  };
  if (!engine.isTapeOn()) return forwardOnly();
  const convAttrs = { strides: o.strides, pad: o.padding, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined };
  const forward = (save: tf.GradSaveFunc): { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] } => {
    const y = engine.runKernel(tf.FusedConv2D, { x, filter: kernel, bias }, { ...convAttrs, activation: o.activation } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    const value = pool ? tf.maxPool(y, pool.size, pool.strides, pool.padding) : y;
    save(pool ? [x, y, value] : [x, y]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [input, output, pooled] = saved as tf.Tensor4D[];
        const relu = o.activation === 'relu';
        let dz: tf.Tensor4D;
        if (pool) {
          const attrs = { filterSize: pool.size, strides: pool.strides, pad: pool.padding };
          const fused = maxPoolGradNative(dy as tf.Tensor4D, output, attrs, relu);
          if (fused) dz = fused;
          else {
            const g = engine.runKernel(tf.MaxPoolGrad, { dy, input: output, output: pooled }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
            dz = relu ? tf.mul(g, tf.step(output)) : g;
          }
        } else {
          dz = relu ? tf.mul(dy, tf.step(output)) : (dy as tf.Tensor4D);
        }
        // ∂W and ∂b in one native pass over dz where the native kernels are active.
        const [dW, db] = convFilterBiasGradNative(input, dz, kernel.shape, { strides: o.strides, pad: o.padding }) ?? [
          engine.runKernel(tf.Conv2DBackpropFilter, { x: input, dy: dz }, { ...convAttrs, filterShape: kernel.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
          tf.sum(dz, [0, 1, 2]),
        ];
        if (!o.inputGradient) return [dW, db];
        const dx = engine.runKernel(tf.Conv2DBackpropInput, { dy: dz, filter: kernel }, { ...convAttrs, inputShape: input.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
        return [dx, dW, db];
      },
    };
  };
  const op = o.inputGradient
    ? tf.customGrad((_x, _w, _b, save) => forward(save as tf.GradSaveFunc))
    : tf.customGrad((_w, _b, save) => forward(save as tf.GradSaveFunc));
  return (o.inputGradient ? op(x, kernel, bias) : op(kernel, bias)) as tf.Tensor4D;
}
