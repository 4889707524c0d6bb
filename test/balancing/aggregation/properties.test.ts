import { describe, it } from 'node:test';
import fc from 'fast-check';
import { aggregate, computeGram } from '../../../src/balancing/aggregation/index.js';
import type { AggregateResult, AggregatorName, AggregatorState, CrmogmState, ExcessmtlState, MocoState, ModoState, SdmgradState } from '../../../src/balancing/aggregation/index.js';
import { nashSolve, NASH_RIDGE } from '../../../src/balancing/aggregation/methods/nash.js';
import { fairgradSolve } from '../../../src/balancing/aggregation/methods/fairgrad.js';
import { balanceMatrix } from '../../../src/balancing/aggregation/methods/aligned.js';
import { columnSums, pcgradRows } from '../../../src/balancing/aggregation/methods/pcgrad.js';
import { gradvacRows } from '../../../src/balancing/aggregation/methods/gradvac.js';
import { symEig } from '../../../src/balancing/aggregation/linalg.js';
import { type Case, caseArbitrary, closeTo, permutation, rng, termSize } from './property-cases.js';
import { dot, norm } from './helpers.js';

// Property tests for every aggregator (docs/aggregation.md, "Defining
// properties and invariances"): on ≥ 1,000 drawn gradient matrices per method
// (random, near-collinear, duplicated, zero and anti-parallel rows; norms from
// 1e-6 to 1e6; T from 2 to 20; d from 1 to 10⁴) the method's defining property
// holds to its stated tolerance, and so do its invariances: a row permutation
// permutes the weights and keeps the direction; a global scaling c scales the
// direction by c; for the scale-invariant methods (nash, imtl, dbmtl) scaling
// one row keeps the direction up to a positive factor. Seeds are fixed: a
// failure prints its counterexample and reproduces.

const RUNS = 1000;
const EPS = Number.EPSILON;

type Options = Record<string, unknown>;

interface Spec {
  /** Options for this case (e.g. a fixed order, weights). */
  options?: (c: Case) => Options;
  /** A state to start from (gradvac's targets, dbmtl's buffer), for this case. */
  state?: (c: Case) => AggregatorState | undefined;
  /** The same options/state for the rows permuted by `perm` (new row k = old row perm[k]). */
  permuted?: (c: Case, perm: number[], options: Options, state: AggregatorState | undefined) => { options: Options; state: AggregatorState | undefined };
  /** Throws when the method's defining property does not hold on this case. */
  defining: (c: Case, r: AggregateResult, options: Options, state: AggregatorState | undefined) => void;
  /**
   * The direction the invariances are about (default: the result's). mgda with normalisation: the
   * combination of the normalised rows, the one the QP determines (see the spec).
   */
  invariantDirection?: (rows: readonly Float64Array[], r: AggregateResult, options: Options) => Float64Array;
  /** Scaling one row by s > 0 keeps the direction up to a positive factor; `rowScaleTolerance` says how well. */
  rowScaleInvariant?: boolean;
  rowScaleTolerance?: (c: Case) => number;
  /** Relative tolerance of the permutation and global-scaling checks (default 1e-8). */
  invarianceTolerance?: (c: Case) => number;
  /** d(cG) = c^degree·d(G) for c > 0 (1 unless said otherwise; Nash-MTL's paper scale is 0: ‖d‖ = √T). */
  degree?: (options: Options) => number;
  /**
   * Absolute rounding of the weights, per unit of ‖g_t‖ (aligned: B·1 sums entries of size ≤ 1 and may
   * cancel to ~0, leaving ~T·ε on every term); 0 unless said.
   */
  weightRounding?: (c: Case) => number;
  /** The size of the terms the direction is made of (default Σ_t|w_t|‖g_t‖; moco: of its tracked rows). */
  termScale?: (c: Case, r: AggregateResult, options: Options, state: AggregatorState | undefined) => number;
  /** Global scaling: when the method falls back to another rule below some size (upgrad's normEps), what it gives instead. */
  globalFallback?: (rows: Float64Array[], options: Options) => Float64Array | undefined;
  /** Global scaling by c: the options that keep the weights (modo: γ(c²GGᵀ + ρI) = (γ/c²)(GGᵀ·c² + c²ρI)). */
  scaledOptions?: (options: Options, factor: number) => Options;
}

function run(method: AggregatorName, rows: readonly Float64Array[], options: Options, state?: AggregatorState): AggregateResult {
  return aggregate(method, rows as Float64Array[], options as never, state);
}

const sumRows = (rows: readonly Float64Array[], w?: ArrayLike<number>): Float64Array => {
  const out = new Float64Array(rows[0].length);
  rows.forEach((g, t) => g.forEach((x, k) => (out[k] += (w ? w[t] : 1) * x)));
  return out;
};

const weightsOf = (r: AggregateResult): Float64Array => r.weights ?? new Float64Array(0);

function fail(what: string): never {
  throw new Error(what);
}

/** The rows divided by their norms (zero rows stay zero). */
const unitRows = (rows: readonly Float64Array[]): Float64Array[] =>
  rows.map((g) => {
    const n = norm(g);
    return n > 0 ? g.map((x) => x / n) : g.slice();
  });

// ------------------------------------------------------------------ methods

