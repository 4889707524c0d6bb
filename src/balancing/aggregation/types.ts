/**
 * Shared types of the gradient aggregators. See `index.ts` for the scale
 * convention every method follows.
 */

export type AggregatorName =
  | 'sum'
  | 'mean'
  | 'static'
  | 'mgda'
  | 'pcgrad'
  | 'gradvac'
  | 'cagrad'
  | 'imtl'
  | 'nash'
  | 'aligned'
  | 'upgrad'
  | 'dbmtl'
  | 'dualproj'
  | 'config'
  | 'fairgrad'
  | 'excessmtl'
  | 'moco'
  | 'crmogm'
  | 'graddrop'
  | 'modo'
  | 'sdmgrad';

/**
 * A T×d matrix of per-task gradients: either one row per task (plain arrays or
 * typed arrays, all of the same length), or a flat row-major buffer.
 */
export type Matrix =
  | ReadonlyArray<ArrayLike<number>>
  | { data: Float32Array | Float64Array; rows: number; cols: number };

// ---------------------------------------------------------------- options

// Every field is optional in what callers pass; `Resolved*` are the same
// records with the defaults filled in (what `validateAggregatorOptions` returns).

export type SumOptions = Record<string, never>;
export type MeanOptions = Record<string, never>;
export type ImtlOptions = Record<string, never>;
export type ConfigOptions = Record<string, never>;

export interface StaticOptions {
  /** One finite weight per task; the direction is Σ_t weights[t]·g_t (not rescaled). */
  weights: number[];
}

export type MgdaNormalization = 'none' | 'l2' | 'loss' | 'loss+';

export interface MgdaOptions {
  /**
   * How the gradients are normalised before the min-norm weights are found
   * (Sener & Koltun): 'none' (default), 'l2' (by ‖g_t‖), 'loss' (by the loss
   * value), 'loss+' (by loss·‖g_t‖). The weights are then applied to the raw
   * gradients, as in the official implementation.
   */
  normalization?: MgdaNormalization;
  /** The current loss values, one per task; required by 'loss' and 'loss+'. */
  losses?: number[];
  /**
   * MGDA-UB: the rows are gradients w.r.t. the shared representation rather
   * than the shared parameters. The math is the same; the flag tells the
   * training loop to use `weights` on the losses instead of `direction`.
   */
  ub?: boolean;
}

export interface PcgradOptions {
  /** Seed of the random task orders (default 0). Each step draws new orders. */
  seed?: number;
  /**
   * Fixed projection order (a permutation of 0..T-1) used for every task
   * instead of random orders; task i skips itself.
   */
  order?: number[];
}

export interface GradvacOptions {
  /** EMA rate of the cosine-similarity targets, in [0, 1] (default 0.01, as in the paper). */
  beta?: number;
  /** Seed of the random task orders (default 0). */
  seed?: number;
  /** Fixed order, as for PCGrad. */
  order?: number[];
}

export interface CagradOptions {
  /** Radius of the ball around the average gradient, c ≥ 0 (default 0.5). */
  c?: number;
  /**
   * Output rescaling of the official code: 0 none, 1 divide by 1+c² (LibMTL's
   * default), 2 divide by 1+c (default here, as the official toy script: it
   * is the one that keeps the sum scale, aligned gradients give exactly Σ_t g_t).
   */
  rescale?: 0 | 1 | 2;
}

export type NashScale = 'sum' | 'paper' | 'official';

export interface NashOptions {
  /** Newton iterations at most (default 100). */
  maxIter?: number;
  /**
   * The Nash residual max_t |α_t(GGᵀα)_t − 1| to reach (default 1e-10), or
   * the rounding floor of evaluating it when that is larger; Newton's method
   * throws MultilossError('training') if it cannot get there in maxIter.
   */
  tol?: number;
  /**
   * 'sum' (default): the bargaining weights α rescaled to sum to T.
   * 'paper': α itself, the solution of (GGᵀ)α = 1/α (‖direction‖ = √T whatever the gradients' scale).
   * 'official': α·√‖GGᵀ‖_F, what the released implementation applies.
   */
  scale?: NashScale;
}

export interface AlignedOptions {
  /**
   * Eigenvalues of GGᵀ below rankTol·T·λ_max count as zero (default
   * 1.1920929e-7, the float32 epsilon the reference implementation uses).
   */
  rankTol?: number;
}

export interface UpgradOptions {
  /**
   * Preference vector, one non-negative weight per task (default all ones:
   * the sum scale; torchjd's default 1/T gives the mean scale).
   */
  pref?: number[];
  /** The Gram matrix is treated as zero when its trace is below this (default 1e-12). */
  normEps?: number;
  /** Ridge added to the trace-normalised Gram matrix (default 1e-4, as torchjd). */
  regEps?: number;
}

