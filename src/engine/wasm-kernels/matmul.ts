/**
 * Matrix multiply on the wasm backend that always reaches XNNPACK.
 *
 * The stock wasm matmul (C++ `fused_batch_mat_mul`, 4.22) takes the XNNPACK fully-connected
 * path only when neither operand is transposed AND both flattened batch sizes are 1; every
 * other case runs a blocked scalar loop (~2-3 GFLOP/s instead of ~30-45) that also
 *  - adds the wrong bias element for every row after the first (`bias[min(i*N+j, N-1)]`), and
 *  - handles batch broadcasting only between flattened batch sizes (1 vs n), so e.g.
 *    [2,1,m,k] x [1,3,k,n] gives a wrong, short result.
 * Also, its XNNPACK operator cache is keyed by the id of `b` but not by its shape: the same
 * buffer used again as `b` with another [k, n] reading (a reshape shares the id) silently
 * reuses the first operator.
 *
 * `fastMatMul` therefore: materialises transposed operands with the stock (fast) Transpose
 * kernel (for A B^T with a large B it computes (B A^T)^T instead, which moves less data); folds a batch into the rows when `b` has no batch; otherwise calls the stock kernel
 * once per output batch on zero-copy slices (views); and never hands the stock kernel a `b`
 * id it has seen with another shape. Epilogues the C++ kernel cannot do correctly (a bias that
 * is not one value per output column, PReLU weights that do not tile the output) are applied
 * afterwards with stock elementwise kernels.
 */
import { batchIndexMap, matMulGeometry } from '../matmul-geometry.js';
import { util, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import {
  dispose,
  f32View,
  makeView,
  makeZeros,
  releaseView,
  runStock,
  transposeLast2,
  withShape,
  type Activation,
  type WasmBackend,
} from './internals.js';

export interface MatMulEpilogue {
  bias?: TensorInfo;
  activation?: Activation;
  preluActivationWeights?: TensorInfo;
  leakyreluAlpha?: number;
}

/** The [k, n] reading each buffer was first given as `b` (see the operator-cache note above). */
const bShapeSeen = new WeakMap<object, string>();

/** Drop leading 1s. */
function squeezeLeading(shape: number[]): number[] {
  let i = 0;
  while (i < shape.length && shape[i] === 1) i++;
  return shape.slice(i);
}

function endsWith(shape: number[], tail: number[]): boolean {
  if (tail.length > shape.length) return false;
  const off = shape.length - tail.length;
  return tail.every((d, i) => shape[off + i] === d);
}


/** Apply an activation with stock wasm kernels (for epilogues the matmul kernel cannot fuse). */
function applyActivation(
  backend: WasmBackend,
  x: TensorInfo,
  activation: Activation,
  prelu: TensorInfo | undefined,
  leakyreluAlpha: number,
): TensorInfo {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return runStock('Relu', backend, { x });
    case 'relu6':
      return runStock('Relu6', backend, { x });
    case 'elu':
      return runStock('Elu', backend, { x });
    case 'sigmoid':
      return runStock('Sigmoid', backend, { x });
    case 'leakyrelu':
      return runStock('LeakyRelu', backend, { x }, { alpha: leakyreluAlpha });
    case 'prelu': {
      if (prelu === undefined) throw new Error('fused matMul: prelu activation needs preluActivationWeights');
      // prelu(x, a) = relu(x) + a * (x - relu(x)), with full broadcasting of `a`.
      const pos = runStock('Relu', backend, { x });
      const neg = runStock('Sub', backend, { a: x, b: pos });
      const scaled = runStock('Multiply', backend, { a: neg, b: prelu });
      const out = runStock('Add', backend, { a: pos, b: scaled });
      dispose(backend, pos);
      dispose(backend, neg);
      dispose(backend, scaled);
      return out;
    }
    default:
      throw new Error(`fused matMul: activation '${String(activation)}' is not supported on wasm`);
  }
}

/**
 * `a @ b` (optionally transposed), with an optional fused epilogue, through XNNPACK.
 * Shapes follow tf.matMul: rank >= 2, broadcasting batch dims. float32 only.
 */
