/**
 * Custom parts, registered by name so that heads here and config files alike
 * can use them: a per-sample loss, a streaming metric, a head kind and a
 * balancing method.
 *
 *   node --import tsx examples/api/custom-parts.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  initBackend,
  registerBalancingMethod,
  registerHeadKind,
  registerLoss,
  registerMetric,
  trainLayersModel,
  type LossBalancer,
  type StreamingMetric,
} from '../../src/index.js';

await initBackend();

// A loss: yTrue and the head's raw output (n × units) → one loss per row. Masking, weights and the
// mean are applied by multiloss; a wrong shape or a NaN is an error naming the head.
registerLoss('pinball_90', (yTrue, yPred) => {
  const diff = tf.sub(yTrue, yPred);
  return tf.reshape(tf.maximum(tf.mul(0.9, diff), tf.mul(-0.1, diff)), [-1]); // the 90th-percentile loss
});

// A streaming metric: exact over the whole set (update per batch, result at the end).
class Coverage implements StreamingMetric {
  readonly name = 'coverage';
  readonly higherIsBetter = true;
  private below = 0;
  private n = 0;
  update(yTrue: Float32Array, yPred: Float32Array, mask: Float32Array): void {
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      this.n++;
      if (yTrue[i] <= yPred[i]) this.below++;
    }
  }
  result(): number {
    return this.n ? this.below / this.n : NaN;
  }
  reset(): void {
    this.below = this.n = 0;
  }
}
registerMetric('coverage', () => new Coverage());

// A head kind: a quantile of a number, with its activation, default loss, metrics and decoding.
registerHeadKind({
  kind: 'p90',
  activation: 'linear',
  loss: 'pinball_90',
  metrics: ['coverage'],
  decode: (output, row) => ({ p90: output[row] }),
});

// A balancing method, through the same interface as the built-in loss-based ones:
// here the weights follow each head's share of the last step's total loss.
registerBalancingMethod('loss_share', (heads): LossBalancer => {
  let weights = heads.map(() => 1);
  return {
    kind: 'loss',
    name: 'loss_share',
    combine: (losses) => {
      const w = tf.tensor1d(weights);
      return { total: tf.sum(tf.mul(tf.stack(losses), w)) as tf.Scalar, weights: w };
    },
    afterStep: ({ losses }) => {
      const sum = losses.reduce((a, b) => a + b, 0) || 1;
      weights = losses.map((l) => (heads.length * l) / sum);
    },
    variables: () => [],
    getState: () => ({ weights }),
    setState: (state) => void (weights = state.weights as number[]),
  };
});

// A model with two outputs over one shared layer: the delivery time's 90th percentile, and late or not.
const input = tfl.input({ shape: [2] });
const h = tfl.layers.dense({ units: 16, activation: 'relu', name: 'shared' }).apply(input) as tfl.SymbolicTensor;
const time = tfl.layers.dense({ units: 1, name: 'time' }).apply(h) as tfl.SymbolicTensor;
const late = tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'late' }).apply(h) as tfl.SymbolicTensor;
const model = tfl.model({ inputs: input, outputs: [time, late] });

const xs = Array.from({ length: 400 }, (_, i) => [(i % 20) / 20, ((i * 7) % 13) / 13]);
const noise = xs.map((_, i) => ((i * 7919) % 100) / 100);
const times = xs.map(([distance, traffic], i) => 1 + 3 * distance + 2 * traffic * noise[i]);
const result = await trainLayersModel(
  model,
  {
    heads: { time: { kind: 'p90' }, late: { kind: 'binary' } },
    balance: 'loss_share',
    training: { epochs: 40, batchSize: 32, learningRate: 0.02, seed: 2 },
  },
  { xs, ys: { time: times, late: times.map((t) => (t > 3 ? 1 : 0)) } },
);
const last = result.history.at(-1);
console.log(`time: pinball loss ${last?.train.heads.time.loss.toFixed(3)}, coverage ${last?.train.heads.time.metrics.coverage.toFixed(2)} (target 0.90)`);
console.log(`weights: time ${last?.train.heads.time.weight.toFixed(2)}, late ${last?.train.heads.late.weight.toFixed(2)}`);
console.log('decoded:', JSON.stringify(result.predictDecoded(tf.tensor2d([[0.5, 0.5]]))[0]));
