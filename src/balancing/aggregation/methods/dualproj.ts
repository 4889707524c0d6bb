import type { Aggregator } from '../types.js';
import { OptionReader, checkTaskLength } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import { dualConeGram, dualConeOptions, projectOntoDualCone } from './upgrad.js';

/**
 * DualProj (the projection step of GEM: Lopez-Paz & Ranzato, "Gradient
 * Episodic Memory for Continual Learning", NeurIPS 2017; torchjd's DualProj):
 * the preference-weighted combination Σ_t p_t g_t projected onto the dual cone
 * {x : Gx ≥ 0} of the task gradients, the closest direction that no task's
 * gradient has a negative inner product with. One QP on the trace-normalised,
 * ridge-regularised Gram matrix (v = argmin vᵀKv s.t. v ≥ p), solved exactly by
 * the active-set method UPGrad uses. Default p = 1: the sum when no gradients
 * conflict (torchjd's default 1/T gives the mean). Where UPGrad projects every
 * task's gradient and sums the projections (T QPs), DualProj projects the sum
 * once.
 */
export const dualprojAggregator: Aggregator<'dualproj'> = {
  name: 'dualproj',
  resolve: (options) => dualConeOptions(new OptionReader('dualproj', options)),
  init: () => baseState('dualproj'),
  checkState: (s) => checkBaseState('dualproj', s),
  run(ctx, o, state) {
    const { T } = ctx;
    checkTaskLength('dualproj', 'pref', o.pref, T);
    const u = Float64Array.from(o.pref ?? new Array<number>(T).fill(1));
    const Q = dualConeGram(ctx.gram(), T, o.normEps, o.regEps);
    const { v, solver } = projectOntoDualCone('dualproj', 'the dual-cone projection QP', Q, T, u);
    return { weights: v, state: advance(state), solver };
  },
};