const SPECS: Record<AggregatorName, Spec> = {
  sum: {
    defining: (c, r) => closeTo(r.direction, sumRows(c.rows), 4 * c.T * EPS, termSize(c.rows, new Array(c.T).fill(1)), 'direction = Σ_t g_t'),
  },
  mean: {
    defining: (c, r) => closeTo(r.direction, sumRows(c.rows).map((x) => x / c.T), 4 * c.T * EPS, termSize(c.rows, new Array(c.T).fill(1 / c.T)), 'direction = Σ_t g_t / T'),
  },
  static: {
    options: (c) => {
      const g = rng(c.seed, 'static');
      return { weights: Array.from({ length: c.T }, () => g.normal()) };
    },
    permuted: (_c, perm, o) => ({ options: { weights: perm.map((k) => (o.weights as number[])[k]) }, state: undefined }),
    defining: (c, r, o) => {
      const w = o.weights as number[];
      closeTo(r.direction, sumRows(c.rows, w), 4 * c.T * EPS, termSize(c.rows, w), 'direction = Σ_t w_t g_t');
    },
  },
  mgda: {
    options: (c) => ({ normalization: rng(c.seed, 'mgda').next() < 0.5 ? 'none' : 'l2' }),
    // With 'l2' the weights come from the unit rows and are applied to the raw ones; where the unit rows'
    // min-norm weights are not unique (0 in their hull in several ways) the raw direction depends on the
    // tie-break, so the invariances are stated for Σ α_t·g_t/‖g_t‖ (documented).
    invariantDirection: (rows, r, o) => (o.normalization === 'l2' ? sumRows(unitRows(rows), weightsOf(r)) : r.direction),
    degree: (o) => (o.normalization === 'l2' ? 0 : 1),
    defining: (c, r, o) => {
      // KKT of min_{α∈Δ} ‖Σ α_t h_t‖² on the (normalised) rows h_t: h_tᵀd ≥ ‖d‖² for all t, = on the support.
      const h = o.normalization === 'l2' ? unitRows(c.rows) : c.rows;
      const alpha = Array.from(weightsOf(r), (w) => w / c.T);
      const total = alpha.reduce((s, a) => s + a, 0);
      if (Math.abs(total - 1) > 1e-12 || alpha.some((a) => a < 0)) fail(`α not in the simplex: Σα = ${total}, min ${Math.min(...alpha)}`);
      const dAlpha = sumRows(h, alpha);
      const d2 = dot(dAlpha, dAlpha);
      const size = termSize(h, alpha);
      // The QP's relative ridge (1e-12 of each diagonal entry, of the smallest positive one on zero rows).
      const ridge = 1e-11 * Math.min(...h.map((x) => dot(x, x)).filter((x) => x > 0));
      for (let t = 0; t < c.T; t++) {
        const gap = dot(h[t], dAlpha) - d2;
        const tol = 1e-9 * norm(h[t]) * size + ridge + 1e-300;
        if (gap < -tol) fail(`task ${t}: h_tᵀd − ‖d‖² = ${gap} < −${tol} (not the min-norm point)`);
        if (alpha[t] > 1e-6 && gap > tol) fail(`task ${t} in the support (α = ${alpha[t]}) but h_tᵀd − ‖d‖² = ${gap} > ${tol}`);
      }
    },
  },
  pcgrad: {
    options: (c) => ({ order: permutation(c.T, c.seed) }),
    permuted: (_c, perm, o) => ({ options: { order: permuteOrder(o.order as number[], perm) }, state: undefined }),
    defining: (c, r, o) => {
      // Every projection removes the conflict exactly: the running gradient ends orthogonal to g_j.
      const K = computeGram(c.rows);
      const order = o.order as number[];
      const orders = Array.from({ length: c.T }, (_, i) => order.filter((j) => j !== i));
      const W = pcgradRows(K, c.T, orders, (i, j, after) => {
        const tol = 1e-9 * Math.sqrt(K[j * c.T + j]) * termSize(c.rows, new Array(c.T).fill(1));
        if (Math.abs(after) > tol) fail(`projection of task ${i} onto ${j} leaves inner product ${after} (tol ${tol})`);
      });
      closeTo(weightsOf(r), columnSums(W, c.T), 1e-12, Math.max(1, ...Array.from(W, Math.abs)), 'weights = Σ of the projected rows');
      if (!Array.from(K).some((x) => x < 0)) closeTo(r.direction, sumRows(c.rows), 1e-12, termSize(c.rows, new Array(c.T).fill(1)), 'no conflict: the sum');
    },
  },
  gradvac: {
    options: (c) => ({ order: permutation(c.T, c.seed), beta: 0.01 }),
    state: (c) => {
      const g = rng(c.seed, 'targets');
      const targets = Array.from({ length: c.T }, () => Array.from({ length: c.T }, () => 2 * g.next() - 1));
      return { method: 'gradvac', step: 3, targets };
    },
    permuted: (_c, perm, o, s) => {
      const targets = (s as { targets: number[][] }).targets;
      return {
        options: { ...o, order: permuteOrder(o.order as number[], perm) },
        state: { method: 'gradvac', step: 3, targets: perm.map((a) => perm.map((b) => targets[a][b])) },
      };
    },
    defining: (c, _r, o, s) => {
      // Every adjustment brings the cosine with g_j exactly to its target (Eq. 2).
      const K = computeGram(c.rows);
      const order = o.order as number[];
      const orders = Array.from({ length: c.T }, (_, i) => order.filter((j) => j !== i));
      // The adjustment's rounding is amplified by 1/(1 − ρ²) as the running gradient nears ±g_j;
      // exactly anti-parallel (ρ = −1) there is no plane to rotate in and Eq. 2 gives 0 (documented).
      // So is a running gradient that has cancelled (its rounding is ε × the terms it is made of).
      const targets = (s as { targets: number[][] }).targets;
      const { W } = gradvacRows(K, c.T, targets, 0.01, orders, (i, j, cosAfter, _target, before, cancellation) => {
        // (its norm comes from the Gram matrix, so the cancellation enters squared)
        const tol = 1e-9 + (1e3 * EPS * cancellation * cancellation) / Math.max(1e-300, 1 - before * before);
        const target = Math.min(targets[i][j], 1 - 1e-9);
        if (Math.abs(cosAfter - target) > tol) fail(`adjusting task ${i} towards ${j} (cosine before ${before}): cosine ${cosAfter}, target ${target}`);
      });
      // …and those adjusted rows are what aggregate sums.
      closeTo(weightsOf(_r), columnSums(W, c.T), 1e-12, Math.max(1, ...Array.from(W, Math.abs)), 'weights = Σ of the adjusted rows');
    },
  },
  cagrad: {
    options: (c) => ({ c: [0.1, 0.5, 0.9][rng(c.seed, 'c').int(3)] }),
    defining: (c, r, o) => cagradOptimal(c, r, o.c as number),
  },
  imtl: {
    rowScaleInvariant: true,
    // K α ∝ n is solved by an eigen-decomposition: one row's scale moves the result by ~ε·cond(C), C the
    // cosine matrix; past the pseudo-inverse's cut (rank-deficient G) it is not invariant at all (documented).
    rowScaleTolerance: (c) => 1e-6 + 1e2 * EPS * cosineCondition(c.rows),
    // Rounding in C⁺1 grows with λ_max / the smallest eigenvalue the pseudo-inverse keeps; past 1e8
    // (nearly collinear gradients) the equal-projection system is ill-posed and the direction is
    // rounding-dependent (documented): no invariance to check.
    invarianceTolerance: (c) => {
      const cond = cosineCondition(c.rows, true);
      return cond > 1e8 ? Infinity : 1e-8 + 1e3 * EPS * cond;
    },
    defining: (c, r) => imtlEqualProjections(c, r),
  },
  nash: {
    options: () => ({ scale: 'paper' }),
    rowScaleInvariant: true,
    degree: () => 0,
    defining: (c, r) => nashCondition(c, r),
  },
  aligned: {
    weightRounding: (c) => (64 * c.T * EPS) / 1e-8,
    defining: (c, r) => alignedOrthogonal(c, r),
  },
  upgrad: {
    options: (c) => (rng(c.seed, 'upgrad').next() < 0.5 ? {} : { regEps: 0 }),
    globalFallback: (rows, o) => {
      const K = computeGram(rows);
      let tr = 0;
      for (let t = 0; t < rows.length; t++) tr += K[t * rows.length + t];
      // Below normEps (default 1e-12) the Gram matrix counts as zero: the weighted sum (documented).
      return tr < ((o.normEps as number | undefined) ?? 1e-12) ? sumRows(rows) : undefined;
    },
    defining: (c, r, o) => {
      // In the dual cone up to the ridge: g_tᵀd ≥ −max(regEps, 1e-13)·tr(GGᵀ)·w_t (w_t = Σ_s v_s[t]).
      const w = weightsOf(r);
      const size = termSize(c.rows, w);
      const K = computeGram(c.rows);
      let tr = 0;
      for (let t = 0; t < c.T; t++) tr += K[t * c.T + t];
      if (tr < 1e-12) return; // below normEps: the weighted sum (checked under global scaling)
      const ridge = Math.max((o.regEps as number | undefined) ?? 1e-4, 1e-13);
      c.rows.forEach((g, t) => {
        const ip = dot(g, r.direction);
        const tol = ridge * tr * Math.abs(w[t]) * (1 + 1e-6) + 1e-9 * norm(g) * size;
        if (ip < -tol) fail(`task ${t}: g_tᵀd = ${ip} < −${tol} (outside the dual cone by more than the ridge)`);
      });
    },
  },
  dualproj: {
    options: (c) => (rng(c.seed, 'dualproj').next() < 0.5 ? {} : { regEps: 0 }),
    globalFallback: (rows, o) => (trace(computeGram(rows), rows.length) < ((o.normEps as number | undefined) ?? 1e-12) ? sumRows(rows) : undefined),
    defining: (c, r, o) => {
      // KKT of min vᵀQv s.t. v ≥ 1 (Q = GGᵀ/tr + ridge·I): v ≥ 1; Qv ≥ 0, i.e. g_tᵀd ≥ −ridge·tr·v_t (in the
      // dual cone up to the ridge); and Qv = 0 wherever v_t > 1 (the constraint is active only where it binds).
      const v = weightsOf(r);
      const K = computeGram(c.rows);
      const tr = trace(K, c.T);
      if (tr < 1e-12) return; // below normEps: the sum (checked under global scaling)
      const ridge = Math.max((o.regEps as number | undefined) ?? 1e-4, 1e-13);
      const size = termSize(c.rows, v);
      c.rows.forEach((g, t) => {
        if (v[t] < 1 - 1e-9) fail(`v_${t} = ${v[t]} < 1: the projected combination is not Σ v_t g_t with v ≥ 1`);
        const slack = dot(g, r.direction) + ridge * tr * v[t];
        const tol = 1e-9 * norm(g) * size + 1e-9 * ridge * tr * Math.abs(v[t]);
        if (slack < -tol) fail(`task ${t}: g_tᵀd + ridge·tr·v_t = ${slack} < −${tol} (outside the dual cone)`);
        if (v[t] > 1 + 1e-6 && slack > 1e-6 * norm(g) * size + tol) fail(`task ${t}: v_t = ${v[t]} > 1 but its constraint is slack by ${slack}`);
      });
      if (!Array.from(K).some((x) => x < 0)) closeTo(r.direction, sumRows(c.rows), 1e-12, termSize(c.rows, new Array(c.T).fill(1)), 'no conflict: the sum');
    },
  },
  config: {
    rowScaleInvariant: true,
    rowScaleTolerance: (c) => 1e-6 + 1e2 * EPS * cosineCondition(c.rows),
    invarianceTolerance: (c) => {
      const cond = cosineCondition(c.rows, true);
      return cond > 1e8 ? Infinity : 1e-8 + 1e3 * EPS * cond;
    },
    defining: (c, r) => {
      // Equal, non-negative projections onto every unit task gradient, and ‖d‖ = Σ_t g_tᵀd̂.
      const n = norm(r.direction);
      if (n === 0) return;
      const cond = cosineCondition(c.rows);
      const w = weightsOf(r);
      const size = termSize(c.rows, w);
      const unit = r.direction.map((x) => x / n);
      const length = c.rows.reduce((s, g) => s + dot(g, unit), 0);
      const lengthTol = (1e-9 + 1e2 * EPS * (cond < 1e10 ? cond : 1)) * Math.max(size, termSize(c.rows, new Array(c.T).fill(1)));
      if (Math.abs(n - length) > lengthTol) fail(`‖d‖ = ${n} but Σ_t g_tᵀd̂ = ${length}`);
      if (!(cond < 1e10)) return; // rank-deficient: least-squares, as IMTL-G (documented)
      const proj = c.rows.filter((g) => norm(g) > 0).map((g) => dot(g, r.direction) / norm(g));
      const spread = Math.max(...proj) - Math.min(...proj);
      if (spread > (1e-9 + 1e2 * EPS * cond) * size) fail(`projections d·u_t differ by ${spread} (size ${size}, cond ${cond})`);
      if (Math.min(...proj) < -1e-9 * size) fail(`negative common projection ${Math.min(...proj)}: conflicts with a task`);
    },
  },
  fairgrad: {
    options: (c) => ({ alpha: [0.5, 1, 2, 5][rng(c.seed, 'fairgrad').int(4)], scale: 'paper' }),
    // Paper scale: G → cG gives w → c^(−2α/(α+1))·w, so d → c^((1−α)/(1+α))·d.
    degree: (o) => (1 - (o.alpha as number)) / (1 + (o.alpha as number)),
    defining: (c, r, o) => fairCondition(c, r, o.alpha as number),
  },
  excessmtl: {
    options: () => ({ stepSize: 0.5, eps: 0 }),
    state: (c) => {
      const g = rng(c.seed, 'excessmtl');
      const scale = Math.max(...c.rows.map(norm)) ** 2;
      const weights = Array.from({ length: c.T }, () => 0.2 + g.next());
      const total = weights.reduce((a, b) => a + b, 0);
      return {
        method: 'excessmtl',
        step: 3,
        sumSquares: c.rows.map((row) => Array.from(row, () => scale * g.next())),
        initial: Array.from({ length: c.T }, () => (g.next() < 0.1 ? 0 : Math.sqrt(scale) * (0.1 + g.next()))),
        weights: weights.map((w) => (w * c.T) / total),
      } as AggregatorState;
    },
    permuted: (_c, perm, o, s) => {
      const st = s as ExcessmtlState;
      return { options: o, state: { ...st, sumSquares: perm.map((k) => st.sumSquares![k]), initial: perm.map((k) => st.initial![k]), weights: perm.map((k) => st.weights![k]) } };
    },
    defining: (c, r, o, s) => {
      // r_t = Σ_j g_tj²/√(H_tj + g_tj²); w ∝ w_prev·exp(η·r_t/r⁰_t) (ratio 0 where r⁰_t = 0), Σw = T; d = Σ w_t g_t.
      const st = s as ExcessmtlState;
      const eta = o.stepSize as number;
      const raw = c.rows.map((g, t) => {
        let risk = 0;
        g.forEach((x, j) => {
          const h = Number(st.sumSquares![t][j]) + x * x;
          if (h > 0) risk += (x * x) / Math.sqrt(h);
        });
        const r0 = st.initial![t];
        return st.weights![t] * Math.exp(eta * (r0 > 0 ? risk / r0 : 0));
      });
      const total = raw.reduce((a, b) => a + b, 0);
      closeTo(weightsOf(r), raw.map((x) => (x * c.T) / total), 1e-12, c.T, 'weights = T·normalised w_prev·exp(η r/r⁰)');
      closeTo(r.direction, sumRows(c.rows, weightsOf(r)), 4 * c.T * EPS, termSize(c.rows, weightsOf(r)), 'direction = Σ_t w_t g_t');
    },
  },
  moco: {
    options: (c) => {
      const g = rng(c.seed, 'moco-losses');
      return { eps: 0, rho: 0.1, losses: Array.from({ length: c.T }, () => 0.01 + 10 * g.next()) };
    },
    state: (c) => {
      const g = rng(c.seed, 'moco');
      const lambda = Array.from({ length: c.T }, () => 0.1 + g.next());
      const total = lambda.reduce((a, b) => a + b, 0);
      return { method: 'moco', step: 2, tracked: c.rows.map((row) => Array.from(row, () => g.normal())), lambda: lambda.map((x) => x / total) } as AggregatorState;
    },
    permuted: (_c, perm, o, s) => {
      const st = s as MocoState;
      return {
        options: { ...o, losses: perm.map((k) => (o.losses as number[])[k]) },
        state: { ...st, tracked: perm.map((k) => st.tracked![k]), lambda: perm.map((k) => st.lambda![k]) },
      };
    },
    // The gradients are normalised (and scaled by their losses) before they are tracked.
    degree: () => 0,
    // The direction is made of the tracked rows, each of norm ≤ ‖y_t‖ + L_t.
    termScale: (c, r, o, s) => weightsOf(r).reduce((acc, w, t) => acc + Math.abs(w) * (norm(Array.from((s as MocoState).tracked![t], Number)) + (o.losses as number[])[t]), 0),
    rowScaleInvariant: true,
    defining: (c, r, o, s) => {
      // k = 3: y_t ← y_t − β_k(y_t − L_t·g_t/‖g_t‖), λ ← softmax(λ − γ_k(YYᵀ + ρI)λ), d = T·Σ λ_t y_t.
      const st = s as MocoState;
      const losses = o.losses as number[];
      const b = 0.5 / Math.sqrt(3);
      const gk = 0.1 / Math.sqrt(3);
      const y = c.rows.map((g, t) => {
        const n = norm(g);
        return Float64Array.from(g, (x, j) => Number(st.tracked![t][j]) - b * (Number(st.tracked![t][j]) - (n > 0 ? (losses[t] * x) / n : 0)));
      });
      const YY = computeGram(y);
      const z = st.lambda!.map((l, i) => l - gk * (0.1 * l + st.lambda!.reduce((acc, lj, j) => acc + YY[i * c.T + j] * lj, 0)));
      const m = Math.max(...z);
      const e = z.map((x) => Math.exp(x - m));
      const total = e.reduce((a, x) => a + x, 0);
      const w = e.map((x) => (c.T * x) / total);
      closeTo(weightsOf(r), w, 1e-9, c.T, 'weights = T·softmax(λ − γ_k(YYᵀ + ρI)λ)');
      closeTo(r.direction, sumRows(y, w), 1e-9, termSize(y, w), 'direction = Σ_t w_t y_t');
    },
  },
  modo: {
    // One matrix is every batch: λ ← Π_Δ(λ − γ(GGᵀ + ρI)λ). γ of the order of 1/‖GGᵀ‖ so the projection cuts.
    options: (c) => {
      const K = computeGram(c.rows);
      const max = Math.max(...Array.from({ length: c.T }, (_, t) => K[t * c.T + t]));
      const g = rng(c.seed, 'modo-options');
      return { gamma: max > 0 ? (2 * g.next()) / max : 1, rho: g.next() };
    },
    state: (c) => ({ method: 'modo', step: 5, lambda: simplexPoint(c, 'modo') }) as AggregatorState,
    permuted: (_c, perm, o, s) => ({ options: o, state: { ...(s as ModoState), lambda: perm.map((k) => (s as ModoState).lambda![k]) } }),
    scaledOptions: (o, factor) => ({ gamma: (o.gamma as number) / (factor * factor), rho: (o.rho as number) * factor * factor }),
    defining: (c, r, o, s) => {
      // p = w/T is the Euclidean projection of z = λ − γ(Kλ + ρλ) onto the simplex.
      const lambda = (s as ModoState).lambda!;
      const K = computeGram(c.rows);
      const gamma = o.gamma as number;
      const rho = o.rho as number;
      const z = lambda.map((l, i) => l - gamma * (rho * l + lambda.reduce((acc, lj, j) => acc + K[i * c.T + j] * lj, 0)));
      simplexProjectionOf(Array.from(weightsOf(r), (w) => w / c.T), z, c.T);
      closeTo(r.direction, sumRows(c.rows, weightsOf(r)), 1e-12, termSize(c.rows, weightsOf(r)), 'direction = Σ_t w_t g_t');
    },
  },
  sdmgrad: {
    // One matrix is every batch; one weight step (its heavy-ball buffer starts from 0 each call).
    options: (c) => ({ lambda: rng(c.seed, 'sdmgrad').next(), iterations: 1, stepSize: 0.3, eps: 0 }),
    state: (c) => ({ method: 'sdmgrad', step: 3, weights: simplexPoint(c, 'sdmgrad-state') }) as AggregatorState,
    permuted: (_c, perm, o, s) => ({ options: o, state: { ...(s as SdmgradState), weights: perm.map((k) => (s as SdmgradState).weights![k]) } }),
    defining: (c, r, o, s) => {
      // K̂ = GGᵀ/(mean_t ‖g_t‖)²; w' = Π_Δ(w − η·K̂(w + λ1/T)); reported (T·w' + λ)/(1 + λ); d = Σ_t those·g_t.
      const w = (s as SdmgradState).weights!;
      const lambda = o.lambda as number;
      const K = computeGram(c.rows);
      const meanNorm = c.rows.reduce((acc, g) => acc + norm(g), 0) / c.T;
      const den = meanNorm * meanNorm;
      const z = w.map((wi, i) => wi - (0.3 * w.reduce((acc, wj, j) => acc + (den > 0 ? K[i * c.T + j] / den : 0) * (wj + lambda / c.T), 0)));
      const p = Array.from(weightsOf(r), (x) => (x * (1 + lambda) - lambda) / c.T);
      simplexProjectionOf(p, z, c.T, 1e-9);
      closeTo(r.direction, sumRows(c.rows, weightsOf(r)), 1e-12, termSize(c.rows, weightsOf(r)), 'direction = Σ_t w_t g_t');
    },
  },
  crmogm: {
    options: (c) => ({ inner: rng(c.seed, 'crmogm').next() < 0.5 ? 'mgda' : 'nash', beta: 0.9 }),
    state: (c) => {
      const g = rng(c.seed, 'crmogm-state');
      return { method: 'crmogm', step: 4, weights: Array.from({ length: c.T }, () => 2 * g.next()), inner: null } as AggregatorState;
    },
    permuted: (_c, perm, o, s) => ({ options: o, state: { ...(s as CrmogmState), weights: perm.map((k) => (s as CrmogmState).weights![k]) } }),
    defining: (c, r, o, s) => {
      // λ = β·λ_prev + (1 − β)·(the inner method's weights on these gradients); d = Σ_t λ_t g_t.
      const inner = aggregate(o.inner as AggregatorName, c.rows, {} as never);
      const prev = (s as CrmogmState).weights!;
      const want = prev.map((p, t) => 0.9 * p + 0.1 * weightsOf(inner)[t]);
      closeTo(weightsOf(r), want, 1e-12, Math.max(1, ...want.map(Math.abs)), 'λ = β·λ_prev + (1 − β)·ŵ');
      closeTo(r.direction, sumRows(c.rows, want), 1e-12, termSize(c.rows, want), 'direction = Σ_t λ_t g_t');
    },
  },
  graddrop: {
    options: (c) => {
      const g = rng(c.seed, 'graddrop');
      const leak = g.next() < 0.3 ? 0 : g.next() < 0.5 ? g.next() : Array.from({ length: c.T }, () => g.next());
      return { leak, seed: g.int(1000) };
    },
    permuted: (_c, perm, o) => ({ options: { ...o, leak: Array.isArray(o.leak) ? perm.map((k) => (o.leak as number[])[k]) : o.leak }, state: undefined }),
    defining: (c, r, o) => {
      // Every entry keeps one sign: d_j is Σ_t (ℓ_t + (1 − ℓ_t)[g_tj > 0])·g_tj or the same with
      // [g_tj < 0]; where every task agrees, that is Σ_t g_tj.
      const leak = Array.isArray(o.leak) ? (o.leak as number[]) : new Array<number>(c.T).fill(o.leak as number);
      const size = termSize(c.rows, new Array(c.T).fill(1));
      for (let j = 0; j < c.d; j++) {
        let pos = 0;
        let neg = 0;
        let anyPositive = false;
        let anyNegative = false;
        for (let t = 0; t < c.T; t++) {
          const x = c.rows[t][j];
          pos += (leak[t] + (1 - leak[t]) * (x > 0 ? 1 : 0)) * x;
          neg += (leak[t] + (1 - leak[t]) * (x < 0 ? 1 : 0)) * x;
          anyPositive ||= x > 0;
          anyNegative ||= x < 0;
        }
        const tol = 4 * c.T * EPS * size + 1e-300;
        const dj = r.direction[j];
        if (Math.abs(dj - pos) > tol && Math.abs(dj - neg) > tol) fail(`entry ${j}: ${dj} is neither the positive (${pos}) nor the negative (${neg}) choice`);
        if (!(anyPositive && anyNegative) && Math.abs(dj - sumRows(c.rows.map((row) => row.subarray(j, j + 1)))[0]) > tol) fail(`entry ${j}: the tasks agree in sign but ${dj} is not their sum`);
      }
    },
  },
  dbmtl: {
    options: () => ({ eps: 0 }),
    rowScaleInvariant: true,
    defining: (c, r) => {
      // First step: buffer (1 − β)g; every buffered gradient is scaled to the largest buffered norm.
      const buffer = c.rows.map((g) => g.map((x) => 0.1 * x));
      const norms = buffer.map(norm);
      const max = Math.max(...norms);
      const w = weightsOf(r);
      norms.forEach((n, t) => {
        if (n > 0 && Math.abs(w[t] * n - max) > 1e-12 * max) fail(`task ${t}: buffered term norm ${w[t] * n} ≠ max ${max}`);
      });
      closeTo(r.direction, sumRows(buffer, w), 4 * c.T * EPS, termSize(buffer, w), 'direction = Σ_t w_t ĝ_t');
    },
  },
};

