/**
 * Train a model written as plain tfjs-core code (no tfjs-layers): a trunk
 * function, one function per output, and the variables of each part.
 * Splitting trunk and heads makes 'rep' mode, GradNorm and gradient
 * diagnostics available; a single `forward(x)` returning every output works
 * for the other methods.
 *
 *   node --import tsx examples/api/function-model.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, trainFunctionModel, type FunctionModel } from '../../src/index.js';

await initBackend();

const glorot = (rows: number, cols: number, seed: number) => tf.variable(tf.randomUniform([rows, cols], -Math.sqrt(6 / (rows + cols)), Math.sqrt(6 / (rows + cols)), 'float32', seed));
const w1 = glorot(2, 16, 1);
const b1 = tf.variable(tf.zeros([16]));
const wDistance = glorot(16, 1, 2);
const wQuadrant = glorot(16, 4, 3);

const model: FunctionModel = {
  // The shared representation; ctx.seed() gives reproducible dropout masks (the same in replays).
  trunk: (x, ctx) => {
    const h = tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w1), b1));
    return ctx.training ? tf.dropout(h, 0.1, undefined, ctx.seed()) : h;
  },
  // Raw outputs: logits for the classification head, the standardized value for regression.
  heads: {
    distance: (rep) => tf.matMul(rep as tf.Tensor2D, wDistance),
    quadrant: (rep) => tf.matMul(rep as tf.Tensor2D, wQuadrant),
  },
  variables: { shared: [w1, b1], heads: { distance: [wDistance], quadrant: [wQuadrant] } },
};

const points = Array.from({ length: 400 }, (_, i) => [Math.cos(i * 2.4) * (1 + (i % 5)), Math.sin(i * 2.4) * (1 + (i % 7))]);
const data = {
  xs: tf.tensor2d(points),
  ys: {
    distance: points.map(([x, y]) => Math.hypot(x, y)),
    quadrant: points.map(([x, y]) => (x >= 0 ? (y >= 0 ? 0 : 3) : y >= 0 ? 1 : 2)),
  },
};

const result = await trainFunctionModel(
  model,
  {
    heads: { distance: { kind: 'regression', standardize: true }, quadrant: { kind: 'classification', classes: ['NE', 'NW', 'SW', 'SE'] } },
    balance: { method: 'cagrad', mode: 'rep' },
    training: { epochs: 20, batchSize: 32, learningRate: 0.02, seed: 7 },
    validationSplit: 0.25,
  },
  data,
);
const last = result.history.at(-1);
console.log(`epoch ${last?.epoch}: distance RMSE ${last?.validation?.heads.distance.metrics.rmse.toFixed(3)}, quadrant accuracy ${last?.validation?.heads.quadrant.metrics.accuracy.toFixed(2)}`);
console.log('cosine(distance, quadrant) at the representation:', last?.diagnostics?.cosine.distance.quadrant.toFixed(3));
// Decoded: the distance in its own unit (the head trained it standardized), the quadrant's label.
const [row] = result.predictDecoded(tf.tensor2d([[3, -2]]));
const quadrant = row.quadrant as { label: string; probabilities: Record<string, number> };
console.log(`predicted distance ${(row.distance as number).toFixed(2)} (true ${Math.hypot(3, -2).toFixed(2)}), quadrant ${quadrant.label} (p ${quadrant.probabilities[quadrant.label].toFixed(3)})`);
