// Reductions and the fused Adam step.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "internal.h"
#include "mlk.h"

namespace mlk {

// ------------------------------------------------------------------------------ sum
namespace {

constexpr long kInnerBlock = 1024;      // floats of one output row block (stays in L1)
constexpr long kSumThreadMin = 1 << 17;  // elements below which one thread sums

#define MLK_SUM_CONTIGUOUS_BODY                                                               \
  float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};                                   \
  long r = 0;                                                                                 \
  for (; r + 8 <= n; r += 8)                                                                  \
    for (int j = 0; j < 8; j++) acc[j] += x[r + j];                                           \
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])); \
  for (; r < n; r++) s += x[r];                                                               \
  return s;

#define MLK_SUM_ROWS_BODY                                    \
  if (red == 0) {                                            \
    std::memset(out, 0, sizeof(float) * len);                \
    return;                                                  \
  }                                                          \
  std::memcpy(out, x, sizeof(float) * len);                  \
  for (long r = 1; r < red; r++) {                           \
    const float* row = x + r * inner;                        \
    for (long i = 0; i < len; i++) out[i] += row[i];         \
  }

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) float sum_contiguous_avx2(const float* __restrict x, long n) { MLK_SUM_CONTIGUOUS_BODY }
__attribute__((target("avx2"))) void sum_rows_avx2(const float* __restrict x, float* __restrict out, long red, long inner,
                                                   long len) {
  MLK_SUM_ROWS_BODY
}
#endif

float sum_contiguous_default(const float* __restrict x, long n) { MLK_SUM_CONTIGUOUS_BODY }
void sum_rows_default(const float* __restrict x, float* __restrict out, long red, long inner, long len) { MLK_SUM_ROWS_BODY }

float sum_contiguous(const float* x, long n) {
#if defined(__x86_64__) || defined(__i386__)
  if (current_isa() >= ISA_AVX2) return sum_contiguous_avx2(x, n);
#endif
  return sum_contiguous_default(x, n);
}

// out[0..len) = sum over r of x[r*inner + 0..len)
void sum_rows(const float* x, float* out, long red, long inner, long len) {
#if defined(__x86_64__) || defined(__i386__)
  if (current_isa() >= ISA_AVX2) {
    sum_rows_avx2(x, out, red, inner, len);
    return;
  }
#endif
  sum_rows_default(x, out, red, inner, len);
}

struct SumCtx {
  const float* x;
  float* out;
  long outer, red, inner, blocks, rows_per_chunk;
};

void sum_chunk(void* ctx, long chunk, int) {
  const SumCtx& S = *static_cast<const SumCtx*>(ctx);
  if (S.inner == 1) {
    const long o0 = chunk * S.rows_per_chunk, o1 = std::min(S.outer, o0 + S.rows_per_chunk);
    for (long o = o0; o < o1; o++) S.out[o] = sum_contiguous(S.x + o * S.red, S.red);
    return;
  }
  const long o = chunk / S.blocks, blk = chunk % S.blocks;
  const long i0 = blk * kInnerBlock, len = std::min(kInnerBlock, S.inner - i0);
  sum_rows(S.x + o * S.red * S.inner + i0, S.out + o * S.inner + i0, S.red, S.inner, len);
}

}  // namespace

void sum_middle(const float* x, float* out, long outer, long red, long inner) {
  if (outer <= 0 || inner <= 0) return;
  SumCtx S{x, out, outer, red, inner, (inner + kInnerBlock - 1) / kInnerBlock, 1};
  const long total = outer * red * inner;
  const int threads = total < kSumThreadMin ? 1 : 0;
  if (inner == 1) {
    S.rows_per_chunk = std::max<long>(1, (kSumThreadMin / 4) / std::max<long>(1, red));
    parallel_for((outer + S.rows_per_chunk - 1) / S.rows_per_chunk, sum_chunk, &S, threads);
  } else {
    parallel_for(outer * S.blocks, sum_chunk, &S, threads);
  }
}

