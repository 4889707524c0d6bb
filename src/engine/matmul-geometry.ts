import { broadcast_util, util, type TensorInfo } from '@tensorflow/tfjs-core';

/** The shapes of a (batched, possibly transposed) matmul, as tfjs's BatchMatMul defines them. */
export interface MatMulGeometry {
  m: number;
  k: number;
  n: number;
  outerA: number[];
  outerB: number[];
  /** Broadcast batch shape of the two operands. */
  batchShape: number[];
  outShape: number[];
  batch: number;
  batchA: number;
  batchB: number;
}

/** Shape checks and sizes shared by the fixed wasm and the native matmul kernels. */
export function matMulGeometry(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulGeometry {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) throw new Error(`matMul needs rank >= 2 operands, got ${a.shape} and ${b.shape}`);
  const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const k = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  if (k !== kB) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} and ` +
        `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchShape = broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  return {
    m,
    k,
    n,
    outerA,
    outerB,
    batchShape,
    outShape: [...batchShape, m, n],
    batch: util.sizeFromShape(batchShape),
    batchA: util.sizeFromShape(outerA),
    batchB: util.sizeFromShape(outerB),
  };
}

/** For each flat output batch index, the flat batch index of an operand (with broadcasting). */
export function batchIndexMap(outer: number[], batchShape: number[]): Int32Array {
  const rank = batchShape.length;
  const padded = [...new Array<number>(rank - outer.length).fill(1), ...outer];
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = padded[d] === 1 ? 0 : s;
    s *= padded[d];
  }
  const total = util.sizeFromShape(batchShape);
  const map = new Int32Array(total);
  for (let i = 0; i < total; i++) {
    let rem = i;
    let idx = 0;
    for (let d = rank - 1; d >= 0; d--) {
      const c = rem % batchShape[d];
      rem = (rem - c) / batchShape[d];
      idx += c * strides[d];
    }
    map[i] = idx;
  }
  return map;
}