function trace(K: Float64Array, T: number): number {
  let tr = 0;
  for (let t = 0; t < T; t++) tr += K[t * T + t];
  return tr;
}

/**
 * λ_max/λ_min of the cosine matrix of the nonzero rows (∞ when singular), or with `kept` over the
 * eigenvalues IMTL's pseudo-inverse keeps (above m·1e-13·λ_max).
 */
function cosineCondition(rows: readonly Float64Array[], kept = false): number {
  const unit = unitRows(rows).filter((u) => norm(u) > 0);
  const m = unit.length;
  if (m < 2) return 1;
  const { values } = symEig(computeGram(unit), m);
  const max = Math.max(...values);
  const min = Math.min(...values.filter((v) => !kept || v > m * 1e-13 * max));
  return min > 0 ? max / min : Infinity;
}

/** The fixed order `order` for the rows permuted by perm (new row k = old row perm[k]). */
function permuteOrder(order: number[], perm: number[]): number[] {
  const inverse = new Array<number>(perm.length);
  perm.forEach((old, k) => (inverse[old] = k));
  return order.map((old) => inverse[old]);
}

/**
 * CAGrad: the unscaled direction d_u = g0 + λg_w lies in the ball
 * ‖d − g0‖ ≤ c‖g0‖ and closes the duality gap: min_i g_iᵀd_u equals the dual
 * value g_wᵀg0 + c‖g0‖‖g_w‖ at the returned w, so d_u is optimal.
 */