// ------------------------------------------------------------------------------ adam
// Compiled with -ffp-contract=off and without -ffast-math: every operation below is one
// IEEE float32 operation, in tf.train.adam's order, so the result is bit-identical to it
// whatever width the compiler vectorises to.
#define MLK_ADAM_BODY                                                        \
  for (long i = 0; i < n; i++) {                                             \
    const float g = grad[i];                                                 \
    const float m1 = m[i] * p.beta1 + g * p.one_minus_beta1;                 \
    const float v1 = v[i] * p.beta2 + (g * g) * p.one_minus_beta2;           \
    m[i] = m1;                                                               \
    v[i] = v1;                                                               \
    const float mhat = m1 / p.one_minus_acc_beta1;                           \
    const float vhat = v1 / p.one_minus_acc_beta2;                           \
    const float step = (mhat / (std::sqrt(vhat) + p.epsilon)) * p.neg_lr;    \
    w[i] = step + w[i];                                                      \
  }

namespace {

// out[i] = float(sum over t of weight(t) * data(t)[i0 + i]) for i < len: double sums in term
// order, one rounding. weighted_sum and the weighted Adam step both use it, which is what makes
// the fused step bit-identical to weighted_sum followed by adam.
template <class WeightOf, class DataOf>
inline void weighted_range(long T, WeightOf weight, DataOf data, long i0, long len, float* out) {
  for (long i = 0; i < len; i++) {
    double s = 0.0;
    for (long t = 0; t < T; t++) s += weight(t) * static_cast<double>(data(t)[i0 + i]);
    out[i] = static_cast<float>(s);
  }
}

void adam_range_default(float* __restrict w, const float* __restrict grad, float* __restrict m, float* __restrict v,
                        long n, const AdamParams& p) {
  MLK_ADAM_BODY
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) void adam_range_avx2(float* __restrict w, const float* __restrict grad,
                                                     float* __restrict m, float* __restrict v, long n,
                                                     const AdamParams& p) {
  MLK_ADAM_BODY
}
#endif

void adam_range(float* w, const float* grad, float* m, float* v, long n, const AdamParams& p) {
#if defined(__x86_64__) || defined(__i386__)
  if (current_isa() >= ISA_AVX2 && w != grad && m != grad && v != grad) {
    adam_range_avx2(w, grad, m, v, n, p);
    return;
  }
#endif
  if (w != grad && m != grad && v != grad) {
    adam_range_default(w, grad, m, v, n, p);
    return;
  }
  // Aliased gradient (never in practice): element by element, in order.
  for (long i = 0; i < n; i++) {
    const float g = grad[i];
    const float m1 = m[i] * p.beta1 + g * p.one_minus_beta1;
    const float v1 = v[i] * p.beta2 + (g * g) * p.one_minus_beta2;
    m[i] = m1;
    v[i] = v1;
    const float step = ((m1 / p.one_minus_acc_beta1) / (std::sqrt(v1 / p.one_minus_acc_beta2) + p.epsilon)) * p.neg_lr;
    w[i] = step + w[i];
  }
}

constexpr long kAdamChunk = 16384;

}  // namespace

// The plain step is the weighted one with each gradient as one term of weight 1 (which
// adam_weighted applies without a sum).
void adam(const AdamSlot* slots, long count, const AdamParams& p) {
  if (count <= 0) return;
  std::vector<AdamTerm> terms(count);
  std::vector<AdamWeightedSlot> weighted(count);
  for (long s = 0; s < count; s++) {
    terms[s] = AdamTerm{1.0, slots[s].grad};
    weighted[s] = AdamWeightedSlot{slots[s].var, slots[s].m, slots[s].v, slots[s].n, &terms[s], 1};
  }
  adam_weighted(weighted.data(), count, p);
}

namespace {

struct AdamWeightedCtx {
  const AdamWeightedSlot* slots;
  long count;
  const long* starts;
  const AdamParams* p;
};

void adam_weighted_chunk(void* ctx, long chunk, int) {
  const AdamWeightedCtx& A = *static_cast<const AdamWeightedCtx*>(ctx);
  long s = 0;
  while (s + 1 < A.count && A.starts[s + 1] <= chunk) s++;
  const AdamWeightedSlot& S = A.slots[s];
  const long i0 = (chunk - A.starts[s]) * kAdamChunk;
  const long len = std::min(kAdamChunk, S.n - i0);
  if (len <= 0) return;
  // float(1.0 * g) == g: a plain gradient needs no sum.
  if (S.count == 1 && S.terms[0].weight == 1.0) {
    adam_range(S.var + i0, S.terms[0].grad + i0, S.m + i0, S.v + i0, len, *A.p);
    return;
  }
  // The chunk's gradient, in weighted_sum's arithmetic.
  thread_local std::vector<float> buf;
  if (buf.size() < static_cast<size_t>(kAdamChunk)) buf.resize(kAdamChunk);
  float* g = buf.data();
  weighted_range(S.count, [&](long t) { return S.terms[t].weight; }, [&](long t) { return S.terms[t].grad; }, i0, len, g);
  adam_range(S.var + i0, g, S.m + i0, S.v + i0, len, *A.p);
}

}  // namespace

