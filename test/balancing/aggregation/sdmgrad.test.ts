import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, aggregateBatches } from '../../../src/balancing/aggregation/index.js';
import type { SdmgradState } from '../../../src/balancing/aggregation/index.js';
import { aggregatorNeeds } from '../../../src/balancing/aggregation/aggregate.js';
import { closeEach, G1, G2, G3 } from './batch-cases.js';

// SDMGrad (Xiao, Ban & Ji, NeurIPS 2023): w ∈ Δ minimising ½‖Gw + λg₀‖² by projected steps on
// unbiased two-batch estimates of its gradient; the direction (Σ_t w_t g_t + λg₀)/(1 + λ) on a third batch.

const close = closeEach;

test('sdmgrad: the weights reach the minimiser of ½‖Gw + λg₀‖² over the simplex (T = 2, closed form)', () => {
  // w = (α, 1 − α): α* = −(g₂ + λg₀)·(g₁ − g₂)/‖g₁ − g₂‖² = 3.7/10, inside [0, 1].
  const G = [
    [2, 0],
    [-1, 1],
  ];
  const lambda = 0.3;
  const r = aggregate('sdmgrad', G, { lambda, iterations: 400, stepSize: 0.1 });
  const w = (r.state as SdmgradState).weights!;
  close(w, [0.37, 0.63], 1e-9, 'w');
  // Reported on the sum scale: (T·w_t + λ)/(1 + λ); the direction T·(Σ w_t g_t + λg₀)/(1 + λ).
  close(r.weights!, [(2 * 0.37 + lambda) / 1.3, (2 * 0.63 + lambda) / 1.3], 1e-9, 'weights');
  const g0 = [0.5, 0.5];
  const gw = [2 * 0.37 - 0.63, 0.63];
  close(r.direction, [0, 1].map((k) => (2 * (gw[k] + lambda * g0[k])) / 1.3), 1e-9, 'direction');
  // λ = 0 is the min-norm point of the two gradients (MGDA): α = (g₂·(g₂ − g₁))/‖g₁ − g₂‖² = 0.4.
  close((aggregate('sdmgrad', G, { lambda: 0, iterations: 400, stepSize: 0.1 }).state as SdmgradState).weights!, [0.4, 0.6], 1e-9, 'w at λ = 0');
});

test('sdmgrad: the weight step uses G₁G₂ᵀ of the first two batches, scaled by the squared mean norm, and the direction the third', () => {
  // G₁G₂ᵀ = [[2, −1], [0, −1]]; diagonal (2, −1) → mean √max(·, 0) = √2/2, squared ½: K̂ = [[4, −2], [0, −2]].
  // w = (½, ½), λ = ½: K̂(w + λ/2) = K̂(¾, ¾) = (1.5, −1.5); one step of ¼: z = (0.125, 0.875), in the simplex.
  const r = aggregateBatches('sdmgrad', [G1, G2, G3], { lambda: 0.5, iterations: 1, stepSize: 0.25, eps: 0 });
  close((r.state as SdmgradState).weights!, [0.125, 0.875], 1e-12, 'w');
  close(r.weights!, [(2 * 0.125 + 0.5) / 1.5, (2 * 0.875 + 0.5) / 1.5], 1e-12, 'weights (T·w + λ)/(1 + λ)');
  close(r.direction, [0.5 * 1 + 1.5 * 3, 0.5 * 2 + 1.5 * 4], 1e-12, 'direction on the third batch');
  assert.equal(aggregatorNeeds('sdmgrad').batches, 3);
  assert.throws(() => aggregate('sdmgrad', G1, { iterations: 0 }), /balance\.iterations \(method "sdmgrad"\) must be/);
  assert.throws(() => aggregate('sdmgrad', G1, { momentum: 1 }), /balance\.momentum \(method "sdmgrad"\) must be/);
});