function cagradOptimal(c: Case, r: AggregateResult, cc: number): void {
  const T = c.T;
  const u = Array.from(weightsOf(r), (w) => (w * (1 + cc)) / T);
  const g0 = sumRows(c.rows).map((x) => x / T);
  const g0n = norm(g0);
  const lambda = u.reduce((s, x) => s + x, 0) - 1;
  const size = Math.max(...c.rows.map(norm));
  const du = sumRows(c.rows, u);
  const w = u.map((x) => (x - 1 / T) / lambda);
  const gw = sumRows(c.rows, w);
  // ‖g_w‖ comes from the Gram matrix: where g_w cancels, its rounding grows like (Σ_t w_t‖g_t‖ / ‖g_w‖)².
  const amplification = lambda > 0 && norm(gw) > 0 ? (termSize(c.rows, w) / norm(gw)) ** 2 : 1;
  const rel = 1e-9 + 1e2 * EPS * amplification;
  const radius = norm(du.map((x, k) => x - g0[k]));
  if (radius > cc * g0n * (1 + rel) + 1e-12 * size) fail(`‖d − g0‖ = ${radius} > c‖g0‖ = ${cc * g0n}`);
  const primal = Math.min(...c.rows.map((g) => dot(g, du)));
  const tol = (1e-7 + rel) * size * (g0n + termSize(c.rows, u)) + 1e-300;
  const dual = dot(gw, g0) + cc * g0n * norm(gw);
  if (lambda > 1e-12 && Math.abs(dual - primal) <= tol) return;
  // Otherwise it must be the documented fallback d = g0 (the official code's): only where g_w vanishes,
  // i.e. the hull's min-norm point is ~0.
  const mgda = aggregate('mgda', c.rows);
  const minNorm = norm(mgda.direction) / T;
  const parts = termSize(c.rows, weightsOf(mgda)) / T;
  if (!(minNorm <= 1e-4 * parts + 1e-5 * g0n)) fail(`duality gap ${dual - primal} (dual ${dual}, primal ${primal}, tol ${tol}) and the hull's min-norm ${minNorm} is not ~0`);
  if (u.some((x) => Math.abs(x - 1 / T) > 1e-15)) fail(`fallback weights ${u} are not 1/T (d = g0)`);
}