void adam_weighted(const AdamWeightedSlot* slots, long count, const AdamParams& p) {
  if (count <= 0) return;
  std::vector<long> starts(count);
  long chunks = 0;
  for (long s = 0; s < count; s++) {
    starts[s] = chunks;
    chunks += (std::max<long>(0, slots[s].n) + kAdamChunk - 1) / kAdamChunk;
  }
  AdamWeightedCtx A{slots, count, starts.data(), &p};
  parallel_for(chunks, adam_weighted_chunk, &A, chunks < 4 ? 1 : 0);
}

}  // namespace mlk

// ------------------------------------------------------------------------------ gram / weighted sum
namespace mlk {
namespace {

constexpr long kGramChunk = 8192;

#define MLK_DOT_BODY                                                                           \
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                  \
  long i = 0;                                                                                 \
  for (; i + 8 <= n; i += 8)                                                                  \
    for (int j = 0; j < 8; j++) acc[j] += static_cast<double>(a[i + j]) * static_cast<double>(b[i + j]); \
  double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])); \
  for (; i < n; i++) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);              \
  return s;

double dot_default(const float* __restrict a, const float* __restrict b, long n) { MLK_DOT_BODY }
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) double dot_avx2(const float* __restrict a, const float* __restrict b, long n) { MLK_DOT_BODY }
#endif

double dot(const float* a, const float* b, long n) {
#if defined(__x86_64__) || defined(__i386__)
  if (current_isa() >= ISA_AVX2) return dot_avx2(a, b, n);
#endif
  return dot_default(a, b, n);
}

struct GramCtx {
  const GramSlot* slots;
  long count, T, P;
  const long* starts;
  double* partial;  // chunks x P
};

void gram_chunk(void* ctx, long chunk, int) {
  const GramCtx& G = *static_cast<const GramCtx*>(ctx);
  long s = 0;
  while (s + 1 < G.count && G.starts[s + 1] <= chunk) s++;
  const GramSlot& S = G.slots[s];
  const long i0 = (chunk - G.starts[s]) * kGramChunk;
  const long len = std::min(kGramChunk, S.n - i0);
  double* out = G.partial + chunk * G.P;
  long p = 0;
  for (long a = 0; a < G.T; a++)
    for (long b = a; b < G.T; b++, p++)
      out[p] = (len > 0 && S.g[a] != nullptr && S.g[b] != nullptr) ? dot(S.g[a] + i0, S.g[b] + i0, len) : 0.0;
}

struct WsumCtx {
  const float* const* g;
  const double* w;
  long T, n;
  float* out;
};

void wsum_chunk(void* ctx, long chunk, int) {
  const WsumCtx& W = *static_cast<const WsumCtx*>(ctx);
  const long i0 = chunk * kGramChunk, i1 = std::min(W.n, i0 + kGramChunk);
  weighted_range(W.T, [&](long t) { return W.w[t]; }, [&](long t) { return W.g[t]; }, i0, i1 - i0, W.out + i0);
}

}  // namespace

bool gram(const GramSlot* slots, long count, long T, double* out) {
  if (T <= 0) return true;
  const long P = T * (T + 1) / 2;
  for (long p = 0; p < P; p++) out[p] = 0.0;
  if (count <= 0) return true;
  std::vector<long> starts(count);
  long chunks = 0;
  for (long s = 0; s < count; s++) {
    starts[s] = chunks;
    chunks += (std::max<long>(0, slots[s].n) + kGramChunk - 1) / kGramChunk;
  }
  if (chunks == 0) return true;
  std::vector<double> partial;
  try {
    partial.assign(static_cast<size_t>(chunks) * P, 0.0);
  } catch (...) {
    return false;
  }
  GramCtx G{slots, count, T, P, starts.data(), partial.data()};
  parallel_for(chunks, gram_chunk, &G, chunks < 4 ? 1 : 0);
  // In chunk order: the same sums whatever the thread count.
  for (long c = 0; c < chunks; c++)
    for (long p = 0; p < P; p++) out[p] += partial[c * P + p];
  return true;
}

