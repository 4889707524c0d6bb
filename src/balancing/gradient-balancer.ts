import type * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import { aggregate, initialAggregatorState, validateAggregatorOptions } from './aggregation/index.js';
import { aggregateGram, aggregatorNeeds } from './aggregation/aggregate.js';
import type { AggregatorName, AggregatorNeeds, AggregatorOptions, AggregatorState, SolverReport } from './aggregation/index.js';
import { gradientMethodTraining, VALID_MODES, type GradientMethod, type GradientMethodTraining, type GradientMode, type LossHalf, type TensorCombiner } from './gradient-methods.js';
import type { BalancedHead, GradientBalancer, StepContext } from './strategy.js';

export { GRADIENT_METHODS, VALID_MODES, isGradientMethod, type GradientMethod, type GradientMode } from './gradient-methods.js';

/**
 * A gradient strategy that can work from the Gram matrix GGᵀ of the per-head
 * gradients alone (the trainer's fast path: the T×d rows stay tensors, only
 * T×T numbers reach JavaScript, and the direction Σ_t w_t g_t is formed by
 * the trainer). `combineGram` returns undefined when this step needs the rows.
 */
export interface GramBalancer extends GradientBalancer {
  /** With `batchesPerStep` k > 1, `gram` is the (k·tasks)² Gram matrix of every batch's rows stacked; the weights apply to the last batch's. */
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
  /** The JSON state; stale while `tensors` holds the method's state as tensors. */
  private state: AggregatorState;
  /** The method's state as tensors once the trainer's tensor path has run (see `combineTensors`). */
  private tensors?: TensorCombiner;
  private readonly options: AggregatorOptions;
  /** What the method declares: its needs from each step, and about training with it. */
  private readonly needs: AggregatorNeeds;
  private readonly training: GradientMethodTraining;
  /** The last combine call's solver report (undefined when the method runs no solver). */
  private solver?: SolverReport;
  /** The method's loss half (the full IMTL's loss scales), applied by the trainer inside the tape. */
  readonly lossTransform?: LossHalf;
  /** Independent batches per step the method declares (MoDo's 3). */
  readonly batchesPerStep: number;
  constructor(
    readonly name: GradientMethod,
    readonly mode: GradientMode,
    heads: readonly BalancedHead[],
    options: Record<string, unknown>,
  ) {
    if (!VALID_MODES[name].includes(mode)) {
      throw new MultilossError('config', `balance.mode: method "${name}" is not valid in mode "${mode}"; valid: ${VALID_MODES[name].join(', ')}`);
    }
    this.training = gradientMethodTraining(name);
    const { losses: _ignored, ...all } = options;
    if (_ignored !== undefined) throw new MultilossError('config', 'balance.losses is filled in by the trainer at every step; remove it');
    // The loss half's options go to it; the aggregator sees the rest.
    const half = this.training.lossHalf;
    const rest = Object.fromEntries(Object.entries(all).filter(([k]) => !half?.options.includes(k)));
    this.needs = aggregatorNeeds(name, rest);
    // A method that reads this step's losses (MGDA's loss normalisations) gets them at every step.
    validateAggregatorOptions(name, this.needs.losses ? { ...rest, losses: new Array<number>(heads.length).fill(1) } : rest);
    // Rows kept across steps (EMA buffers, accumulators) are per-parameter; in rep mode a row is a batch's samples.
    if (this.needs.rowsAcrossSteps && mode === 'rep') {
      throw new MultilossError('config', `balance.mode: method "${name}" with these options keeps gradient rows across steps and is valid in mode "param" only`);
    }
    this.batchesPerStep = this.needs.batches ?? 1;
    // Several batches' gradients are compared through their Gram matrices: per-parameter rows, so param mode only.
    if (this.batchesPerStep > 1 && (mode !== 'param' || this.needs.rows)) {
      throw new MultilossError('config', `balance.mode: method "${name}" takes ${this.batchesPerStep} batches per step and is valid in mode "param" only`);
    }
    this.training.checkOptions?.(rest, mode);
    this.options = rest as AggregatorOptions;
    this.state = initialAggregatorState(name);
    if (heads.length < 1) throw new MultilossError('config', 'balance: no heads');
    this.lossTransform = half?.create(heads, Object.fromEntries(Object.entries(all).filter(([k]) => half.options.includes(k))));
  }