/** IMTL-G: equal projections d·u_t on every nonzero task, where the system Kα ∝ n is consistent. */
function imtlEqualProjections(c: Case, r: AggregateResult): void {
  const w = weightsOf(r);
  const nonzero = c.rows.map((g, t) => t).filter((t) => norm(c.rows[t]) > 0);
  const total = w.reduce((s, x) => s + x, 0);
  if (nonzero.length > 0 && Math.abs(Math.abs(total) - c.T) > 1e-9 * c.T) {
    // |Σα| = 1 (Σα = −1 where the paper's Σα = 1 would give an ascent direction), or Σ|α| = 1 when Σ vanishes (documented).
    const abs = w.reduce((s, x) => s + Math.abs(x), 0);
    if (Math.abs(abs - c.T) > 1e-9 * c.T) fail(`Σ weights = ${total}, Σ|weights| = ${abs}, expected ±T = ${c.T}`);
  }
  // Rank-deficient G (d < T, duplicated or opposite rows): solved in the least-squares sense, equal
  // projections need not exist (documented). Otherwise they hold to ~ε·cond(C).
  const cond = cosineCondition(c.rows);
  if (!(cond < 1e10)) return;
  const proj = nonzero.map((t) => dot(c.rows[t], r.direction) / norm(c.rows[t]));
  const size = termSize(c.rows, w);
  const spread = Math.max(...proj) - Math.min(...proj);
  if (spread > (1e-9 + 1e2 * EPS * cond) * size) fail(`projections d·u_t differ by ${spread} (size ${size}, cond ${cond})`);
  if (Math.min(...proj) < -1e-9 * size) fail(`negative common projection ${Math.min(...proj)}: an ascent direction`);
}