export interface DbmtlOptions {
  /** EMA rate of the gradient buffer, in [0, 1) (default 0.9). */
  beta?: number;
  /** The rate decays as beta / step^betaSigma, betaSigma ≥ 0 (default 0). */
  betaSigma?: number;
  /** Added to the buffered norms before dividing (default 1e-8). */
  eps?: number;
}

/** DualProj: the same options as UPGrad; `pref` weights the combination that is projected. */
export type DualprojOptions = UpgradOptions;

export type FairgradScale = 'sum' | 'paper';

export interface FairgradOptions {
  /** The fairness exponent α ∈ (0, 10] (default 1, LibMTL's default: Nash-MTL's proportional fairness). */
  alpha?: number;
  /** Newton iterations at most (default 100). */
  maxIter?: number;
  /** The residual max_t |w_t^(1/α)(GGᵀw)_t − 1| to reach (default 1e-10, or its rounding floor). */
  tol?: number;
  /** 'sum' (default): w rescaled to Σw = T; 'paper': w itself. */
  scale?: FairgradScale;
}

export interface ExcessmtlOptions {
  /** Step size η ≥ 0 of the exponentiated weight update (default 1e-2, LibMTL's robust_step_size). */
  stepSize?: number;
  /** Added under the square root of the AdaGrad accumulators (default 1e-7, as the reference code). */
  eps?: number;
}

export type MocoNormalization = 'loss' | 'none';

export interface MocoOptions {
  /** Tracking rate β ∈ (0, 1] of the gradient estimates (default 0.5). */
  beta?: number;
  /** β_k = β/k^betaSigma (default 0.5). */
  betaSigma?: number;
  /** Step size γ ≥ 0 of the weight update (default 0.1). */
  gamma?: number;
  /** γ_k = γ/k^gammaSigma (default 0.5). */
  gammaSigma?: number;
  /** Ridge ρ ≥ 0 of the weight update (default 0). */
  rho?: number;
  /** Added to ‖g_t‖ when normalising (default 1e-8). */
  eps?: number;
  /** 'loss' (default, the reference implementations): track L_t·g_t/‖g_t‖; 'none': the raw gradients (the paper's Algorithm 1). */
  normalization?: MocoNormalization;
  /** This step's loss values, one per task (required by 'loss'; the training loop fills them in). */
  losses?: number[];
}

export interface CrmogmOptions {
  /** The method whose weights are averaged (default 'mgda'): any method whose direction is Σ_t w_t g_t of the rows given. */
  inner?: Exclude<AggregatorName, 'crmogm' | 'dbmtl' | 'moco' | 'graddrop'>;
  /** The inner method's options. */
  innerOptions?: Record<string, unknown>;
  /** EMA rate β ∈ [0, 1) of the weights (default 0.9). */
  beta?: number;
  /** Passed on to an inner method that takes loss values (mgda). */
  losses?: number[];
}

export interface GraddropOptions {
  /** How much of each task's dropped entries leaks through, in [0, 1]: one number for every task or one per task (default 0, the paper's). */
  leak?: number | number[];
  /** Seed of the sign draws (default 0); the draws of step k come from Rng(`graddrop:${seed}:${k}`). */
  seed?: number;
}

export interface ModoOptions {
  /** Step size γ ≥ 0 of the weight update (default 1e-3, LibMTL's). */
  gamma?: number;
  /** Ridge ρ ≥ 0 of the weight update (default 0.1, LibMTL's). */
  rho?: number;
}

export interface SdmgradOptions {
  /** λ ≥ 0: how far the direction is pulled toward the mean gradient (default 0.3, LibMTL's). */
  lambda?: number;
  /** Projected (momentum) gradient steps on the weights per training step, ≥ 1 (default 20). */
  iterations?: number;
  /** Their step size > 0 (default 5, LibMTL's, on the Gram products scaled to mean diagonal 1). */
  stepSize?: number;
  /** Their heavy-ball momentum in [0, 1) (default 0.5, LibMTL's). */
  momentum?: number;
  /** Added to the squared mean gradient norm that scales the Gram products (default 1e-8, LibMTL's). */
  eps?: number;
}

export interface AggregatorOptionsMap {
  sum: SumOptions;
  mean: MeanOptions;
  static: StaticOptions;
  mgda: MgdaOptions;
  pcgrad: PcgradOptions;
  gradvac: GradvacOptions;
  cagrad: CagradOptions;
  imtl: ImtlOptions;
  nash: NashOptions;
  aligned: AlignedOptions;
  upgrad: UpgradOptions;
  dbmtl: DbmtlOptions;
  dualproj: DualprojOptions;
  config: ConfigOptions;
  fairgrad: FairgradOptions;
  excessmtl: ExcessmtlOptions;
  moco: MocoOptions;
  crmogm: CrmogmOptions;
  graddrop: GraddropOptions;
  modo: ModoOptions;
  sdmgrad: SdmgradOptions;
}

