import type { Aggregator } from '../types.js';
import { OptionReader, checkTaskLength } from '../../options.js';
import { advance, baseState, checkBaseState } from '../state.js';
import { Rng } from '../../../util/rng.js';

/**
 * GradDrop (Chen, Ngiam, Huang, Luong, Kretzschmar, Chai & Anguelov, "Just Pick a Sign:
 * Optimizing Deep Multitask Models with Gradient Sign Dropout", NeurIPS 2020). At every entry j
 * of the gradient, the positive sign purity P_j = ½(1 + Σ_t g_tj / Σ_t |g_tj|) is the share of
 * the gradient mass that is positive. One uniform draw U_j per entry picks a sign: positive with
 * probability P_j, negative otherwise; every task's entry of the other sign is dropped, so the
 * heads never push an entry in opposite directions. A leak ℓ_t ∈ [0, 1] lets that share of task
 * t's dropped entries through anyway:
 *   d_j = Σ_t (ℓ_t + (1 − ℓ_t)·M_tj)·g_tj,  M_tj = [P_j > U_j][g_tj > 0] + [P_j < U_j][g_tj < 0].
 * The paper applies it at the shared representation (here: `rep` mode, whose rows are the
 * gradients w.r.t. the trunk output, one entry per sample and unit, as LibMTL's implementation
 * and torchjd's aggregator); an entry where every task's gradient is 0 stays 0. The draws come
 * from Rng(`graddrop:${seed}:${step}`): the training loop passes a fresh seed per step, so a
 * resumed run draws the same masks. Options: `leak` (one number in [0, 1] for every task, or one
 * per task; default 0, the paper's), `seed` (default 0). Weights: each task's kept share
 * ⟨M_t∘g_t, g_t⟩/‖g_t‖² (1 when nothing of it was dropped; 1 for a zero row) — the direction is
 * not Σ_t w_t g_t. Cost: O(T·d) per step plus d uniform draws.
 */
export const graddropAggregator: Aggregator<'graddrop'> = {
  name: 'graddrop',
  needs: { rows: true, stepSeed: true },
  ownDirection: true,
  resolve(options) {
    const r = new OptionReader('graddrop', options);
    const raw = options.leak;
    const leak = typeof raw === 'number' || raw === undefined ? r.number('leak', 0, 0, 1) : (r.numbers('leak', 0) as number[]);
    if (Array.isArray(leak) && leak.some((x) => x > 1)) r.fail('leak', 'a number in [0, 1] or an array of them (one per task)', raw);
    const seed = r.integer('seed', 0, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    r.done();
    return { leak, seed };
  },
  init: () => baseState('graddrop'),
  checkState: (s) => checkBaseState('graddrop', s),
  run(ctx, o, state) {
    const { T, d, rows } = ctx;
    const leaks = typeof o.leak === 'number' ? new Array<number>(T).fill(o.leak) : o.leak;
    checkTaskLength('graddrop', 'leak', leaks, T);
    const rng = new Rng(`graddrop:${o.seed}:${state.step}`);
    const direction = new Float64Array(d);
    const kept = new Float64Array(T);
    const norms = new Float64Array(T);
    for (let j = 0; j < d; j++) {
      let sum = 0;
      let abs = 0;
      for (let t = 0; t < T; t++) {
        const g = rows[t][j];
        sum += g;
        abs += Math.abs(g);
      }
      // One draw per entry, zero entries included, so the masks of later entries do not depend on earlier values.
      const u = rng.next();
      if (abs === 0) continue;
      const purity = 0.5 * (1 + sum / abs);
      const keepPositive = purity > u;
      const keepNegative = purity < u;
      for (let t = 0; t < T; t++) {
        const g = rows[t][j];
        const mask = (keepPositive && g > 0) || (keepNegative && g < 0) ? 1 : 0;
        const f = leaks[t] + (1 - leaks[t]) * mask;
        direction[j] += f * g;
        kept[t] += f * g * g;
        norms[t] += g * g;
      }
    }
    const weights = Float64Array.from(kept, (k, t) => (norms[t] > 0 ? k / norms[t] : 1));
    return { weights, direction, state: advance(state) };
  },
};
