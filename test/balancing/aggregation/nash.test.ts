import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate } from '../../../src/balancing/aggregation/index.js';
import { nashSolve } from '../../../src/balancing/aggregation/methods/nash.js';
import { Rng } from '../../../src/util/rng.js';
import { MultilossError } from '../../../src/errors.js';
import { assertClose, assertFiniteArray, dot, gramOf, norm, randn, scenarios } from './helpers.js';

function residual(K: Float64Array, a: ArrayLike<number>, T: number): number {
  let worst = 0;
  for (let i = 0; i < T; i++) {
    let ka = 0;
    for (let j = 0; j < T; j++) ka += K[i * T + j] * a[j];
    worst = Math.max(worst, Math.abs(ka * a[i] - 1)); // |(Kα)_i − 1/α_i| relative to 1/α_i
  }
  return worst;
}

describe('nash', () => {
  it('α solves (GGᵀ)α = 1/α to 1e-6 relative, α > 0 (full row rank, T = 2..10)', () => {
    const rng = new Rng(600);
    for (let rep = 0; rep < 60; rep++) {
      const T = 2 + (rep % 9);
      const G = randn(rng, T, T + 3 + (rep % 4)).map((g) => g.map((v) => v * 10 ** (rng.next() * 4 - 2)));
      const K = gramOf(G);
      const r = aggregate('nash', G, { scale: 'paper' });
      const a = r.weights ?? new Float64Array(0);
      for (const x of a) assert.ok(x > 0);
      assert.ok(residual(K, a, T) < 1e-6, `residual ${residual(K, a, T)} at T=${T}`);
      // The task improvements g_tᵀd are 1/α_t and ‖d‖² = T.
      G.forEach((g, t) => assertClose(dot(g, r.direction) * a[t], 1, 1e-6));
      assertClose(dot(r.direction, r.direction), T, 1e-6 * T);
    }
  });

  it('scenarios: the equation holds on the full-rank cases, everything finite', () => {
    for (const T of [2, 3, 4]) {
      for (const [name, G] of Object.entries(scenarios(610 + T, T, 9))) {
        const r = aggregate('nash', G, { scale: 'paper' });
        assertFiniteArray(r.direction, name);
        if (name === 'zeroRow') {
          const K = gramOf(G.filter((g) => norm(g) > 0));
          const a = Array.from(r.weights ?? []).filter((_, t) => norm(G[t]) > 0);
          assert.ok(residual(K, a, T - 1) < 1e-6, name);
          assert.equal(r.weights?.[1], 0);
        } else if (name !== 'nearCollinear') {
          assert.ok(residual(gramOf(G), r.weights ?? [], T) < 1e-6, `${name} T=${T}`);
        }
      }
    }
  });

  it("scales: 'sum' rescales α to sum to T, 'official' multiplies by √‖GGᵀ‖_F", () => {
    const rng = new Rng(620);
    const G = randn(rng, 4, 7);
    const K = gramOf(G);
    const a = aggregate('nash', G, { scale: 'paper' }).weights ?? new Float64Array(0);
    const s = aggregate('nash', G).weights ?? new Float64Array(0);
    const o = aggregate('nash', G, { scale: 'official' }).weights ?? new Float64Array(0);
    const sumA = a.reduce((x, y) => x + y, 0);
    const fro = Math.sqrt(K.reduce((x, y) => x + y * y, 0));
    for (let t = 0; t < 4; t++) {
      assertClose(s[t], (4 * a[t]) / sumA, 1e-12);
      assertClose(o[t], a[t] * Math.sqrt(fro), 1e-12 * Math.sqrt(fro));
    }
  });

  it('singular GGᵀ (opposite or duplicated gradients) stays finite and positive', () => {
    for (const G of [[[1, 2], [-1, -2]], [[1, 0], [1, 0], [0, 1]], [[1, 1], [2, 2], [-1, -1]]]) {
      const a = nashSolve(gramOf(G), G.length).alpha;
      assertFiniteArray(a);
      for (const x of a) assert.ok(x > 0);
    }
  });

  it('Newton converges quickly: 15 iterations are enough at T = 10', () => {
    const rng = new Rng(630);
    for (let rep = 0; rep < 10; rep++) {
      const G = randn(rng, 10, 30).map((g) => g.map((v) => v * (0.01 + 10 * rng.next())));
      const K = gramOf(G);
      assert.ok(residual(K, nashSolve(K, 10, 15).alpha, 10) < 1e-6);
    }
  });

  it('converges on gradient norms spread over 1e-3…1e3 and up to 1e12 (T = 2…20): residual ≤ 1e-10, reported', () => {
    const rng = new Rng(640);
    for (const spread of [6, 12]) {
      for (const T of [2, 3, 5, 10, 20]) {
        for (let rep = 0; rep < 20; rep++) {
          // Random directions in d = 50: the gradients conflict mildly, as in training.
          const G = randn(rng, T, 50).map((g) => {
            const s = 10 ** (spread * (rng.next() - 0.5));
            return g.map((v) => v * s);
          });
          const K = gramOf(G);
          const r = aggregate('nash', G, { scale: 'paper' });
          const a = r.weights ?? new Float64Array(0);
          const res = residual(K, a, T);
          assert.ok(res <= 1e-10, `residual ${res} at T=${T}, spread 1e${spread}`);
          assert.ok(r.solver !== undefined && r.solver.residual <= 1e-10 && r.solver.iterations <= 25);
        }
      }
    }
  });

  it('throws a one-line training error naming the step and the residual when maxIter is too small', () => {
    const rng = new Rng(650);
    const G = randn(rng, 5, 20).map((g, t) => g.map((v) => v * 10 ** (3 * t - 6)));
    assert.throws(
      () => aggregate('nash', G, { maxIter: 1 }),
      (e: unknown) =>
        e instanceof MultilossError &&
        e.kind === 'training' &&
        !e.message.includes('\n') &&
        /aggregator 'nash': Newton's method .* did not converge: residual \S+ > tolerance 1\.00e-10 after 1 iterations/.test(e.message),
    );
  });

  it('no solution (0 in the hull of the unit gradients): solved with the ridge, cancelling tasks weighted alike', () => {
    // g1 = −g2 (norms 1e-4 and 1e4) and g3 orthogonal: the direction is g3's, scaled as the paper's √T norm allows.
    const G = [[1e-4, 0, 0], [-1e4, 0, 0], [0, 5, 0]];
    const { alpha, degenerate, solver } = nashSolve(gramOf(G), 3);
    assert.equal(degenerate, true);
    // b ≈ 1e5 on the pair: evaluating b∘Cb rounds at ~ε·b², so the residual is only resolvable to
    // the floor 64·T·ε·max_t b_t(|C|b)_t ≈ 1e-3 there.
    assert.ok(solver.residual < 1e-3, `residual ${solver.residual}`);
    // b = α‖g‖ is equal on the cancelling pair, so their contributions cancel exactly.
    assertClose(alpha[0] * 1e-4, alpha[1] * 1e4, 1e-9 * alpha[0] * 1e-4);
    assertClose(alpha[0] * 1e-4, 1e5, 1e-3 * 1e5, 'b = 1/√ridge on the opposite pair');
    assertClose(alpha[2] * 5, 1, 1e-9);
  });
});