  /** The mode of `method` when `balance.mode` is not set. */
  static defaultMode(method: GradientMethod, options: Record<string, unknown>): GradientMode {
    const training = gradientMethodTraining(method);
    return training.defaultMode?.(options) ?? training.modes[0];
  }

  combineGradients(grads: Float32Array, tasks: number, dim: number, losses: readonly number[], ctx: StepContext): { direction: Float32Array; weights: Float64Array } {
    this.releaseTensors();
    const result = aggregate(this.name as AggregatorName, { data: grads, rows: tasks, cols: dim }, this.stepOptions(losses, ctx), this.state);
    this.state = result.state;
    this.solver = result.solver;
    return { direction: Float32Array.from(result.direction), weights: result.weights ?? new Float64Array(tasks).fill(1) };
  }

  /** The weights from GGᵀ alone (same result and state as `combineGradients`); undefined for a method that needs the rows. */
  combineGram(gram: Float64Array, tasks: number, dim: number, losses: readonly number[], ctx: StepContext): Float64Array | undefined {
    if (this.needs.rows) return undefined;
    const result = aggregateGram(this.name as AggregatorName, gram, tasks, dim, this.stepOptions(losses, ctx), this.state, this.batchesPerStep);
    this.state = result.state;
    this.solver = result.solver;
    return result.weights;
  }

  solverReport(): SolverReport | undefined {
    return this.solver;
  }

  /**
   * The method on tensors, when it declares a tensor path (DB-MTL, see DbmtlTensorBuffers): the
   * same weights, direction and state as `combineGradients` on the same gradients, to float32
   * rounding. Undefined otherwise, and in 'rep' mode.
   */
  combineTensors(
    perHead: readonly (readonly (tf.Tensor | undefined)[])[],
    shapes: readonly (readonly number[])[],
    losses: readonly number[],
    _ctx: StepContext,
  ): { weights: Float64Array; direction: tf.Tensor[] } | undefined {
    if (!this.training.tensors || this.mode !== 'param') return undefined;
    this.solver = undefined;
    if (this.tensors === undefined) {
      this.tensors = this.training.tensors(this.options, this.state, shapes, perHead.length);
      // The JSON state is stale from here until releaseTensors: drop its (possibly large) buffers.
      this.state = initialAggregatorState(this.name);
    }
    return this.tensors.combine(perHead, shapes, losses);
  }

  /** Moves the method's tensors into the JSON state and frees them (no-op without). */
  releaseTensors(): void {
    if (this.tensors === undefined) return;
    this.state = this.tensors.toState();
    this.tensors.dispose();
    this.tensors = undefined;
  }

  private stepOptions(losses: readonly number[], ctx: StepContext): AggregatorOptions {
    const options: Record<string, unknown> = { ...this.options };
    if (this.needs.losses) options.losses = [...losses];
    if (this.needs.stepSeed) options.seed = ctx.rng.seed();
    return options as AggregatorOptions;
  }

  getState(): Record<string, unknown> {
    const state = this.tensors ? this.tensors.toState() : this.state;
    return { aggregator: state as unknown as Record<string, unknown>, ...(this.lossTransform ? { loss: this.lossTransform.getState() } : {}) };
  }

  setState(state: Record<string, unknown>): void {
    if (this.lossTransform && state.loss !== undefined) this.lossTransform.setState(state.loss as Record<string, unknown>);
    if (!state.aggregator) return;
    this.tensors?.dispose();
    this.tensors = undefined;
    this.state = state.aggregator as unknown as AggregatorState;
  }

  dispose(): void {
    this.lossTransform?.dispose();
  }
}
