import * as tf from '@tensorflow/tfjs-core';
import type { StreamingMetric } from '../metrics/metric.js';
import type { Head } from '../model/heads/head.js';
import type { TrainableNetwork } from '../model/trainable-network.js';
import { sliceEncoded, type EvaluationSource } from './batch-source.js';
import { inputShapeOf, type EncodedData } from './data.js';
import type { HeadLog, SplitLog } from './history.js';

/**
 * Losses and metrics summed batch by batch in inference mode, exact over
 * everything added (not an average of batch averages).
 */
export class EvaluationAccumulator {
  private readonly lossSum: Float64Array;
  private readonly weightSum: Float64Array;
  private readonly metrics: StreamingMetric[][];

  constructor(
    private readonly network: TrainableNetwork,
    private readonly heads: readonly Head[],
  ) {
    this.lossSum = new Float64Array(heads.length);
    this.weightSum = new Float64Array(heads.length);
    this.metrics = heads.map((h) => h.createMetrics());
  }

  /** One forward pass over the batch's rows. */
  add(data: EncodedData): void {
    const { network, heads } = this;
    const T = heads.length;
    const n = data.n;
    if (n === 0) return;
    const packed = tf.tidy(() => {
      const x = tf.tensor(data.x.subarray(0, n * data.inputSize), [n, ...inputShapeOf(data)]);
      const raw = network.forwardHeads(network.forwardTrunk(x, false), x);
      const parts: tf.Tensor[] = [];
      raw.forEach((r, h) => {
        const y = tf.tensor2d(data.targets[h].y.subarray(0, n * heads[h].units), [n, heads[h].units]);
        parts.push(heads[h].loss.perSample(y, r));
      });
      network.activate(raw).forEach((o) => parts.push(tf.reshape(o, [-1])));
      return tf.concat(parts.map((p) => tf.reshape(p, [-1])));
    });
    const values = packed.dataSync() as Float32Array;
    packed.dispose();
    let offset = 0;
    const perSample: Float32Array[] = [];
    for (let h = 0; h < T; h++) {
      perSample.push(values.subarray(offset, offset + n));
      offset += n;
    }
    for (let h = 0; h < T; h++) {
      const t = data.targets[h];
      const len = n * heads[h].units;
      const yPred = heads[h].toMetricSpace(values.subarray(offset, offset + len));
      offset += len;
      for (let r = 0; r < n; r++) {
        const w = t.weight[r];
        if (w > 0) {
          this.lossSum[h] += w * perSample[h][r];
          this.weightSum[h] += w;
        }
      }
      const yTrue = t.yMetric.subarray(0, len);
      const mask = t.mask.subarray(0, n);
      for (const m of this.metrics[h]) m.update(yTrue, yPred, mask);
    }
  }

  /** `weights` are the head weights for the total. */
  result(weights: readonly number[]): SplitLog {
    const out: Record<string, HeadLog> = {};
    let total = 0;
    this.heads.forEach((head, h) => {
      const loss = this.weightSum[h] > 0 ? this.lossSum[h] / this.weightSum[h] : 0;
      total += weights[h] * loss;
      out[head.name] = { loss, weight: weights[h], metrics: Object.fromEntries(this.metrics[h].map((m) => [m.name, m.result()])) };
    });
    return { loss: total, heads: out };
  }
}

/**
 * Losses and metrics over a whole data set in inference mode, exact (not an
 * average of batch averages). `weights` are the head weights for the total.
 */
export function evaluateEncoded(network: TrainableNetwork, heads: readonly Head[], data: EncodedData, weights: readonly number[], batchSize = 1024): SplitLog {
  const acc = new EvaluationAccumulator(network, heads);
  const units = heads.map((h) => h.units);
  for (let start = 0; start < data.n; start += batchSize) {
    acc.add(sliceEncoded(data, start, Math.min(data.n, start + batchSize), units));
  }
  return acc.result(weights);
}

/** `evaluateEncoded` over a source read batch by batch (a validation file streamed, a dataset). */
export async function evaluateSource(
  network: TrainableNetwork,
  heads: readonly Head[],
  source: EncodedData | EvaluationSource,
  weights: readonly number[],
  batchSize = 1024,
): Promise<SplitLog> {
  if (!isEvaluationSource(source)) return evaluateEncoded(network, heads, source, weights, batchSize);
  const acc = new EvaluationAccumulator(network, heads);
  for await (const batch of source.batches(batchSize)) acc.add(batch);
  return acc.result(weights);
}

export function isEvaluationSource(v: EncodedData | EvaluationSource): v is EvaluationSource {
  return typeof (v as EvaluationSource).batches === 'function';
}
