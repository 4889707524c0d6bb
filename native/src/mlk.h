// multiloss native kernels: the C++ core, free of Node/N-API so that a plain C++ test
// harness (native/test/kernel_test.cc) can run it under AddressSanitizer or valgrind.
//
// All matrices are row-major float32. Pointers may have any 4-byte alignment (the wasm heap
// gives 8/16-byte aligned tensors, views may be 4-byte aligned); only our own packed
// buffers are aligned.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mlk {

/**
 * Instruction sets, as two ladders: x86-64 scalar < avx2 (+FMA) < avx512 (run-time detection);
 * arm64 scalar < neon (AArch64 ASIMD is baseline: always there). The numbers are the addon's
 * `configure` codes; ordering only means something within one architecture.
 */
enum Isa : int { ISA_SCALAR = 0, ISA_AVX2 = 1, ISA_AVX512 = 2, ISA_NEON = 3 };

const char* isa_name(Isa isa);
/** Best instruction set this CPU (and OS) supports among ours. */
Isa detect_isa();
/**
 * The micro-kernels in use; `set_isa` clamps to what the CPU supports, returns the result.
 * ISA_SCALAR always caps to the portable kernels; a set of the other architecture (neon on
 * x86-64, avx2/avx512 on arm64) is no cap: the CPU's best is used.
 */
Isa current_isa();
Isa set_isa(Isa isa);

// ------------------------------------------------------------------------------ threads
/** Threads used by the kernels (caller + persistent workers); clamped to [1, 8]. */
int num_threads();
int set_num_threads(int n);
/** fn(ctx, chunk, tid) for every chunk in [0, n); the caller takes part and returns when all are done. */
typedef void (*ChunkFn)(void* ctx, long chunk, int tid);
void parallel_for(long n, ChunkFn fn, void* ctx, int max_threads = 0);
/** Stop the workers (process exit / tests). They restart on demand. */
void shutdown_threads();
/**
 * Two per-thread scratch buffers (A: packed rows, B: packed columns / columns of a conv),
 * 64-byte aligned, for thread ids below num_threads(). Grow them from the calling thread only,
 * before parallel_for; false when memory could not be allocated.
 */
bool ensure_scratch_a(size_t floats);
bool ensure_scratch_b(size_t floats);
bool ensure_scratch_c(size_t floats);  // conv columns of one thread's images
float* scratch_a(int tid);
float* scratch_b(int tid);
float* scratch_c(int tid);

// ------------------------------------------------------------------------------ gemm
enum Act : int { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_LEAKYRELU = 3, ACT_ELU = 4, ACT_SIGMOID = 5 };

struct Epilogue {
  const float* bias = nullptr;  // nullptr: none
  long bias_col_stride = 1;     // 1: one value per output column; 0: a single value
  long bias_row_stride = 0;     // 0: same for every row; else floats between rows ([m, n] bias)
  int act = ACT_LINEAR;
  float alpha = 0.f;            // leakyrelu slope
  bool accumulate = false;      // C = act(C + op(A) op(B) + bias) instead of overwriting C
};

/**
 * C = op(A) op(B) (+ bias, activation), C is m x n with row stride ldc.
 * op(A) is m x k: A[i*lda + p], or A[p*lda + i] when trans_a. op(B) is k x n: B[p*ldb + j],
 * or B[j*ldb + p] when trans_b. k == 0 gives the epilogue applied to zeros.
 * Returns false only when scratch memory could not be allocated (nothing was written).
 */
bool sgemm(long m, long n, long k, const float* a, long lda, bool trans_a, const float* b, long ldb, bool trans_b,
           float* c, long ldc, const Epilogue& ep);

/** `batch` products; A/B/C/bias of product t start at a + a_off[t] etc. (offsets in floats). */
bool sgemm_batched(long batch, long m, long n, long k, const float* a, const long* a_off, long lda, bool trans_a,
                   const float* b, const long* b_off, long ldb, bool trans_b, float* c, long c_stride, long ldc,
                   const Epilogue& ep, const long* bias_off);

// ------------------------------------------------------------------------------ reductions
/** out[o*inner + i] = sum_r x[(o*red + r)*inner + i]. */
void sum_middle(const float* x, float* out, long outer, long red, long inner);

// ------------------------------------------------------------------------------ adam
struct AdamParams {
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float one_minus_acc_beta1, one_minus_acc_beta2;  // 1 - beta^t (float32, as tf.train.adam keeps it)
  float epsilon, neg_lr;
};
struct AdamSlot {
  float* var;
  const float* grad;
  float* m;
  float* v;
  long n;
};
/**
 * The tf.train.adam update, float32, in the same operation order (bit-identical):
 * m = m*b1 + g*(1-b1); v = v*b2 + (g*g)*(1-b2); w = ((m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)) * -lr + w
 */