void weighted_sum(const float* const* g, const double* w, long T, long n, float* out) {
  if (n <= 0) return;
  // Only the terms that contribute.
  std::vector<const float*> gs;
  std::vector<double> ws;
  for (long t = 0; t < T; t++)
    if (g[t] != nullptr && w[t] != 0.0) {
      gs.push_back(g[t]);
      ws.push_back(w[t]);
    }
  WsumCtx W{gs.data(), ws.data(), static_cast<long>(gs.size()), n, out};
  const long chunks = (n + kGramChunk - 1) / kGramChunk;
  parallel_for(chunks, wsum_chunk, &W, chunks < 4 ? 1 : 0);
}

}  // namespace mlk

// ------------------------------------------------------------------------------ last-layer gradient norms
namespace mlk {
namespace {

constexpr double kNormThreadMacs = 2.0e5;  // below this the products run on one thread

// One matrix M (n rows of `depth` floats, row stride ld) of the n x n products M M^T, with M^T
// packed as the gemm's B slivers (depth blocks q of kc: block q at q*kc*slivers*NR, sliver s at
// + s*kcur*NR).
struct SymMat {
  const float* m;
  long ld, depth, kc, nbk;
  float* packed;
};

struct NormsCtx {
  const LayerNormsArgs* a;
  const float* f;   // n x k factor (nullptr: 1)
  float* delta;     // n x (T k): delta_t[r, c] at r*T*k + t*k + c
  double* bias;     // T: |column sums of delta_t|^2
  bool pack;        // pack the matrices for the n x n products
  const KernelInfo* K;
  SymMat* mats;     // X, then delta_0 .. delta_{T-1}
  long slivers, panels;
  double* part;     // panels x T
};

void pack_mat(const NormsCtx& C, const SymMat& M) {
  const int NR = C.K->nr;
  for (long q = 0; q < M.nbk; q++) {
    const long p0 = q * M.kc, kcur = std::min(M.kc, M.depth - p0);
    pack_b(M.m, M.ld, true, p0, kcur, 0, C.a->n, NR, M.packed + q * M.kc * C.slivers * NR);
  }
}

#define MLK_NORMS_DELTA_BODY                                                   \
  for (long c = 0; c < k; c++) sums[c] = 0.0;                                  \
  for (long r = 0; r < n; r++) {                                               \
    const float* gr = g + r * k;                                               \
    float* o = out + r * ld;                                                   \
    if (f != nullptr) {                                                        \
      const float* fr = f + r * k;                                             \
      for (long c = 0; c < k; c++) o[c] = gr[c] * fr[c];                       \
    } else {                                                                   \
      for (long c = 0; c < k; c++) o[c] = gr[c];                               \
    }                                                                          \
    for (long c = 0; c < k; c++) sums[c] += static_cast<double>(o[c]);         \
  }

void norms_delta_default(const float* __restrict g, const float* __restrict f, float* __restrict out, double* __restrict sums,
                         long n, long k, long ld) {
  MLK_NORMS_DELTA_BODY
}
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) void norms_delta_avx2(const float* __restrict g, const float* __restrict f, float* __restrict out,
                                                      double* __restrict sums, long n, long k, long ld) {
  MLK_NORMS_DELTA_BODY
}
#endif

// Chunk t < T: delta_t, its column sums (double) and, for the n x n products, its packing;
// chunk T: the packing of X.
void norms_first_chunk(void* ctx, long chunk, int) {
  const NormsCtx& C = *static_cast<const NormsCtx*>(ctx);
  const LayerNormsArgs& A = *C.a;
  if (chunk == A.T) {
    pack_mat(C, C.mats[0]);
    return;
  }
  const long t = chunk;
  std::vector<double> sums(static_cast<size_t>(A.k));
  float* out = C.delta + t * A.k;
#if defined(__x86_64__) || defined(__i386__)
  if (current_isa() >= ISA_AVX2)
    norms_delta_avx2(A.g[t], C.f, out, sums.data(), A.n, A.k, A.T * A.k);
  else
#endif
    norms_delta_default(A.g[t], C.f, out, sums.data(), A.n, A.k, A.T * A.k);
  double s = 0.0;
  for (long c = 0; c < A.k; c++) s += sums[c] * sums[c];
  C.bias[t] = s;
  if (C.pack) pack_mat(C, C.mats[1 + t]);
}

// One MR x NR tile of M M^T (rows i0.., columns sliver s) into c (row stride NR).
void sym_tile(const NormsCtx& C, const SymMat& M, long i0, int mr, long s, int nr, float* c, float* apack) {
  const KernelInfo& K = *C.K;
  const EpiTile e;
  for (long q = 0; q < M.nbk; q++) {
    const long p0 = q * M.kc, kcur = std::min(M.kc, M.depth - p0);
    const int flags = (q == 0 ? TILE_FIRST : 0) | (q == M.nbk - 1 ? TILE_LAST : 0);
    const float* b = M.packed + q * M.kc * C.slivers * K.nr + s * kcur * K.nr;
    if (mr == K.mr) {
      K.direct(kcur, M.m + i0 * M.ld + p0, M.ld, 1, b, K.nr, c, K.nr, mr, nr, flags, e);
    } else {
      pack_a(M.m, M.ld, false, i0, mr, p0, kcur, K.mr, apack);
      K.fn(kcur, apack, 1, K.mr, b, K.nr, c, K.nr, mr, nr, flags, e);
    }
  }
}

// Row panel `panel`: every tile of it that reaches the lower triangle, X's and each delta_t's,
// and sum_{r in panel, s <= r} (2 - [s == r]) (X X^T)_rs (delta_t delta_t^T)_rs.
void norms_panel(const NormsCtx& C, long panel, int tid) {
  const LayerNormsArgs& A = *C.a;
  const KernelInfo& K = *C.K;
  const long i0 = panel * K.mr;
  const int mr = static_cast<int>(std::min<long>(K.mr, A.n - i0));
  float* apack = scratch_a(tid);
  float* cx = scratch_c(tid);
  float* cd = cx + K.mr * K.nr;
  std::vector<double> sums(static_cast<size_t>(A.T), 0.0);
  for (long s = 0; s < C.slivers && s * K.nr < i0 + mr; s++) {
    const long j0 = s * K.nr;
    const int nr = static_cast<int>(std::min<long>(K.nr, A.n - j0));
    sym_tile(C, C.mats[0], i0, mr, s, nr, cx, apack);
    for (long t = 0; t < A.T; t++) {
      sym_tile(C, C.mats[1 + t], i0, mr, s, nr, cd, apack);
      double acc = 0.0;
      for (int ii = 0; ii < mr; ii++) {
        const long r = i0 + ii;
        const float* xr = cx + ii * K.nr;
        const float* dr = cd + ii * K.nr;
        const int below = static_cast<int>(std::max<long>(0, std::min<long>(nr, r - j0)));  // columns s < r
        double off = 0.0;
        for (int jj = 0; jj < below; jj++) off += static_cast<double>(xr[jj]) * static_cast<double>(dr[jj]);
        acc += 2.0 * off;
        if (r >= j0 && r - j0 < nr) acc += static_cast<double>(xr[r - j0]) * static_cast<double>(dr[r - j0]);  // the diagonal
      }
      sums[t] += acc;
    }
  }
  for (long t = 0; t < A.T; t++) C.part[panel * A.T + t] = sums[t];
}

// Chunk c: row panels c and panels-1-c (equal work together: a panel's tiles grow with its index).
void norms_panel_chunk(void* ctx, long chunk, int tid) {
  const NormsCtx& C = *static_cast<const NormsCtx*>(ctx);
  norms_panel(C, chunk, tid);
  if (C.panels - 1 - chunk != chunk) norms_panel(C, C.panels - 1 - chunk, tid);
}

}  // namespace

