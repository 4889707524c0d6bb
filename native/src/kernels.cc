// Reductions and the fused Adam step.
#include <algorithm>
#include <cmath>
#include <cstring>
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

struct AdamCtx {
  const AdamSlot* slots;
  long count;
  const long* starts;  // chunk index where each slot begins
  const AdamParams* p;
};

void adam_chunk(void* ctx, long chunk, int) {
  const AdamCtx& A = *static_cast<const AdamCtx*>(ctx);
  // Find the slot holding this chunk (few slots: linear scan).
  long s = 0;
  while (s + 1 < A.count && A.starts[s + 1] <= chunk) s++;
  const AdamSlot& S = A.slots[s];
  const long i0 = (chunk - A.starts[s]) * kAdamChunk;
  const long len = std::min(kAdamChunk, S.n - i0);
  if (len <= 0) return;
  adam_range(S.var + i0, S.grad + i0, S.m + i0, S.v + i0, len, *A.p);
}

}  // namespace

void adam(const AdamSlot* slots, long count, const AdamParams& p) {
  if (count <= 0) return;
  long stack_starts[64];
  long* starts = count <= 64 ? stack_starts : new long[count];
  long chunks = 0;
  for (long s = 0; s < count; s++) {
    starts[s] = chunks;
    chunks += (std::max<long>(0, slots[s].n) + kAdamChunk - 1) / kAdamChunk;
  }
  AdamCtx A{slots, count, starts, &p};
  parallel_for(chunks, adam_chunk, &A, chunks < 4 ? 1 : 0);
  if (starts != stack_starts) delete[] starts;
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
  // The chunk's gradient, in weighted_sum's arithmetic (double sums in term order, one rounding).
  thread_local std::vector<float> buf;
  if (buf.size() < static_cast<size_t>(kAdamChunk)) buf.resize(kAdamChunk);
  float* g = buf.data();
  for (long i = 0; i < len; i++) {
    double sum = 0.0;
    for (long t = 0; t < S.count; t++) sum += S.terms[t].weight * static_cast<double>(S.terms[t].grad[i0 + i]);
    g[i] = static_cast<float>(sum);
  }
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
  for (long i = i0; i < i1; i++) {
    double s = 0.0;
    for (long t = 0; t < W.T; t++) s += W.w[t] * static_cast<double>(W.g[t][i]);
    W.out[i] = static_cast<float>(s);
  }
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
