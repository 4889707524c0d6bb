import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, aggregateBatches, computeGram } from '../../../src/balancing/aggregation/index.js';
import type { AggregatorState, ModoState } from '../../../src/balancing/aggregation/index.js';
import { aggregateGram, aggregatorNeeds } from '../../../src/balancing/aggregation/aggregate.js';
import { MultilossError } from '../../../src/errors.js';
import { closeEach, G1, G2, G3 } from './batch-cases.js';

// MoDo (Chen et al., NeurIPS 2023): λ ← Π_Δ(λ − γ(G₁G₂ᵀλ + ρλ)) from two independent batches'
// gradients, the direction Σ_t T·λ_t g_t(z₃) from the third's.

const close = (got: ArrayLike<number>, want: number[], what: string): void => closeEach(got, want, 1e-12, what);

test('modo: the weight step uses the product G₁G₂ᵀ of two batches, in that order, and the direction the third batch', () => {
  // G₁G₂ᵀ = [[2, −1], [0, −1]]; from λ = (½, ½): G₁G₂ᵀλ = (½, −½), z = λ − ½·(½, −½) = (¼, ¾), already in the simplex.
  // (G₂G₁ᵀλ = (1, −1) would give z = (0, 1); G₁G₁ᵀ or G₂G₂ᵀ, a single batch's biased product, other values again.)
  const r = aggregateBatches('modo', [G1, G2, G3], { gamma: 0.5, rho: 0 });
  close(r.weights!, [0.5, 1.5], 'weights T·λ');
  close(r.direction, [0.5 * 1 + 1.5 * 3, 0.5 * 2 + 1.5 * 4], 'direction Σ w_t g_t(z₃)');
  assert.deepEqual((r.state as ModoState).lambda, [0.25, 0.75]);
  // The next step continues from λ: z = (¼, ¾) − ½·(G₁G₂ᵀ(¼, ¾) + 0.2·(¼, ¾)) = (¼ − ½(−¼ + 0.05), ¾ − ½(−¾ + 0.15)) = (0.35, 1.05),
  // projected: θ = 0.2, λ = (0.15, 0.85).
  const next = aggregateBatches('modo', [G1, G2, G3], { gamma: 0.5, rho: 0.2 }, r.state);
  close((next.state as ModoState).lambda!, [0.15, 0.85], 'λ after the projection');
  assert.equal(next.state.step, 2);
});

test('modo: λ stays on the simplex and T·λ sums to T, for any batches', () => {
  let state: AggregatorState | undefined;
  let seed = 7;
  const draw = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  for (let step = 0; step < 50; step++) {
    const batches = [0, 1, 2].map(() => Array.from({ length: 4 }, () => Array.from({ length: 6 }, draw)));
    const r = aggregateBatches('modo', batches, { gamma: 0.3, rho: 0.1 }, state);
    const lambda = (r.state as ModoState).lambda!;
    assert.ok(lambda.every((l) => l >= 0), `λ ≥ 0 at step ${step}`);
    assert.ok(Math.abs(lambda.reduce((a, b) => a + b, 0) - 1) < 1e-12, `Σλ = 1 at step ${step}`);
    state = r.state;
  }
});

test('modo: one matrix is every batch; the Gram-only path (the training loop) gives the same weights and state', () => {
  assert.deepEqual(aggregate('modo', G3, { gamma: 0.1 }), aggregateBatches('modo', [G3, G3, G3], { gamma: 0.1 }));
  // The joint Gram matrix of the three batches' rows stacked, as the param step computes it.
  const stacked = [...G1, ...G2, ...G3];
  const joint = computeGram(stacked);
  const viaGram = aggregateGram('modo', joint, 2, 2, { gamma: 0.5, rho: 0 }, undefined, 3);
  const viaRows = aggregateBatches('modo', [G1, G2, G3], { gamma: 0.5, rho: 0 });
  assert.deepEqual(Array.from(viaGram.weights), Array.from(viaRows.weights!));
  assert.deepEqual(viaGram.state, viaRows.state);
  assert.equal(aggregatorNeeds('modo').batches, 3);
});

test('modo: a wrong number of batches, mismatched matrices and bad options are one-line errors', () => {
  assert.throws(() => aggregateBatches('modo', [G1, G2]), (e: unknown) => e instanceof MultilossError && /'modo' takes 3 batches' gradients per step, got 2/.test(e.message));
  assert.throws(() => aggregateBatches('mgda', [G1, G2]), /'mgda' takes 1 batch' gradients per step, got 2/);
  assert.throws(() => aggregateBatches('modo', [G1, G2, [[1, 2, 3], [4, 5, 6]]]), /every batch's matrix must be 2×3/);
  assert.throws(() => aggregate('modo', G1, { gamma: -1 }), /balance\.gamma \(method "modo"\) must be a finite number in \[0, ∞\), got -1/);
  assert.throws(() => aggregate('modo', G1, { rho: Number.NaN }), /balance\.rho \(method "modo"\)/);
  assert.throws(() => aggregate('modo', G1, {}, { method: 'modo', step: 1, lambda: [0.5] }), /state\.lambda must be null or an array of 2 numbers/);
});