/**
 * Nash-MTL (paper scale): α_t(Kα)_t = 1 on every nonzero task to
 * max(1e-10, 64·T·ε·κ), κ = max_t α_t(|K|α)_t, for K = GGᵀ, or for
 * K + NASH_RIDGE·diag(K) when 0 is in the hull of the unit gradients; zero tasks get 0.
 */
function nashCondition(c: Case, r: AggregateResult): void {
  const T = c.T;
  const K = computeGram(c.rows);
  const { degenerate } = nashSolve(K, T);
  const a = weightsOf(r);
  let residual = 0;
  let kappa = 0;
  for (let t = 0; t < T; t++) {
    if (!(K[t * T + t] > 0)) {
      if (a[t] !== 0) fail(`zero task ${t} has weight ${a[t]}`);
      continue;
    }
    if (!(a[t] > 0)) fail(`task ${t}: α = ${a[t]} not positive`);
    let s = degenerate ? NASH_RIDGE * K[t * T + t] * a[t] : 0;
    let abs = Math.abs(s);
    for (let j = 0; j < T; j++) {
      s += K[t * T + j] * a[j];
      abs += Math.abs(K[t * T + j] * a[j]);
    }
    residual = Math.max(residual, Math.abs(a[t] * s - 1));
    kappa = Math.max(kappa, a[t] * abs);
  }
  const tol = Math.max(1e-10, 64 * T * EPS * kappa);
  if (!(residual <= tol)) fail(`Nash residual ${residual} > ${tol} (κ = ${kappa}, degenerate ${degenerate})`);
  if (!r.solver || !(r.solver.residual <= tol)) fail(`reported residual ${r.solver?.residual} > ${tol}`);
}

