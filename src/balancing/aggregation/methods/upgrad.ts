import type { Aggregator } from '../types.js';
import { OptionReader, checkTaskLength } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import type { AggregatorName, SolverReport } from '../types.js';
import { activeSetQP, QP_TOLERANCE } from '../linalg.js';
import { converged, mergeReports } from '../solver.js';

/**
 * UPGrad (Quinton & Rey 2024, torchjd's default aggregator). Each g_t, weighted
 * by the preference p_t, is projected onto the dual cone {x : Gx ≥ 0} of the
 * task gradients; the direction is the sum of the projections. By the paper's
 * Proposition 1 the projection of Gᵀu is Gᵀv with v = argmin vᵀKv s.t. v ≥ u,
 * a small QP on the trace-normalised, ridge-regularised Gram matrix (solved
 * exactly by an active-set method). With the default p = 1 the result is the
 * sum when no gradients conflict (torchjd's default p = 1/T gives the mean).
 */
export const upgradAggregator: Aggregator<'upgrad'> = {
  name: 'upgrad',
  resolve: (options) => dualConeOptions(new OptionReader('upgrad', options)),
  init: () => baseState('upgrad'),
  checkState: (s) => checkBaseState('upgrad', s),
  run(ctx, o, state) {
    const { T } = ctx;
    checkTaskLength('upgrad', 'pref', o.pref, T);
    const { weights, solver } = upgradWeights(ctx.gram(), T, o.pref ?? new Array<number>(T).fill(1), o.normEps, o.regEps);
    return { weights, state: advance(state), solver };
  },
};

/** The options of the dual-cone projections (UPGrad, DualProj): `pref`, `normEps`, `regEps`. */
export function dualConeOptions(r: OptionReader): { pref?: number[]; normEps: number; regEps: number } {
  const pref = r.numbers('pref', 0);
  const normEps = r.number('normEps', 1e-12, 0, Infinity);
  const regEps = r.number('regEps', 1e-4, 0, Infinity);
  r.done();
  return pref === undefined ? { normEps, regEps } : { pref, normEps, regEps };
}

/** Σ_t v_t where v_t is the dual-cone projection weight vector of p_t·e_t, with the T QPs' merged report. */
export function upgradWeights(K: Float64Array, T: number, pref: readonly number[], normEps: number, regEps: number): { weights: Float64Array; solver: SolverReport } {
  const { rows, solver } = projectionWeights(K, T, pref, normEps, regEps);
  const w = new Float64Array(T);
  for (const v of rows) for (let k = 0; k < T; k++) w[k] += v[k];
  return { weights: w, solver };
}

/**
 * The T weight vectors v_t (projection of p_t·g_t onto the dual cone = Σ_k v_t[k]·g_k).
 * Throws MultilossError('training') naming the task whose QP misses QP_TOLERANCE.
 */
export function projectionWeights(K: Float64Array, T: number, pref: readonly number[], normEps: number, regEps: number): { rows: Float64Array[]; solver: SolverReport } {
  const Q = dualConeGram(K, T, normEps, regEps);
  const rows: Float64Array[] = [];
  const reports: SolverReport[] = [];
  for (let t = 0; t < T; t++) {
    if (pref[t] === 0) {
      rows.push(new Float64Array(T));
      continue;
    }
    const u = new Float64Array(T);
    u[t] = pref[t];
    const { v, solver } = projectOntoDualCone('upgrad', `the dual-cone projection QP of task ${t}`, Q, T, u);
    reports.push(solver);
    rows.push(v);
  }
  return { rows, solver: mergeReports(reports) };
}

/**
 * The matrix of the dual-cone projection QPs: GGᵀ divided by its trace (zero
 * below normEps) plus the ridge regEps on the diagonal.
 */
export function dualConeGram(K: Float64Array, T: number, normEps: number, regEps: number): Float64Array {
  let tr = 0;
  for (let t = 0; t < T; t++) tr += K[t * T + t];
  const Q = new Float64Array(T * T);
  if (tr >= normEps && tr > 0) for (let i = 0; i < T * T; i++) Q[i] = K[i] / tr;
  // A tiny floor keeps the QP strictly convex when regEps = 0.
  for (let t = 0; t < T; t++) Q[t * T + t] += Math.max(regEps, 1e-13);
  return Q;
}

/**
 * The projection of Gᵀu onto the dual cone {x : Gx ≥ 0} as Gᵀv, v = argmin vᵀQv
 * s.t. v ≥ u (Proposition 1 of the UPGrad paper), Q from `dualConeGram`.
 * Throws MultilossError('training') naming `what` when the QP misses QP_TOLERANCE.
 */
export function projectOntoDualCone(method: AggregatorName, what: string, Q: Float64Array, T: number, u: Float64Array): { v: Float64Array; solver: SolverReport } {
  const { x, iterations, residual } = activeSetQP(Q, T, new Float64Array(T), u, false);
  return { v: x, solver: converged(method, what, { iterations, residual }, QP_TOLERANCE) };
}
