/**
 * The native addon's interface (types only). Browser-safe: the core modules that call the addon
 * (./adam.ts, ./gram.ts, ./layer-norms.ts, ./kernels.ts) see only this and the slot in
 * ./state.ts; loading the addon (./addon.ts) is Node-only.
 */
/** x86-64: 'avx512' | 'avx2' | 'scalar'; arm64: 'neon' | 'scalar' (ASIMD is baseline on arm64). */
export type NativeIsa = 'avx512' | 'avx2' | 'neon' | 'scalar';

export interface NativeAddonInfo {
  /** Micro-kernels in use. */
  isa: NativeIsa;
  /** Best the CPU supports. */
  bestIsa: NativeIsa;
  threads: number;
  arch: string;
  abi: number;
}

/** The addon's functions (native/src/addon.cc documents the parameter layouts). */
export interface NativeAddon {
  info(): NativeAddonInfo;
  /**
   * isa: 0 scalar, 1 avx2, 2 avx512, 3 neon, -1 keep; threads: 0 keep. Clamped to what the CPU has
   * (a set of the other architecture is no cap: the CPU's best).
   */
  configure(isa: number, threads: number): NativeAddonInfo;
  gemm(heap: ArrayBuffer, params: Float64Array, batchOffsets?: Float64Array): void;
  sumMiddle(heap: ArrayBuffer, params: Float64Array): void;
  adam(heap: ArrayBuffer, slots: Float64Array, params: Float64Array): void;
  /**
   * Adam with each gradient formed as float(Σₜ wₜ·gₜ) in double, chunk by chunk: slots = [var, m, v,
   * n, first term, term count] per variable (byte offsets), terms = [weight, byte offset] per term.
   * Absent from builds before it.
   */
  adamWeighted?(heap: ArrayBuffer, slots: Float64Array, terms: Float64Array, params: Float64Array): void;
  /**
   * GradNorm's last-layer norms: params = [n, kin, k, T, method, xOff, dOff (-1), dStep (0/1),
   * maskOff (-1), T gradient offsets] (bytes); out gets ‖Xᵀδₜ‖² then ‖Σ_rows δₜ‖². Absent from
   * builds before it.
   */
  layerGradNorms?(heap: ArrayBuffer, params: Float64Array, out: Float64Array): void;
  conv2d(heap: ArrayBuffer, params: Float64Array): void;
  maxPoolGrad(heap: ArrayBuffer, params: Float64Array): void;
  maxPool(heap: ArrayBuffer, params: Float64Array): void;
  /** slots = [T, then per variable: n, T byte offsets (-1: none)]; out gets the T(T+1)/2 pair sums. */
  gram(heap: ArrayBuffer, slots: Float64Array, out: Float64Array): void;
  /** params = [T, n, outOff, T weights, T byte offsets (-1: none)]. */
  weightedSum(heap: ArrayBuffer, params: Float64Array): void;
}