/**
 * FairGrad (paper scale): w_t > 0 and w_t^(1/α)(GGᵀw)_t = 1 on every nonzero task to max(1e-10,
 * 64·T·ε·κ), κ = max_t w_t^(1/α)(|K|w)_t, for K = GGᵀ, or for K + NASH_RIDGE·diag(K) when 0 is in the
 * hull of the unit gradients; zero tasks get 0. (Nash-MTL's condition for α = 1.)
 */
function fairCondition(c: Case, r: AggregateResult, alpha: number): void {
  const T = c.T;
  const K = computeGram(c.rows);
  const { degenerate } = fairgradSolve(K, T, alpha);
  const w = weightsOf(r);
  let residual = 0;
  let kappa = 0;
  for (let t = 0; t < T; t++) {
    if (!(K[t * T + t] > 0)) {
      if (w[t] !== 0) fail(`zero task ${t} has weight ${w[t]}`);
      continue;
    }
    if (!(w[t] > 0)) fail(`task ${t}: w = ${w[t]} not positive`);
    let s = degenerate ? NASH_RIDGE * K[t * T + t] * w[t] : 0;
    let abs = Math.abs(s);
    for (let j = 0; j < T; j++) {
      s += K[t * T + j] * w[j];
      abs += Math.abs(K[t * T + j] * w[j]);
    }
    const k = Math.pow(w[t], 1 / alpha);
    residual = Math.max(residual, Math.abs(k * s - 1));
    kappa = Math.max(kappa, k * abs);
  }
  const tol = Math.max(1e-10, 64 * T * EPS * kappa);
  if (!(residual <= tol)) fail(`α-fair residual ${residual} > ${tol} (α = ${alpha}, κ = ${kappa}, degenerate ${degenerate})`);
  if (!r.solver || !(r.solver.residual <= tol)) fail(`reported residual ${r.solver?.residual} > ${tol}`);
}

/**
 * Aligned-MTL: M = B·GGᵀ·Bᵀ (the Gram matrix of the aligned gradients BG) is
 * λ·P for a projector P: the aligned gradients are orthogonal with equal
 * norms. Checked as M² = μM with μ = tr(M²)/tr(M), and weights = B·1.
 */
function alignedOrthogonal(c: Case, r: AggregateResult): void {
  const T = c.T;
  const K = computeGram(c.rows);
  const { B } = balanceMatrix(K, T);
  let maxK = 0;
  for (let t = 0; t < T; t++) maxK = Math.max(maxK, K[t * T + t]);
  if (!(maxK > 0)) return;
  const mul = (X: Float64Array, Y: Float64Array, transposeY = false): Float64Array => {
    const Z = new Float64Array(T * T);
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) for (let k = 0; k < T; k++) Z[i * T + j] += X[i * T + k] * (transposeY ? Y[j * T + k] : Y[k * T + j]);
    return Z;
  };
  const M = mul(mul(B, K), B, true);
  const M2 = mul(M, M);
  let trM = 0;
  let trM2 = 0;
  for (let t = 0; t < T; t++) {
    trM += M[t * T + t];
    trM2 += M2[t * T + t];
  }
  const mu = trM2 / trM;
  closeTo(M2, M.map((x) => mu * x), 1e-6, mu * mu, 'aligned Gram matrix is λ·projector');
  const w = weightsOf(r);
  for (let i = 0; i < T; i++) {
    let s = 0;
    for (let j = 0; j < T; j++) s += B[i * T + j];
    if (Math.abs(s - w[i]) > 1e-12 * Math.max(1, Math.abs(s))) fail(`weights ≠ B·1 at ${i}`);
  }
}