export function fastMatMul(
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  epilogue: MatMulEpilogue = {},
): TensorInfo {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error('BatchMatMul for non non-float32 tensors not yet supported.');
  }
  const { m, k, n, outerA, outerB, batchShape, outShape, batch, batchA, batchB } = matMulGeometry(a, b, transposeA, transposeB);

  const activation = epilogue.activation ?? 'linear';
  const alpha = epilogue.leakyreluAlpha ?? 0;
  const bias = epilogue.bias;
  const prelu = epilogue.preluActivationWeights;

  if (util.sizeFromShape(outShape) === 0) return backend.makeOutput(outShape, 'float32');

  // Which parts of the epilogue the C++ kernel gets right: a bias of exactly n values along the
  // last dim; PReLU weights that tile the output of one kernel call.
  const biasShape = bias === undefined ? [] : squeezeLeading(bias.shape);
  const biasFits =
    bias === undefined || (biasShape.length === 0 && n === 1) || (biasShape.length === 1 && biasShape[0] === n);
  let preluFits = true;
  if (activation === 'prelu') {
    const w = prelu === undefined ? [] : squeezeLeading(prelu.shape);
    preluFits = prelu !== undefined && w.length <= 2 && endsWith([m, n], w);
  }
  const fuseInKernel = k > 0 && biasFits && preluFits;
  const kernelActivation: Activation = fuseInKernel ? activation : 'linear';
  const needsFused = fuseInKernel && (bias !== undefined || activation !== 'linear');

  const temps: TensorInfo[] = [];
  const views: TensorInfo[] = [];
  try {
    // The stock _FusedMatMul insists on a rank-1 bias in its own records: give it a view if needed.
    let kernelBias: TensorInfo | undefined;
    if (fuseInKernel && bias !== undefined) {
      if (bias.shape.length === 1) {
        kernelBias = bias;
      } else {
        kernelBias = makeView(backend, bias, 0, [n]);
        views.push(kernelBias);
      }
    }
    const kernelPrelu = fuseInKernel && activation === 'prelu' ? prelu : undefined;

    const call = (a3: TensorInfo, b3: TensorInfo): TensorInfo => {
      if (!needsFused) {
        return runStock('BatchMatMul', backend, { a: a3, b: b3 }, { transposeA: false, transposeB: false });
      }
      const inputs: NamedTensorInfoMap = { a: a3, b: b3 };
      if (kernelBias !== undefined) inputs.bias = kernelBias;
      if (kernelPrelu !== undefined) inputs.preluActivationWeights = kernelPrelu;
      return runStock('_FusedMatMul', backend, inputs, {
        transposeA: false,
        transposeB: false,
        activation: kernelActivation,
        leakyreluAlpha: alpha,
      });
    };

    /** `bN` as the weights operand [1, k, n], under an id never seen with another shape. */
    const weights = (bN: TensorInfo, fresh: boolean): TensorInfo => {
      const shape = [1, k, n];
      if (!fresh) {
        const key = `${k}x${n}`;
        const seen = bShapeSeen.get(bN.dataId);
        if (seen === undefined) {
          bShapeSeen.set(bN.dataId, key);
        } else if (seen !== key) {
          const v = makeView(backend, bN, 0, shape);
          views.push(v);
          return v;
        }
      }
      return { dataId: bN.dataId, shape, dtype: 'float32' };
    };

    let out: TensorInfo;
    if (k === 0) {
      out = makeZeros(backend, outShape, 'float32');
    } else if (transposeB && !transposeA && batch === 1 && !needsFused && 2 * m * k + m * n < 2 * n * k) {
      // C = A B^T as (B A^T)^T: transposes A (m*k) and C (m*n) instead of B (n*k), and XNNPACK
      // packs A^T rather than B^T. Cheaper when b is the bigger operand, e.g. dX = dY W^T.
      const aT = transposeLast2(backend, { dataId: a.dataId, shape: [m, k], dtype: 'float32' });
      temps.push(aT);
      const cT = call(
        { dataId: b.dataId, shape: [1, n, k], dtype: 'float32' },
        { dataId: aT.dataId, shape: [1, k, m], dtype: 'float32' },
      );
      temps.push(cT);
      out = withShape(backend, transposeLast2(backend, { dataId: cT.dataId, shape: [n, m], dtype: 'float32' }), outShape);
    } else {
      let aN = a;
      if (transposeA) {
        aN = transposeLast2(backend, a);
        temps.push(aN);
      }
      let bN = b;
      if (transposeB) {
        bN = transposeLast2(backend, b);
        temps.push(bN);
      }
      if (batchB === 1) {
        // One XNNPACK call; a batch of `a` folds into its rows (batch === batchA here).
        const a3: TensorInfo = { dataId: aN.dataId, shape: [1, batchA * m, k], dtype: 'float32' };
        out = withShape(backend, call(a3, weights(bN, transposeB)), outShape);
      } else {
        out = backend.makeOutput([batch, m, n], 'float32');
        const mapA = batchIndexMap(outerA, batchShape);
        const mapB = batchIndexMap(outerB, batchShape);
        const aSlices = new Map<number, TensorInfo>();
        const bSlices = new Map<number, TensorInfo>();
        const slice = (cache: Map<number, TensorInfo>, base: TensorInfo, idx: number, rows: number, cols: number) => {
          let v = cache.get(idx);
          if (v === undefined) {
            v = makeView(backend, base, idx * rows * cols, [1, rows, cols]);
            views.push(v);
            cache.set(idx, v);
          }
          return v;
        };
        const mn = m * n;
        for (let i = 0; i < batch; i++) {
          const a3 =
            batchA === 1 ? { dataId: aN.dataId, shape: [1, m, k], dtype: 'float32' as const } : slice(aSlices, aN, mapA[i], m, k);
          const b3 = slice(bSlices, bN, mapB[i], k, n);
          const r = call(a3, b3);
          f32View(backend, out, i * mn, mn).set(f32View(backend, r, 0, mn));
          dispose(backend, r);
        }
        out = withShape(backend, out, outShape);
      }
    }

    if (!fuseInKernel) {
      if (bias !== undefined) {
        const withBias = runStock('Add', backend, { a: out, b: bias });
        dispose(backend, out);
        out = withBias;
      }
      const activated = applyActivation(backend, out, activation, prelu, alpha);
      if (activated !== out) {
        dispose(backend, out);
        out = activated;
      }
    }
    return out;
  } finally {
    for (const v of views) releaseView(backend, v);
    for (const t of temps) dispose(backend, t);
  }
}
