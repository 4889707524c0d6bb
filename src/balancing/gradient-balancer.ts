import type * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import { aggregate, initialAggregatorState, validateAggregatorOptions } from './aggregation/index.js';
import { aggregateGram, needsRows, takesLosses } from './aggregation/aggregate.js';
import type { AggregatorName, AggregatorOptions, AggregatorState, DbmtlState, SolverReport } from './aggregation/index.js';
import { DbmtlTensorBuffers } from './dbmtl-tensors.js';
import type { BalancedHead, GradientBalancer, StepContext } from './strategy.js';

/** The gradient-based methods the trainer offers (the aggregators minus sum/mean/static). */
export const GRADIENT_METHODS = ['mgda', 'pcgrad', 'gradvac', 'cagrad', 'imtl', 'nash', 'aligned', 'upgrad', 'dbmtl', 'dualproj', 'config', 'fairgrad', 'excessmtl', 'moco', 'crmogm'] as const;
export type GradientMethod = (typeof GRADIENT_METHODS)[number];

export type GradientMode = 'param' | 'rep';

/**
 * Which modes each method is valid in. 'rep' aggregates gradients w.r.t. the
 * trunk output, whose rows are this batch's samples: fine for methods that
 * look at one step's gradients, meaningless for DB-MTL, whose state is a
 * running average of gradient vectors across steps (another batch, other rows).
 */
export const VALID_MODES: Record<GradientMethod, readonly GradientMode[]> = {
  mgda: ['param', 'rep'],
  pcgrad: ['param', 'rep'],
  gradvac: ['param', 'rep'],
  cagrad: ['param', 'rep'],
  imtl: ['param', 'rep'],
  nash: ['param', 'rep'],
  aligned: ['param', 'rep'],
  upgrad: ['param', 'rep'],
  dbmtl: ['param'],
  dualproj: ['param', 'rep'],
  config: ['param', 'rep'],
  fairgrad: ['param', 'rep'],
  excessmtl: ['param'],
  moco: ['param'],
  // rep only when its inner method is valid there (checked with the options).
  crmogm: ['param', 'rep'],
};

export function isGradientMethod(name: string): name is GradientMethod {
  return (GRADIENT_METHODS as readonly string[]).includes(name);
}

/**
 * A gradient strategy that can work from the Gram matrix GGᵀ of the per-head
 * gradients alone (the trainer's fast path: the T×d rows stay tensors, only
 * T×T numbers reach JavaScript, and the direction Σ_t w_t g_t is formed by
 * the trainer). `combineGram` returns undefined when this step needs the rows.
 */
export interface GramBalancer extends GradientBalancer {
  combineGram(gram: Float64Array, tasks: number, dim: number, losses: readonly number[], ctx: StepContext): Float64Array | undefined;
}

export function isGramBalancer(s: GradientBalancer): s is GramBalancer {
  return typeof (s as Partial<GramBalancer>).combineGram === 'function';
}

/**
 * A gradient strategy that works on the per-head gradient tensors itself and keeps tensors
 * between steps (DB-MTL's EMA buffers): the trainer's param mode passes it perHead[t][i], head
 * t's gradient w.r.t. shared variable i (undefined: zero), and applies the direction it returns
 * (one new tensor per shared variable, the trainer's to dispose). `combineTensors` returns
 * undefined when the strategy wants the T×d rows instead. The trainer calls `releaseTensors`
 * when it is disposed: the tensors' values move into the JSON state (`getState` still returns
 * them) and the tensors are freed.
 */
export interface TensorBalancer extends GradientBalancer {
  combineTensors(
    perHead: readonly (readonly (tf.Tensor | undefined)[])[],
    shapes: readonly (readonly number[])[],
    losses: readonly number[],
    ctx: StepContext,
  ): { weights: Float64Array; direction: tf.Tensor[] } | undefined;
  releaseTensors(): void;
}

export function isTensorBalancer(s: GradientBalancer): s is TensorBalancer {
  const t = s as Partial<TensorBalancer>;
  return typeof t.combineTensors === 'function' && typeof t.releaseTensors === 'function';
}

/**
 * A gradient-based strategy: hands each step's T×d matrix of per-head
 * gradients to the standalone aggregator of the same name and carries its
 * state between steps (and through checkpoints).
 */