/** Options of one method, or (for a method known only at run time) of any. */
export type AggregatorOptions<M extends AggregatorName = AggregatorName> = AggregatorOptionsMap[M];

export interface ResolvedOptionsMap {
  sum: SumOptions;
  mean: MeanOptions;
  static: StaticOptions;
  mgda: Required<Omit<MgdaOptions, 'losses'>> & { losses?: number[] };
  pcgrad: { seed: number; order?: number[] };
  gradvac: { beta: number; seed: number; order?: number[] };
  cagrad: Required<CagradOptions>;
  imtl: ImtlOptions;
  nash: Required<NashOptions>;
  aligned: Required<AlignedOptions>;
  upgrad: { pref?: number[]; normEps: number; regEps: number };
  dbmtl: Required<DbmtlOptions>;
  dualproj: { pref?: number[]; normEps: number; regEps: number };
  config: ConfigOptions;
  fairgrad: Required<FairgradOptions>;
  excessmtl: Required<ExcessmtlOptions>;
  moco: Required<Omit<MocoOptions, 'losses'>> & { losses?: number[] };
  crmogm: { inner: Exclude<AggregatorName, 'crmogm'>; beta: number; innerOptions: Record<string, unknown> };
  graddrop: { leak: number | number[]; seed: number };
  modo: Required<ModoOptions>;
  sdmgrad: Required<SdmgradOptions>;
}

export type ResolvedOptions<M extends AggregatorName = AggregatorName> = ResolvedOptionsMap[M];

// ------------------------------------------------------------------ state

/** Every state records its method and how many steps it has seen. */
export interface BaseState<M extends AggregatorName = AggregatorName> {
  method: M;
  /** Number of `aggregate` calls this state has been through. */
  step: number;
}

export interface GradvacState extends BaseState<'gradvac'> {
  /** T×T EMA targets φ̂_ij of cos(g_i, g_j); null until the first step. */
  targets: number[][] | null;
}

export interface DbmtlState extends BaseState<'dbmtl'> {
  /**
   * T×d EMA of the gradients; null until the first step. Returned rows are
   * Float64Arrays that JSON.stringify writes as plain arrays; plain arrays
   * (e.g. from JSON.parse) are accepted back.
   */
  buffer: (number[] | Float64Array)[] | null;
}

export interface ExcessmtlState extends BaseState<'excessmtl'> {
  /** T×d AdaGrad accumulators Σ_k g_t² (rows as DbmtlState's buffer); null until the first step. */
  sumSquares: (number[] | Float64Array)[] | null;
  /** The first step's excess-risk estimates r⁰; null until the first step. */
  initial: number[] | null;
  /** The current weights (Σ = T); null until the first step. */
  weights: number[] | null;
}

export interface MocoState extends BaseState<'moco'> {
  /** T×d tracked gradients y_t; null until the first step. */
  tracked: (number[] | Float64Array)[] | null;
  /** The weights λ in the simplex; null until the first step. */
  lambda: number[] | null;
}

export interface ModoState extends BaseState<'modo'> {
  /** The weights λ in the simplex; null until the first step. */
  lambda: number[] | null;
}

export interface SdmgradState extends BaseState<'sdmgrad'> {
  /** The weights w in the simplex (carried from step to step); null until the first step. */
  weights: number[] | null;
}

export interface CrmogmState extends BaseState<'crmogm'> {
  /** The averaged weights λ; null until the first step. */
  weights: number[] | null;
  /** The inner method's state; null until the first step. */
  inner: AggregatorState | null;
}

export interface AggregatorStateMap {
  sum: BaseState<'sum'>;
  mean: BaseState<'mean'>;
  static: BaseState<'static'>;
  mgda: BaseState<'mgda'>;
  /** The random orders of step k come from Rng(`pcgrad:${seed}:${k}`), so `step` is the RNG position. */
  pcgrad: BaseState<'pcgrad'>;
  gradvac: GradvacState;
  cagrad: BaseState<'cagrad'>;
  imtl: BaseState<'imtl'>;
  nash: BaseState<'nash'>;
  aligned: BaseState<'aligned'>;
  upgrad: BaseState<'upgrad'>;
  dbmtl: DbmtlState;
  dualproj: BaseState<'dualproj'>;
  config: BaseState<'config'>;
  fairgrad: BaseState<'fairgrad'>;
  excessmtl: ExcessmtlState;
  moco: MocoState;
  crmogm: CrmogmState;
  /** The sign draws of step k come from Rng(`graddrop:${seed}:${k}`), so `step` is the RNG position. */
  graddrop: BaseState<'graddrop'>;
  modo: ModoState;
  sdmgrad: SdmgradState;
}