bool layer_grad_norms(const LayerNormsArgs& a, double* out) {
  const long n = std::max<long>(0, a.n), kin = std::max<long>(0, a.kin), k = std::max<long>(0, a.k), T = a.T;
  if (T <= 0) return true;
  if (n == 0 || k == 0) {
    for (long t = 0; t < 2 * T; t++) out[t] = 0.0;
    return true;
  }
  LayerNormsArgs A = a;
  A.n = n;
  A.kin = kin;
  A.k = k;
  // Multiply-adds: the lower triangles of the n x n products (in MR x NR tiles) against X^T delta.
  const KernelInfo& K = kernel_info(n);
  const double nd = static_cast<double>(n);
  const double gram_macs = nd * (nd + K.nr + K.mr) / 2.0 * (static_cast<double>(kin) + static_cast<double>(T) * k);
  const double direct_macs = nd * kin * static_cast<double>(T) * k;
  const bool use_gram = kin > 0 && (a.method == 1 || (a.method != 2 && gram_macs < direct_macs));

  NormsCtx C{};
  C.a = &A;
  C.K = &K;
  C.pack = use_gram;
  C.slivers = (n + K.nr - 1) / K.nr;
  C.panels = (n + K.mr - 1) / K.mr;
  // One block for delta (n x Tk), the factor (n x k) and the packed matrices.
  std::vector<SymMat> mats(static_cast<size_t>(1 + T));
  size_t total = static_cast<size_t>(n) * T * k;
  const bool factor = A.d != nullptr || A.mask != nullptr;
  if (factor) total += static_cast<size_t>(n) * k;
  size_t max_kc = 0;
  if (use_gram) {
    for (long i = 0; i <= T; i++) {
      SymMat& M = mats[i];
      M.depth = i == 0 ? kin : k;
      M.nbk = (M.depth + K.kc - 1) / K.kc;
      M.kc = (M.depth + M.nbk - 1) / M.nbk;
      max_kc = std::max(max_kc, static_cast<size_t>(M.kc));
      total += static_cast<size_t>(M.nbk) * M.kc * C.slivers * K.nr;
    }
  }
  std::unique_ptr<float[]> block(new (std::nothrow) float[total]);
  if (!block) return false;
  std::vector<double> bias, part;
  try {
    bias.assign(static_cast<size_t>(T), 0.0);
    if (use_gram) part.assign(static_cast<size_t>(C.panels * T), 0.0);
  } catch (...) {
    return false;
  }
  if (use_gram && (!ensure_scratch_a(static_cast<size_t>(K.mr) * max_kc) ||
                   !ensure_scratch_c(static_cast<size_t>(2 * K.mr * K.nr))))
    return false;
  float* next = block.get();
  C.delta = next;
  next += static_cast<size_t>(n) * T * k;
  if (factor) {
    // f = d (or step(d)), times the mask: float32, in the tfjs ops' order.
    float* f = next;
    next += static_cast<size_t>(n) * k;
    const long nk = n * k;
    if (A.d != nullptr && A.d_step) {
      for (long i = 0; i < nk; i++) {
        const float z = A.d[i];
        f[i] = z != z ? z : (z > 0.f ? 1.f : 0.f);
      }
    } else if (A.d != nullptr) {
      for (long i = 0; i < nk; i++) f[i] = A.d[i];
    } else {
      for (long i = 0; i < nk; i++) f[i] = 1.f;
    }
    if (A.mask != nullptr)
      for (long i = 0; i < nk; i++) f[i] = f[i] * A.mask[i];
    C.f = f;
  }
  if (use_gram) {
    for (long i = 0; i <= T; i++) {
      SymMat& M = mats[i];
      M.m = i == 0 ? A.x : C.delta + (i - 1) * k;
      M.ld = i == 0 ? kin : T * k;
      M.packed = next;
      next += static_cast<size_t>(M.nbk) * M.kc * C.slivers * K.nr;
    }
  }
  C.mats = mats.data();
  C.bias = bias.data();
  C.part = part.data();
  const bool threads = gram_macs >= kNormThreadMacs || direct_macs >= kNormThreadMacs;
  parallel_for(use_gram ? T + 1 : T, norms_first_chunk, &C, threads ? 0 : 1);

  std::vector<double> wsq(static_cast<size_t>(T), 0.0);
  if (use_gram) {
    parallel_for((C.panels + 1) / 2, norms_panel_chunk, &C, gram_macs < kNormThreadMacs ? 1 : 0);
    for (long p = 0; p < C.panels; p++)
      for (long t = 0; t < T; t++) wsq[t] += part[p * T + t];
  } else if (kin > 0) {
    const long w = T * k;
    std::unique_ptr<float[]> prod(new (std::nothrow) float[static_cast<size_t>(kin) * w]);
    if (!prod) return false;
    if (!sgemm(kin, w, n, A.x, kin, true, C.delta, w, false, prod.get(), w, Epilogue())) return false;
    for (long p = 0; p < kin; p++) {
      const float* row = prod.get() + p * w;
      for (long t = 0; t < T; t++) {
        double s = 0.0;
        for (long c = 0; c < k; c++) s += static_cast<double>(row[t * k + c]) * static_cast<double>(row[t * k + c]);
        wsq[t] += s;
      }
    }
  }
  for (long t = 0; t < T; t++) {
    out[t] = wsq[t];
    out[T + t] = bias[t];
  }
  return true;
}

}  // namespace mlk