export class AggregatingBalancer implements TensorBalancer {
  readonly kind = 'gradient' as const;
  /** The JSON state; for DB-MTL in param mode, stale while `tensors` holds the buffers. */
  private state: AggregatorState;
  /** DB-MTL's EMA buffers as tensors once the trainer's tensor path has run (see `combineTensors`). */
  private tensors?: DbmtlTensorBuffers;
  private readonly options: AggregatorOptions;
  /** The method needs the rows, not only GGᵀ (as its definition declares for these options). */
  private readonly rowsNeeded: boolean;
  /** The last combine call's solver report (undefined when the method runs no solver). */
  private solver?: SolverReport;
  constructor(
    readonly name: GradientMethod,
    readonly mode: GradientMode,
    heads: readonly BalancedHead[],
    options: Record<string, unknown>,
  ) {
    if (!VALID_MODES[name].includes(mode)) {
      throw new MultilossError('config', `balance.mode: method "${name}" is not valid in mode "${mode}"; valid: ${VALID_MODES[name].join(', ')}`);
    }
    if (name === 'mgda' && options.ub === true && mode !== 'rep') {
      throw new MultilossError('config', 'balance: MGDA-UB (ub: true) works on the shared representation; set mode: rep');
    }
    const { losses: _ignored, ...rest } = options;
    if (_ignored !== undefined) throw new MultilossError('config', 'balance.losses is filled in by the trainer at every step; remove it');
    // Methods that read this step's losses (their definitions say so) get them from the trainer at every step.
    const checked = validateAggregatorOptions(name, takesLosses(name, rest) ? { ...rest, losses: new Array<number>(heads.length).fill(1) } : rest);
    this.rowsNeeded = needsRows(name, checked);
    // Rows kept across steps (EMA buffers, accumulators) are per-parameter; in rep mode a row is a batch's samples.
    if (this.rowsNeeded && mode === 'rep') {
      throw new MultilossError('config', `balance.mode: method "${name}" with these options keeps gradient rows across steps and is valid in mode "param" only`);
    }
    if (name === 'pcgrad' && Array.isArray(rest.order)) {
      throw new MultilossError('config', 'balance.order: a fixed PCGrad order is for the standalone aggregate(); training draws a new order per step from the seed');
    }
    this.options = rest as AggregatorOptions;
    this.state = initialAggregatorState(name);
    if (heads.length < 1) throw new MultilossError('config', 'balance: no heads');
  }

  combineGradients(grads: Float32Array, tasks: number, dim: number, losses: readonly number[], ctx: StepContext): { direction: Float32Array; weights: Float64Array } {
    this.releaseTensors();
    const result = aggregate(this.name as AggregatorName, { data: grads, rows: tasks, cols: dim }, this.stepOptions(losses, ctx), this.state);
    this.state = result.state;
    this.solver = result.solver;
    return { direction: Float32Array.from(result.direction), weights: result.weights ?? new Float64Array(tasks).fill(1) };
  }

  /** The weights from GGᵀ alone (same result and state as `combineGradients`); undefined for DB-MTL, which needs the rows. */
  combineGram(gram: Float64Array, tasks: number, dim: number, losses: readonly number[], ctx: StepContext): Float64Array | undefined {
    if (this.rowsNeeded) return undefined;
    const result = aggregateGram(this.name as AggregatorName, gram, tasks, dim, this.stepOptions(losses, ctx), this.state);
    this.state = result.state;
    this.solver = result.solver;
    return result.weights;
  }

  solverReport(): SolverReport | undefined {
    return this.solver;
  }

  /**
   * DB-MTL on tensors (see DbmtlTensorBuffers): the same weights, direction and state as
   * `combineGradients` on the same gradients, to float32 rounding. Undefined for other methods.
   */
  combineTensors(
    perHead: readonly (readonly (tf.Tensor | undefined)[])[],
    shapes: readonly (readonly number[])[],
    _losses: readonly number[],
    _ctx: StepContext,
  ): { weights: Float64Array; direction: tf.Tensor[] } | undefined {
    if (this.name !== 'dbmtl' || this.mode !== 'param') return undefined;
    this.solver = undefined;
    if (this.tensors === undefined) {
      const options = validateAggregatorOptions('dbmtl', this.options);
      this.tensors = new DbmtlTensorBuffers(options, this.state as DbmtlState, shapes, perHead.length);
      this.state = { method: 'dbmtl', step: this.tensors.step, buffer: null };
    }
    return this.tensors.combine(perHead, shapes);
  }

  /** Moves DB-MTL's tensor buffers into the JSON state and frees them (no-op otherwise). */
  releaseTensors(): void {
    if (this.tensors === undefined) return;
    this.state = this.tensors.toState();
    this.tensors.dispose();
    this.tensors = undefined;
  }

  private stepOptions(losses: readonly number[], ctx: StepContext): AggregatorOptions {
    const options: Record<string, unknown> = { ...this.options };
    if (takesLosses(this.name, this.options as Record<string, unknown>)) options.losses = [...losses];
    if (this.name === 'pcgrad') options.seed = ctx.rng.seed();
    return options as AggregatorOptions;
  }

  getState(): Record<string, unknown> {
    const state = this.tensors ? this.tensors.toState() : this.state;
    return { aggregator: state as unknown as Record<string, unknown> };
  }

  setState(state: Record<string, unknown>): void {
    if (!state.aggregator) return;
    this.tensors?.dispose();
    this.tensors = undefined;
    this.state = state.aggregator as unknown as AggregatorState;
  }
}