/** JSON-serialisable state of one method (plain numbers and arrays only). */
export type AggregatorState<M extends AggregatorName = AggregatorName> = AggregatorStateMap[M];

/**
 * How a method's iterative solver ended: the iterations it used and the final
 * residual of the condition it solves (relative, method-specific; each
 * method's condition and tolerance are in docs/aggregation.md). Methods that
 * solve nothing iteratively report none. A solver that cannot reach its
 * tolerance throws MultilossError('training') instead of returning.
 */
export interface SolverReport {
  iterations: number;
  residual: number;
}

export interface AggregateResult {
  /** The update direction, length d, on the sum scale (see index.ts). */
  direction: Float64Array;
  /**
   * Per-task weights w with direction = Σ_t w_t g_t. For 'dbmtl' they apply to
   * the EMA-buffered gradients (state.buffer), not to the rows given.
   */
  weights?: Float64Array;
  /** The state to pass to the next call. The input state is never modified. */
  state: AggregatorState;
  /** Iterations and final residual of the method's solver (nash, mgda, cagrad, imtl, aligned, upgrad). */
  solver?: SolverReport;
}

// -------------------------------------------------------- shared interface

/** The gradients as the methods see them. */
export interface GradContext {
  readonly T: number;
  readonly d: number;
  readonly rows: ReadonlyArray<ArrayLike<number>>;
  /** T×T Gram matrix GGᵀ, row-major, Float64; computed once on first use. */
  gram(): Float64Array;
  /**
   * G_a G_bᵀ (T×T, row-major) between the per-task gradients of independent batches a and b of this
   * step, for a method that declares `needs.batches`; `rows` and `gram()` are the last batch's. A
   * single matrix given to `aggregate` is every batch (crossGram(a, b) = gram()).
   */
  crossGram(a: number, b: number): Float64Array;
}

export interface MethodOutput<S> {
  /** Weights on the rows; the direction is then Σ_t w_t g_t. */
  weights: Float64Array;
  /** Set when the direction is not Σ_t weights_t·rows_t (dbmtl). */
  direction?: Float64Array;
  state: S;
  solver?: SolverReport;
}

/**
 * What a method needs from a training loop besides the Gram matrix GGᵀ and its
 * own options; the loop reads this declaration instead of the method's name.
 */
export interface AggregatorNeeds {
  /** The gradient rows themselves, not only GGᵀ (dbmtl buffers them across steps; graddrop masks them). */
  rows?: boolean;
  /**
   * The state keeps d-vectors across steps (EMA buffers, accumulators): per-parameter rows, so
   * 'param' mode only (in 'rep' mode a row is one batch's samples).
   */
  rowsAcrossSteps?: boolean;
  /** This step's losses, passed as option `losses` (mgda's loss normalisations). */
  losses?: boolean;
  /** A fresh seed per step, passed as option `seed` (pcgrad's random orders). */
  stepSeed?: boolean;
  /**
   * Independent mini-batches per step (default 1): the loop computes every task's gradient on each
   * and passes the Gram matrices between them (`GradContext.crossGram`); the direction is Σ_t w_t g_t
   * of the last batch's rows. Param mode only (a rep-mode row is one batch's samples).
   */
  batches?: number;
}

/** One aggregation method: what each module under methods/ exports. */
export interface Aggregator<M extends AggregatorName> {
  readonly name: M;
  /**
   * What the method needs from a training loop (nothing beyond GGᵀ when unset); a function of the
   * caller's options (not yet resolved) when they decide it (MoCo's loss normalisation, CR-MOGM's
   * inner method).
   */
  readonly needs?: AggregatorNeeds | ((options: Record<string, unknown>) => AggregatorNeeds);
  /** Checks the caller's options and fills the defaults; throws MultilossError('config'). */
  resolve(options: Record<string, unknown>): ResolvedOptions<M>;
  /** Fresh state. */
  init(): AggregatorState<M>;
  /** Throws MultilossError('config') when `state` does not fit T tasks and d columns. */
  checkState(state: AggregatorState<M>, T: number, d: number): void;
  run(ctx: GradContext, options: ResolvedOptions<M>, state: AggregatorState<M>): MethodOutput<AggregatorState<M>>;
  /** The direction is not Σ_t w_t g_t of the rows given (dbmtl and moco form it from their buffers, graddrop from sign-masked rows). */
  readonly ownDirection?: boolean;
}