void adam(const AdamSlot* slots, long count, const AdamParams& p);
struct AdamTerm {
  double weight;
  const float* grad;
};
struct AdamWeightedSlot {
  float* var;
  float* m;
  float* v;
  long n;
  const AdamTerm* terms;  // the gradient is float(sum of weight * grad) in double, in this order
  long count;             // 0: a zero gradient
};
/**
 * adam() with each variable's gradient formed chunk by chunk as weighted_sum would (the same
 * numbers), never written out: the param mode's combined direction straight into the step.
 */
void adam_weighted(const AdamWeightedSlot* slots, long count, const AdamParams& p);

// ------------------------------------------------------------------------------ gram / weighted sum
/** One variable's T gradients (g[t] == nullptr: zero), n floats each. */
struct GramSlot {
  const float* const* g;
  long n;
};
/**
 * out[p] = sum over slots of dot(g_a, g_b) for the T(T+1)/2 pairs a <= b in row-major order
 * ((0,0), (0,1), ..., (1,1), ...), products and sums in double; chunk sums are added in chunk
 * order (the result does not depend on the thread count). False: out of memory (out zeroed).
 */
bool gram(const GramSlot* slots, long count, long T, double* out);
/** out[i] = float(sum_t w[t] * g[t][i]) in double; g[t] == nullptr or w[t] == 0 contributes nothing. */
void weighted_sum(const float* const* g, const double* w, long T, long n, float* out);

// ------------------------------------------------------------------------------ last-layer gradient norms
/**
 * A dense layer's input X (n x kin) and the gradients g_t (n x k each, t < T) of T losses w.r.t.
 * its output (after activation and dropout), with d (n x k, nullptr: none) and mask (n x k,
 * nullptr: none) the factors that take g_t back to the pre-activation: delta_t = g_t * (f * mask),
 * f = d, or step(d) (1 where d > 0, 0 elsewhere, NaN stays NaN) when d_step; float32 products in
 * that order (as the tfjs ops compute them).
 */
struct LayerNormsArgs {
  long n = 0, kin = 0, k = 0, T = 0;
  const float* x = nullptr;
  const float* const* g = nullptr;  // T pointers
  const float* d = nullptr;
  bool d_step = false;
  const float* mask = nullptr;
  /** 0: the cheaper of the two; 1: through the n x n products; 2: through X^T delta. */
  int method = 0;
};
/**
 * out[t] = |X^T delta_t|^2 (the squared norm of the kernel's gradient) and out[T + t] =
 * |sum over rows of delta_t|^2 (the bias's), t < T. Method 1 uses |X^T delta|^2 =
 * sum_{r,s} (X X^T)_{rs} (delta delta^T)_{rs} over the lower triangles only (the products are
 * symmetric): the gemm micro-kernel's MR x NR tiles on and below the diagonal, X's and each
 * delta_t's tile reduced at once (no n x n matrix is stored); panels of MR rows, i and P-1-i on
 * one thread (equal work). Method 2 forms X^T [delta_1 .. delta_T] (kin x Tk). float32 products, double sums; partial sums are added in a
 * fixed order (the result does not depend on the thread count). False: out of memory (out
 * untouched).
 */
bool layer_grad_norms(const LayerNormsArgs& a, double* out);

// ------------------------------------------------------------------------------ conv2d (NHWC, HWIO)
struct ConvGeom {
  long batch, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
};
/** y[b, oh, ow, co] = sum x[b, ih, iw, ci] f[kh, kw, ci, co] (+ bias[co], activation). */
bool conv2d_forward(const ConvGeom& g, const float* x, const float* f, float* y, const Epilogue& ep);
/** dx = the gradient w.r.t. x of sum(dy * conv2d(x, f)). dx is overwritten. */
bool conv2d_backprop_input(const ConvGeom& g, const float* dy, const float* f, float* dx);
/**
 * df = the gradient w.r.t. f; with db, also the bias's (Σ of dy over batch and pixels), in the same
 * pass where the kernel makes one. df and db are overwritten.
 */
bool conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* df, float* db = nullptr);

// ------------------------------------------------------------------------------ max pool gradient (NHWC)
struct PoolGeom {
  long batch, in_h, in_w, channels, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_top, pad_left;
  /**
   * The gradient of relu before the pooling as well: a window whose maximum is not > 0 passes
   * nothing (x is relu's output; its derivative at the maximum is 1 exactly when it is > 0).
   */
  bool relu = false;
};
/**
 * dx = the gradient of max pooling: each output's gradient goes to the first maximum of its window
 * in row-major order (strictly greater than everything before it, from -infinity; a window of
 * only NaN / -infinity passes nothing), as the tfjs cpu backend does; with `relu`, times relu's
 * derivative (max pooling of relu(z): one kernel for both gradients). dx is overwritten.
 */
void max_pool_grad(const PoolGeom& g, const float* x, const float* dy, float* dx);
/**
 * y = max pooling of x (NHWC): each output is the largest value of its window (padding is no
 * value; NaN is never larger, so a window of only NaN / -infinity gives -infinity), as the tfjs
 * cpu backend computes it. `relu` is ignored.
 */
void max_pool(const PoolGeom& g, const float* x, float* y);

}  // namespace mlk