/** A drawn point of the simplex with some zero entries (entry 0 is positive). */
function simplexPoint(c: Case, label: string): number[] {
  const g = rng(c.seed, label);
  const p = Array.from({ length: c.T }, () => (g.next() < 0.2 ? 0 : g.next()));
  p[0] += 0.1;
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / total);
}

/**
 * p is the Euclidean projection of z onto the simplex (its KKT conditions): p ≥ 0, Σp = 1, z − p is
 * one θ on the support and z_t ≤ θ where p_t = 0.
 */
function simplexProjectionOf(p: number[], z: number[], T: number, rel = 1e-12): void {
  const tol = rel * T * Math.max(1, ...z.map(Math.abs));
  if (Math.abs(p.reduce((a, b) => a + b, 0) - 1) > tol) fail('Σλ ≠ 1');
  if (p.some((x) => x < -tol)) fail('λ < 0');
  const support = p.map((x, t) => (x > tol ? z[t] - x : NaN)).filter((x) => !Number.isNaN(x));
  const theta = support[0];
  for (const x of support) if (Math.abs(x - theta) > tol) fail(`z − λ is not constant on the support: ${x} vs ${theta}`);
  p.forEach((x, t) => {
    if (x <= tol && z[t] > theta + tol) fail(`task ${t} is left out but z_t = ${z[t]} > θ = ${theta}`);
  });
}

// --------------------------------------------------------------- invariances

function invariances(method: AggregatorName, spec: Spec, c: Case, base: AggregateResult, options: Options, state: AggregatorState | undefined): void {
  const g = rng(c.seed, 'invariance');
  const w = weightsOf(base);
  const size = (spec.termScale?.(c, base, options, state) ?? termSize(c.rows, w)) + (spec.weightRounding?.(c) ?? 0) * termSize(c.rows, new Array(c.T).fill(1));
  // Direction comparisons are relative to the size of the terms the direction is made of.
  const tol = spec.invarianceTolerance?.(c) ?? 1e-8;

  if (!Number.isFinite(tol)) return;
  const direction = (rows: readonly Float64Array[], r: AggregateResult): Float64Array => spec.invariantDirection?.(rows, r, options) ?? r.direction;
  const d0 = direction(c.rows, base);

  const perm = permutation(c.T, c.seed + 1);
  const p = spec.permuted ? spec.permuted(c, perm, options, state) : { options, state };
  const permutedRows = perm.map((k) => c.rows[k]);
  closeTo(direction(permutedRows, run(method, permutedRows, p.options, p.state)), d0, tol, size, 'row permutation: direction');

  const factor = 10 ** (4 * g.next() - 2);
  const scaledRows = c.rows.map((row) => row.map((x) => x * factor));
  const scaled = run(method, scaledRows, spec.scaledOptions?.(options, factor) ?? options, scaleState(state, factor));
  const fallback = spec.globalFallback?.(scaledRows, options);
  if (fallback) closeTo(scaled.direction, fallback, tol, termSize(scaledRows, new Array(c.T).fill(1)), 'global scaling below normEps: the sum');
  else if (!spec.globalFallback?.(c.rows, options)) {
    const k = Math.pow(factor, spec.degree?.(options) ?? 1);
    closeTo(direction(scaledRows, scaled), d0.map((x) => x * k), tol, size * k, `global scaling by ${factor}: direction`);
  }

  if (spec.rowScaleInvariant) {
    const t = g.int(c.T);
    const s = 10 ** (6 * g.next() - 3);
    const one = run(method, c.rows.map((row, k) => (k === t ? row.map((x) => x * s) : row)), options, state);
    const n0 = norm(base.direction);
    const n1 = norm(one.direction);
    const rowTol = spec.rowScaleTolerance?.(c) ?? 1e-6;
    // Only meaningful when the direction is not lost in its own rounding.
    if (n0 > 1e-6 * size && n1 > 1e-6 * termSize(c.rows, weightsOf(one)) && rowTol < 0.1) {
      closeTo(one.direction.map((x) => x / n1), base.direction.map((x) => x / n0), rowTol, 1, `row ${t} scaled by ${s}: unit direction`);
    }
  }
}

function scaleState(state: AggregatorState | undefined, factor: number): AggregatorState | undefined {
  // ExcessMTL: H → c²H and r⁰ → c·r⁰ keep r/r⁰, so the weights, and d → c·d.
  if (state?.method === 'excessmtl' && state.sumSquares !== null) {
    return { ...state, sumSquares: state.sumSquares.map((row) => Array.from(row, (x) => x * factor * factor)), initial: state.initial!.map((x) => x * factor) };
  }
  if (state === undefined || state.method !== 'dbmtl' || state.buffer === null) return state;
  return { ...state, buffer: state.buffer.map((row) => Array.from(row, (x) => x * factor)) };
}

describe('aggregator properties (fast-check, 1,000 cases per method)', () => {
  for (const [method, spec] of Object.entries(SPECS) as [AggregatorName, Spec][]) {
    it(`${method}: defining property and invariances`, () => {
      fc.assert(
        fc.property(caseArbitrary, (c) => {
          const options = spec.options?.(c) ?? {};
          const state = spec.state?.(c);
          const r = run(method, c.rows, options, state);
          for (const x of r.direction) if (!Number.isFinite(x)) fail('non-finite direction');
          spec.defining(c, r, options, state);
          invariances(method, spec, c, r, options, state);
        }),
        { numRuns: RUNS, seed: 15, includeErrorInReport: true },
      );
    });
  }
});
