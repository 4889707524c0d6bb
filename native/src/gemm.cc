// Single-precision GEMM, BLIS style: op(B) is packed into NR-column slivers (shared by the
// threads), op(A) into MR-row panels (per thread); the packing absorbs the transposes. A
// register-blocked micro-kernel (AVX-512 8x32, AVX2+FMA 6x16 or portable 4x8, chosen at run
// time on x86-64; NEON 8x12 or portable 4x8 on arm64) computes each MR x NR tile; the epilogue (bias, activation) is applied while the tile
// is in registers after the last block of k.
//
// Threads: per panel of columns, one parallel pass packs B, a second computes a grid of
// (row block x column group) tasks; tasks never share output, so no locking is needed.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "mlk.h"
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#define MLK_X86 1
#include <immintrin.h>
// GCC 12's avx512 headers trip -Wmaybe-uninitialized on _mm512_undefined_ps (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#if defined(__aarch64__)
#define MLK_ARM64 1
#include <arm_neon.h>
#endif

namespace mlk {

// ---------------------------------------------------------------------------------- isa
const char* isa_name(Isa isa) {
  switch (isa) {
    case ISA_AVX512:
      return "avx512";
    case ISA_AVX2:
      return "avx2";
    case ISA_NEON:
      return "neon";
    default:
      return "scalar";
  }
}

Isa detect_isa() {
#ifdef MLK_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
#endif
#ifdef MLK_ARM64
  return ISA_NEON;  // AArch64 ASIMD is part of the base architecture
#endif
  return ISA_SCALAR;
}

namespace {
Isa g_isa = static_cast<Isa>(-1);
}

Isa current_isa() {
  if (g_isa < 0) g_isa = detect_isa();
  return g_isa;
}

Isa set_isa(Isa isa) {
  const Isa best = detect_isa();
  if (isa <= ISA_SCALAR) {
    g_isa = ISA_SCALAR;
  } else {
#if defined(MLK_ARM64)
    g_isa = best;  // neon, or a cap naming an x86 set: no cap on this architecture
#else
    g_isa = isa == ISA_NEON || isa > best ? best : isa;  // neon: an arm64 set, no cap here
#endif
  }
  return g_isa;
}

// ---------------------------------------------------------------------------- epilogue
static inline float activate(float v, int act, float alpha) {
  switch (act) {
    case ACT_RELU:
      return v < 0.f ? 0.f : v;
    case ACT_RELU6:
      return v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
    case ACT_LEAKYRELU:
      return v < 0.f ? v * alpha : v;
    case ACT_ELU:
      return v >= 0.f ? v : std::exp(v) - 1.f;
    case ACT_SIGMOID:
      return 1.f / (1.f + std::exp(-v));
    default:
      return v;
  }
}

// Write an mr x nr tile held in acc (row stride accs) to c, with the first/last-block logic.
void store_tile_scalar(const float* acc, long accs, float* c, long ldc, int mr, int nr, int flags, const EpiTile& e) {
  for (int i = 0; i < mr; i++) {
    float* crow = c + i * ldc;
    const float* arow = acc + i * accs;
    const float* brow = e.bias == nullptr ? nullptr : e.bias + i * e.bias_rs;
    for (int j = 0; j < nr; j++) {
      float v = arow[j];
      if (!(flags & TILE_FIRST)) v += crow[j];
      if (flags & TILE_LAST) {
        if (brow != nullptr) v += brow[j * e.bias_cs];
        v = activate(v, e.act, e.alpha);
      }
      crow[j] = v;
    }
  }
}

void epilogue_rows(float* c, long ldc, long m, long n, const Epilogue& ep, bool zero_first) {
  for (long i = 0; i < m; i++) {
    float* crow = c + i * ldc;
    for (long j = 0; j < n; j++) {
      float v = zero_first ? 0.f : crow[j];
      if (ep.bias != nullptr) v += ep.bias[i * ep.bias_row_stride + j * ep.bias_col_stride];
      crow[j] = activate(v, ep.act, ep.alpha);
    }
  }
}

// --------------------------------------------------------------------- micro-kernels
namespace {

// Portable 4 x 8 kernel (the compiler vectorises the j loops with the baseline ISA).
constexpr int SC_MR = 4, SC_NR = 8;
void ukr_scalar(long kc, const float* a, long ars, long acs, const float* b, long bs, float* c, long ldc, int mr, int nr,
                int flags, const EpiTile& e) {
  float acc[SC_MR][SC_NR] = {};
  for (long p = 0; p < kc; p++) {
    for (int i = 0; i < SC_MR; i++) {
      const float av = a[i * ars];
      for (int j = 0; j < SC_NR; j++) acc[i][j] += av * b[j];
    }
    a += acs;
    b += bs;
  }
  store_tile_scalar(&acc[0][0], SC_NR, c, ldc, mr, nr, flags, e);
}
void ukr_scalar_packed(long kc, const float* a, long, long, const float* b, long bs, float* c, long ldc, int mr, int nr,
                       int flags, const EpiTile& e) {
  ukr_scalar(kc, a, 1, SC_MR, b, bs, c, ldc, mr, nr, flags, e);
}

#ifdef MLK_X86
// ---- AVX2 + FMA, 6 x 16 (12 accumulators)
constexpr int A2_MR = 6, A2_NR = 16;

__attribute__((target("avx2,fma"))) static inline __m256 act_avx2(__m256 v, int act, float alpha) {
  const __m256 zero = _mm256_setzero_ps();
  switch (act) {
    case ACT_RELU:
      return _mm256_max_ps(zero, v);  // NaN propagates (second operand)
    case ACT_RELU6:
      return _mm256_min_ps(_mm256_set1_ps(6.f), _mm256_max_ps(zero, v));
    case ACT_LEAKYRELU: {
      __m256 neg = _mm256_cmp_ps(v, zero, _CMP_LT_OQ);
      return _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(alpha)), neg);
    }
    default:
      return v;
  }
}

template <bool DIRECT>
__attribute__((target("avx2,fma"))) void ukr_avx2(long kc, const float* a, long ars, long acs, const float* b, long bs,
                                                   float* c, long ldc, int mr, int nr, int flags, const EpiTile& e) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  if (!DIRECT) {
    ars = 1;
    acs = A2_MR;
  }
  const float *a0 = a, *a1 = a + ars, *a2 = a + 2 * ars, *a3 = a + 3 * ars, *a4 = a + 4 * ars, *a5 = a + 5 * ars;
  for (long p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 av;
    const long o = DIRECT ? 0 : p * A2_MR;
    av = _mm256_broadcast_ss(a0 + o);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a1 + o);
    c10 = _mm256_fmadd_ps(av, b0, c10);
    c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a2 + o);
    c20 = _mm256_fmadd_ps(av, b0, c20);
    c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a3 + o);
    c30 = _mm256_fmadd_ps(av, b0, c30);
    c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a4 + o);
    c40 = _mm256_fmadd_ps(av, b0, c40);
    c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a5 + o);
    c50 = _mm256_fmadd_ps(av, b0, c50);
    c51 = _mm256_fmadd_ps(av, b1, c51);
    if (DIRECT) {
      a0 += acs;
      a1 += acs;
      a2 += acs;
      a3 += acs;
      a4 += acs;
      a5 += acs;
    }
    b += bs;
  }
  const bool vec_act = e.act <= ACT_LEAKYRELU;
  if (mr == A2_MR && nr == A2_NR && vec_act) {
    __m256 r[A2_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int i = 0; i < A2_MR; i++) {
      float* crow = c + i * ldc;
      __m256 v0 = r[i][0], v1 = r[i][1];
      if (!(flags & TILE_FIRST)) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(crow));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(crow + 8));
      }
      if (flags & TILE_LAST) {
        if (e.bias != nullptr) {
          const float* brow = e.bias + i * e.bias_rs;
          if (e.bias_cs == 1) {
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(brow));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(brow + 8));
          } else {
            const __m256 bv = _mm256_set1_ps(brow[0]);
            v0 = _mm256_add_ps(v0, bv);
            v1 = _mm256_add_ps(v1, bv);
          }
        }
        v0 = act_avx2(v0, e.act, e.alpha);
        v1 = act_avx2(v1, e.act, e.alpha);
      }
      _mm256_storeu_ps(crow, v0);
      _mm256_storeu_ps(crow + 8, v1);
    }
    return;
  }
  alignas(32) float tmp[A2_MR * A2_NR];
  _mm256_store_ps(tmp + 0, c00);
  _mm256_store_ps(tmp + 8, c01);
  _mm256_store_ps(tmp + 16, c10);
  _mm256_store_ps(tmp + 24, c11);
  _mm256_store_ps(tmp + 32, c20);
  _mm256_store_ps(tmp + 40, c21);
  _mm256_store_ps(tmp + 48, c30);
  _mm256_store_ps(tmp + 56, c31);
  _mm256_store_ps(tmp + 64, c40);
  _mm256_store_ps(tmp + 72, c41);
  _mm256_store_ps(tmp + 80, c50);
  _mm256_store_ps(tmp + 88, c51);
  store_tile_scalar(tmp, A2_NR, c, ldc, mr, nr, flags, e);
}

// ---- AVX-512, 8 x 32 (16 accumulators)
constexpr int A5_MR = 8, A5_NR = 32;

__attribute__((target("avx512f"))) static inline __m512 act_avx512(__m512 v, int act, float alpha) {
  const __m512 zero = _mm512_setzero_ps();
  switch (act) {
    case ACT_RELU:
      return _mm512_max_ps(zero, v);
    case ACT_RELU6:
      return _mm512_min_ps(_mm512_set1_ps(6.f), _mm512_max_ps(zero, v));
    case ACT_LEAKYRELU: {
      __mmask16 neg = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
      return _mm512_mask_mul_ps(v, neg, v, _mm512_set1_ps(alpha));
    }
    default:
      return v;
  }
}

template <bool DIRECT>
__attribute__((target("avx512f"))) void ukr_avx512(long kc, const float* a, long ars, long acs, const float* b, long bs,
                                                    float* c, long ldc, int mr, int nr, int flags, const EpiTile& e) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  if (!DIRECT) {
    ars = 1;
    acs = A5_MR;
  }
  const float *a0 = a, *a1 = a + ars, *a2 = a + 2 * ars, *a3 = a + 3 * ars, *a4 = a + 4 * ars, *a5 = a + 5 * ars,
              *a6 = a + 6 * ars, *a7 = a + 7 * ars;
  for (long p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    __m512 av;
    const long o = DIRECT ? 0 : p * A5_MR;
    av = _mm512_set1_ps(a0[o]);
    c00 = _mm512_fmadd_ps(av, b0, c00);
    c01 = _mm512_fmadd_ps(av, b1, c01);
    av = _mm512_set1_ps(a1[o]);
    c10 = _mm512_fmadd_ps(av, b0, c10);
    c11 = _mm512_fmadd_ps(av, b1, c11);
    av = _mm512_set1_ps(a2[o]);
    c20 = _mm512_fmadd_ps(av, b0, c20);
    c21 = _mm512_fmadd_ps(av, b1, c21);
    av = _mm512_set1_ps(a3[o]);
    c30 = _mm512_fmadd_ps(av, b0, c30);
    c31 = _mm512_fmadd_ps(av, b1, c31);
    av = _mm512_set1_ps(a4[o]);
    c40 = _mm512_fmadd_ps(av, b0, c40);
    c41 = _mm512_fmadd_ps(av, b1, c41);
    av = _mm512_set1_ps(a5[o]);
    c50 = _mm512_fmadd_ps(av, b0, c50);
    c51 = _mm512_fmadd_ps(av, b1, c51);
    av = _mm512_set1_ps(a6[o]);
    c60 = _mm512_fmadd_ps(av, b0, c60);
    c61 = _mm512_fmadd_ps(av, b1, c61);
    av = _mm512_set1_ps(a7[o]);
    c70 = _mm512_fmadd_ps(av, b0, c70);
    c71 = _mm512_fmadd_ps(av, b1, c71);
    if (DIRECT) {
      a0 += acs;
      a1 += acs;
      a2 += acs;
      a3 += acs;
      a4 += acs;
      a5 += acs;
      a6 += acs;
      a7 += acs;
    }
    b += bs;
  }
  const bool vec_act = e.act <= ACT_LEAKYRELU;
  if (mr == A5_MR && vec_act) {
    // Full rows; a partial last column group is written with a mask.
    const __mmask16 m0 = nr >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << nr) - 1u);
    const __mmask16 m1 =
        nr >= 32 ? static_cast<__mmask16>(0xFFFF) : (nr <= 16 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << (nr - 16)) - 1u));
    __m512 r[A5_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                          {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
    for (int i = 0; i < A5_MR; i++) {
      float* crow = c + i * ldc;
      __m512 v0 = r[i][0], v1 = r[i][1];
      if (!(flags & TILE_FIRST)) {
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, crow));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, crow + 16));
      }
      if (flags & TILE_LAST) {
        if (e.bias != nullptr) {
          const float* brow = e.bias + i * e.bias_rs;
          if (e.bias_cs == 1) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, brow));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, brow + 16));
          } else {
            const __m512 bv = _mm512_set1_ps(brow[0]);
            v0 = _mm512_add_ps(v0, bv);
            v1 = _mm512_add_ps(v1, bv);
          }
        }
        v0 = act_avx512(v0, e.act, e.alpha);
        v1 = act_avx512(v1, e.act, e.alpha);
      }
      _mm512_mask_storeu_ps(crow, m0, v0);
      _mm512_mask_storeu_ps(crow + 16, m1, v1);
    }
    return;
  }
  alignas(64) float tmp[A5_MR * A5_NR];
  _mm512_store_ps(tmp + 0, c00);
  _mm512_store_ps(tmp + 16, c01);
  _mm512_store_ps(tmp + 32, c10);
  _mm512_store_ps(tmp + 48, c11);
  _mm512_store_ps(tmp + 64, c20);
  _mm512_store_ps(tmp + 80, c21);
  _mm512_store_ps(tmp + 96, c30);
  _mm512_store_ps(tmp + 112, c31);
  _mm512_store_ps(tmp + 128, c40);
  _mm512_store_ps(tmp + 144, c41);
  _mm512_store_ps(tmp + 160, c50);
  _mm512_store_ps(tmp + 176, c51);
  _mm512_store_ps(tmp + 192, c60);
  _mm512_store_ps(tmp + 208, c61);
  _mm512_store_ps(tmp + 224, c70);
  _mm512_store_ps(tmp + 240, c71);
  store_tile_scalar(tmp, A5_NR, c, ldc, mr, nr, flags, e);
}

// ---- AVX-512, 12 x 16 (12 accumulators): narrow products (n <= 16: conv layers with few
// filters, 10-class heads). A partial tile is written with masked stores (fast on AVX-512, unlike
// AVX2's vmaskmovps), so narrow products never take the scalar epilogue. The same depth blocks
// and the same per-element multiply-add order as the AVX2 6x16 kernel: identical results.
constexpr int A5N_MR = 12, A5N_NR = 16;

template <bool DIRECT>
__attribute__((target("avx512f"))) void ukr_avx512_n16(long kc, const float* a, long ars, long acs, const float* b, long bs,
                                                        float* c, long ldc, int mr, int nr, int flags, const EpiTile& e) {
  __m512 acc[A5N_MR];
  for (int i = 0; i < A5N_MR; i++) acc[i] = _mm512_setzero_ps();
  if (!DIRECT) {
    ars = 1;
    acs = A5N_MR;
  }
  for (long p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const float* ap = DIRECT ? a + p * acs : a + p * A5N_MR;
#pragma GCC unroll 12
    for (int i = 0; i < A5N_MR; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(ap[i * ars]), b0, acc[i]);
    b += bs;
  }
  if (e.act > ACT_LEAKYRELU) {
    alignas(64) float tmp[A5N_MR * A5N_NR];
    for (int i = 0; i < A5N_MR; i++) _mm512_store_ps(tmp + i * A5N_NR, acc[i]);
    store_tile_scalar(tmp, A5N_NR, c, ldc, mr, nr, flags, e);
    return;
  }
  const __mmask16 m0 = nr >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << nr) - 1u);
  __m512 bias = _mm512_setzero_ps();
  const bool row_bias = e.bias != nullptr && e.bias_rs != 0;
  if ((flags & TILE_LAST) && e.bias != nullptr && !row_bias)
    bias = e.bias_cs == 1 ? _mm512_maskz_loadu_ps(m0, e.bias) : _mm512_set1_ps(e.bias[0]);
#pragma GCC unroll 12
  for (int i = 0; i < A5N_MR; i++) {
    if (i >= mr) break;
    float* crow = c + i * ldc;
    __m512 v = acc[i];
    if (!(flags & TILE_FIRST)) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m0, crow));
    if (flags & TILE_LAST) {
      if (row_bias) {
        const float* brow = e.bias + i * e.bias_rs;
        v = _mm512_add_ps(v, e.bias_cs == 1 ? _mm512_maskz_loadu_ps(m0, brow) : _mm512_set1_ps(brow[0]));
      } else if (e.bias != nullptr) {
        v = _mm512_add_ps(v, bias);
      }
      v = act_avx512(v, e.act, e.alpha);
    }
    _mm512_mask_storeu_ps(crow, m0, v);
  }
}
#endif  // MLK_X86

#ifdef MLK_ARM64
// ---- NEON (AArch64 ASIMD, baseline on arm64), 8 x 12: 24 accumulators + 3 B + 2 A registers of 32.
constexpr int NE_MR = 8, NE_NR = 12;

static inline float32x4_t act_neon(float32x4_t v, int act, float alpha) {
  const float32x4_t zero = vdupq_n_f32(0.f);
  switch (act) {
    case ACT_RELU:
      return vmaxq_f32(zero, v);  // FMAX: NaN propagates
    case ACT_RELU6:
      return vminq_f32(vdupq_n_f32(6.f), vmaxq_f32(zero, v));
    case ACT_LEAKYRELU:
      return vbslq_f32(vcltq_f32(v, zero), vmulq_n_f32(v, alpha), v);
    default:
      return v;
  }
}

// One row of the tile: c_i{0,1,2} += a(i) * b{0,1,2}.
#define MLK_NEON_ROW_LANE(i, av, lane)             \
  c##i##0 = vfmaq_laneq_f32(c##i##0, b0, av, lane); \
  c##i##1 = vfmaq_laneq_f32(c##i##1, b1, av, lane); \
  c##i##2 = vfmaq_laneq_f32(c##i##2, b2, av, lane);
#define MLK_NEON_ROW_SCALAR(i, s)           \
  c##i##0 = vfmaq_n_f32(c##i##0, b0, s); \
  c##i##1 = vfmaq_n_f32(c##i##1, b1, s); \
  c##i##2 = vfmaq_n_f32(c##i##2, b2, s);

template <bool DIRECT>
void ukr_neon(long kc, const float* a, long ars, long acs, const float* b, long bs, float* c, long ldc, int mr, int nr,
              int flags, const EpiTile& e) {
  const float32x4_t z = vdupq_n_f32(0.f);
  float32x4_t c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z,
              c40 = z, c41 = z, c42 = z, c50 = z, c51 = z, c52 = z, c60 = z, c61 = z, c62 = z, c70 = z, c71 = z, c72 = z;
  if (!DIRECT || ars == 1) {
    // Packed panel (A(i, p) = a[p*8 + i]) or in-place A whose 8 rows are adjacent (transposed A):
    // the 8 values of one depth step are contiguous, two vector loads.
    const long step = DIRECT ? acs : NE_MR;
    for (long p = 0; p < kc; p++) {
      const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
      const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
      MLK_NEON_ROW_LANE(0, a0, 0)
      MLK_NEON_ROW_LANE(1, a0, 1)
      MLK_NEON_ROW_LANE(2, a0, 2)
      MLK_NEON_ROW_LANE(3, a0, 3)
      MLK_NEON_ROW_LANE(4, a1, 0)
      MLK_NEON_ROW_LANE(5, a1, 1)
      MLK_NEON_ROW_LANE(6, a1, 2)
      MLK_NEON_ROW_LANE(7, a1, 3)
      a += step;
      b += bs;
    }
  } else {
    // In-place A, rows ars apart: one scalar per row and step.
    const float *a0 = a, *a1 = a + ars, *a2 = a + 2 * ars, *a3 = a + 3 * ars, *a4 = a + 4 * ars, *a5 = a + 5 * ars,
                *a6 = a + 6 * ars, *a7 = a + 7 * ars;
    for (long p = 0; p < kc; p++) {
      const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
      const long o = p * acs;
      MLK_NEON_ROW_SCALAR(0, a0[o])
      MLK_NEON_ROW_SCALAR(1, a1[o])
      MLK_NEON_ROW_SCALAR(2, a2[o])
      MLK_NEON_ROW_SCALAR(3, a3[o])
      MLK_NEON_ROW_SCALAR(4, a4[o])
      MLK_NEON_ROW_SCALAR(5, a5[o])
      MLK_NEON_ROW_SCALAR(6, a6[o])
      MLK_NEON_ROW_SCALAR(7, a7[o])
      b += bs;
    }
  }
  const float32x4_t r[NE_MR][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32},
                                   {c40, c41, c42}, {c50, c51, c52}, {c60, c61, c62}, {c70, c71, c72}};
  const bool vec_act = e.act <= ACT_LEAKYRELU;
  if (mr == NE_MR && nr == NE_NR && vec_act) {
    for (int i = 0; i < NE_MR; i++) {
      float* crow = c + i * ldc;
      float32x4_t v0 = r[i][0], v1 = r[i][1], v2 = r[i][2];
      if (!(flags & TILE_FIRST)) {
        v0 = vaddq_f32(v0, vld1q_f32(crow));
        v1 = vaddq_f32(v1, vld1q_f32(crow + 4));
        v2 = vaddq_f32(v2, vld1q_f32(crow + 8));
      }
      if (flags & TILE_LAST) {
        if (e.bias != nullptr) {
          const float* brow = e.bias + i * e.bias_rs;
          if (e.bias_cs == 1) {
            v0 = vaddq_f32(v0, vld1q_f32(brow));
            v1 = vaddq_f32(v1, vld1q_f32(brow + 4));
            v2 = vaddq_f32(v2, vld1q_f32(brow + 8));
          } else {
            const float32x4_t bv = vdupq_n_f32(brow[0]);
            v0 = vaddq_f32(v0, bv);
            v1 = vaddq_f32(v1, bv);
            v2 = vaddq_f32(v2, bv);
          }
        }
        v0 = act_neon(v0, e.act, e.alpha);
        v1 = act_neon(v1, e.act, e.alpha);
        v2 = act_neon(v2, e.act, e.alpha);
      }
      vst1q_f32(crow, v0);
      vst1q_f32(crow + 4, v1);
      vst1q_f32(crow + 8, v2);
    }
    return;
  }
  // Edge tile (or ELU / sigmoid): through a buffer and the scalar store (writes only mr x nr).
  alignas(16) float tmp[NE_MR * NE_NR];
  for (int i = 0; i < NE_MR; i++) {
    vst1q_f32(tmp + i * NE_NR, r[i][0]);
    vst1q_f32(tmp + i * NE_NR + 4, r[i][1]);
    vst1q_f32(tmp + i * NE_NR + 8, r[i][2]);
  }
  store_tile_scalar(tmp, NE_NR, c, ldc, mr, nr, flags, e);
}
#undef MLK_NEON_ROW_LANE
#undef MLK_NEON_ROW_SCALAR
#endif  // MLK_ARM64

}  // namespace

const KernelInfo& kernel_info(long n) {
  static const KernelInfo scalar{SC_MR, SC_NR, 256, 128, ukr_scalar_packed, ukr_scalar};
#ifdef MLK_X86
  static const KernelInfo avx2{A2_MR, A2_NR, 384, 144, ukr_avx2<false>, ukr_avx2<true>};
  static const KernelInfo avx512{A5_MR, A5_NR, 256, 160, ukr_avx512<false>, ukr_avx512<true>};
  // Depth blocks of the AVX2 kernel's: the same sums in the same order.
  static const KernelInfo avx512_n16{A5N_MR, A5N_NR, 384, 144, ukr_avx512_n16<false>, ukr_avx512_n16<true>};
  switch (current_isa()) {
    case ISA_AVX512:
      // Narrow products (e.g. a 10-class head, a conv with few filters) waste most of a 32-wide
      // tile: use 16-wide ones.
      return n <= A5N_NR ? avx512_n16 : avx512;
    case ISA_AVX2:
      return avx2;
    default:
      return scalar;
  }
#elif defined(MLK_ARM64)
  (void)n;
  static const KernelInfo neon{NE_MR, NE_NR, 256, 128, ukr_neon<false>, ukr_neon<true>};
  return current_isa() == ISA_NEON ? neon : scalar;
#else
  (void)n;
  return scalar;
#endif
}

// ---------------------------------------------------------------------------- packing
namespace {

// d[p * W + j] = src[j * ld + p] for j < rows, p < kc (rows <= W): `rows` rows of depth kc
// interleaved into a W-wide panel, the layout both packings produce from the transposing side.
void interleave_rows_default(const float* src, long ld, int rows, int W, long kc, float* d) {
  for (int j = 0; j < rows; j++) {
    const float* s = src + j * ld;
    for (long p = 0; p < kc; p++) d[p * W + j] = s[p];
  }
}

#ifdef MLK_X86
// The same with 8 x 8 register transposes (8 row loads, 8 panel stores per block): the scalar
// loop's W-strided stores made packing a transposed operand cost as much as its multiply-adds
// in small products (e.g. GradNorm's XX^T). Moves the same floats: results are bit-identical.
__attribute__((target("avx2"))) void interleave_rows_avx2(const float* src, long ld, int rows, int W, long kc, float* d) {
  const int rows8 = rows / 8 * 8;
  const long kc8 = kc / 8 * 8;
  for (int j = 0; j < rows8; j += 8) {
    const float* s = src + j * ld;
    for (long p = 0; p < kc8; p += 8) {
      const __m256 r0 = _mm256_loadu_ps(s + p), r1 = _mm256_loadu_ps(s + ld + p);
      const __m256 r2 = _mm256_loadu_ps(s + 2 * ld + p), r3 = _mm256_loadu_ps(s + 3 * ld + p);
      const __m256 r4 = _mm256_loadu_ps(s + 4 * ld + p), r5 = _mm256_loadu_ps(s + 5 * ld + p);
      const __m256 r6 = _mm256_loadu_ps(s + 6 * ld + p), r7 = _mm256_loadu_ps(s + 7 * ld + p);
      const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
      const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
      const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
      const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float* o = d + p * W + j;
      _mm256_storeu_ps(o, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(o + W, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(o + 2 * W, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(o + 3 * W, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(o + 4 * W, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(o + 5 * W, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(o + 6 * W, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(o + 7 * W, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    for (int jj = j; jj < j + 8; jj++)
      for (long p = kc8; p < kc; p++) d[p * W + jj] = src[jj * ld + p];
  }
  interleave_rows_default(src + rows8 * ld, ld, rows - rows8, W, kc, d + rows8);
}
#endif

void interleave_rows(const float* src, long ld, int rows, int W, long kc, float* d) {
#ifdef MLK_X86
  if (rows >= 8 && kc >= 8 && current_isa() >= ISA_AVX2) {
    interleave_rows_avx2(src, ld, rows, W, kc, d);
    return;
  }
#endif
  interleave_rows_default(src, ld, rows, W, kc, d);
}

}  // namespace

// A panel: rows [i0, i0+rows) of op(A), depth [p0, p0+kc), as ceil(rows/MR) panels of kc x MR.
void pack_a(const float* a, long lda, bool trans_a, long i0, long rows, long p0, long kc, int MR, float* dst) {
  for (long ip = 0; ip < rows; ip += MR) {
    const int mr = static_cast<int>(std::min<long>(MR, rows - ip));
    float* d = dst + ip * kc;
    if (trans_a) {
      const float* src = a + p0 * lda + (i0 + ip);
      for (long p = 0; p < kc; p++) {
        const float* s = src + p * lda;
        float* dd = d + p * MR;
        int ii = 0;
        for (; ii < mr; ii++) dd[ii] = s[ii];
        for (; ii < MR; ii++) dd[ii] = 0.f;
      }
    } else {
      interleave_rows(a + (i0 + ip) * lda + p0, lda, mr, MR, kc, d);
      for (int ii = mr; ii < MR; ii++)
        for (long p = 0; p < kc; p++) d[p * MR + ii] = 0.f;
    }
  }
}

// B slivers: columns [j0, j0+cols) of op(B), depth [p0, p0+kc), as ceil(cols/NR) slivers of kc x NR.
void pack_b(const float* b, long ldb, bool trans_b, long p0, long kc, long j0, long cols, int NR, float* dst) {
  for (long js = 0; js < cols; js += NR) {
    const int nr = static_cast<int>(std::min<long>(NR, cols - js));
    float* d = dst + js * kc;
    if (!trans_b) {
      const float* src = b + p0 * ldb + (j0 + js);
      for (long p = 0; p < kc; p++) {
        const float* s = src + p * ldb;
        float* dd = d + p * NR;
        int jj = 0;
        for (; jj < nr; jj++) dd[jj] = s[jj];
        for (; jj < NR; jj++) dd[jj] = 0.f;
      }
    } else {
      interleave_rows(b + (j0 + js) * ldb + p0, ldb, nr, NR, kc, d);
      for (int jj = nr; jj < NR; jj++)
        for (long p = 0; p < kc; p++) d[p * NR + jj] = 0.f;
    }
  }
}

// ---------------------------------------------------------------------------- driver
namespace {

constexpr long kPanelBudget = 512 * 1024;  // floats of packed B per column panel (2 MB)
constexpr long kSliverGroup = 4;           // slivers per B-packing chunk
constexpr double kThreadFlops = 2.0e6;     // below this (~20 us of work) a product runs on one thread

struct Plan {
  const KernelInfo* ki;
  long m, n, k;
  const float* a;
  long lda;
  bool ta;
  const float* b;
  long ldb;
  bool tb;
  float* c;
  long ldc;
  Epilogue ep;
  long kc, nbk;      // depth block and number of blocks
  long jc, ncur;     // current column panel
  long slivers;      // in the panel
  float* bpack;      // packed B of the panel: block q at q*kc*slivers*NR, sliver s at + s*kcur*NR
  long rb_rows, rb_count, cg_slivers, cg_count;
  bool direct_a;     // full A panels are read in place (no packing): when each is used by few slivers
  int tid_override;  // >= 0: everything runs on this thread id (batched-parallel mode)
};

inline long block_kcur(const Plan& P, long q) { return std::min(P.kc, P.k - q * P.kc); }

void pack_b_chunk(void* ctx, long chunk, int /*tid*/) {
  const Plan& P = *static_cast<const Plan*>(ctx);
  const int NR = P.ki->nr;
  const long groups = (P.slivers + kSliverGroup - 1) / kSliverGroup;
  const long q = chunk / groups, g = chunk % groups;
  const long kcur = block_kcur(P, q);
  const long s0 = g * kSliverGroup, s1 = std::min(P.slivers, s0 + kSliverGroup);
  const long j0 = s0 * NR, cols = std::min(P.ncur, s1 * NR) - j0;
  float* dst = P.bpack + q * P.kc * P.slivers * NR + s0 * kcur * NR;
  pack_b(P.b, P.ldb, P.tb, q * P.kc, kcur, P.jc + j0, cols, NR, dst);
}

void compute_chunk(void* ctx, long chunk, int tid) {
  const Plan& P = *static_cast<const Plan*>(ctx);
  const KernelInfo& K = *P.ki;
  const int MR = K.mr, NR = K.nr;
  const long rb = chunk / P.cg_count, cg = chunk % P.cg_count;
  const long i0 = rb * P.rb_rows, i1 = std::min(P.m, i0 + P.rb_rows);
  const long s0 = cg * P.cg_slivers, s1 = std::min(P.slivers, s0 + P.cg_slivers);
  if (i0 >= i1 || s0 >= s1) return;
  float* apack = scratch_a(P.tid_override >= 0 ? P.tid_override : tid);
  // Direct mode: full panels are read in place; a partial last panel is packed on its own.
  const long full_end = P.direct_a ? i0 + (i1 - i0) / MR * MR : i0;
  const long ars = P.ta ? 1 : P.lda, acs = P.ta ? P.lda : 1;
  for (long q = 0; q < P.nbk; q++) {
    const long p0 = q * P.kc, kcur = block_kcur(P, q);
    if (!P.direct_a) pack_a(P.a, P.lda, P.ta, i0, i1 - i0, p0, kcur, MR, apack);
    else if (full_end < i1) pack_a(P.a, P.lda, P.ta, full_end, i1 - full_end, p0, kcur, MR, apack);
    const int flags = (q == 0 && !P.ep.accumulate ? TILE_FIRST : 0) | (q == P.nbk - 1 ? TILE_LAST : 0);
    const float* bblock = P.bpack + q * P.kc * P.slivers * NR;
    for (long s = s0; s < s1; s++) {
      const long j = P.jc + s * NR;
      const int nr = static_cast<int>(std::min<long>(NR, P.n - j));
      const float* bs = bblock + s * kcur * NR;
      for (long i = i0; i < i1; i += MR) {
        const int mr = static_cast<int>(std::min<long>(MR, i1 - i));
        EpiTile e;
        e.act = P.ep.act;
        e.alpha = P.ep.alpha;
        e.bias_cs = P.ep.bias_col_stride;
        e.bias_rs = P.ep.bias_row_stride;
        e.bias = P.ep.bias == nullptr ? nullptr : P.ep.bias + i * P.ep.bias_row_stride + j * P.ep.bias_col_stride;
        float* ct = P.c + i * P.ldc + j;
        if (i < full_end) {
          const float* ap = P.ta ? P.a + p0 * P.lda + i : P.a + i * P.lda + p0;
          K.direct(kcur, ap, ars, acs, bs, NR, ct, P.ldc, mr, nr, flags, e);
        } else {
          const float* ap = P.direct_a ? apack : apack + (i - i0) * kcur;
          K.fn(kcur, ap, 1, MR, bs, NR, ct, P.ldc, mr, nr, flags, e);
        }
      }
    }
  }
}

// Decide blocking and task grid; returns the scratch sizes needed (floats).
void plan(Plan& P, int threads, size_t* need_a, size_t* need_b) {
  const KernelInfo& K = *P.ki;
  const int MR = K.mr, NR = K.nr;
  P.nbk = (P.k + K.kc - 1) / K.kc;
  P.kc = (P.k + P.nbk - 1) / P.nbk;
  long nc = std::max<long>(NR, (kPanelBudget / std::max<long>(1, P.k)) / NR * NR);
  if (nc > P.n) nc = (P.n + NR - 1) / NR * NR;
  const long panel_slivers = (std::min(nc, P.n) + NR - 1) / NR;
  // Task grid (for one panel of panel_slivers slivers).
  const long row_panels = (P.m + MR - 1) / MR;
  const long mc_panels = std::max<long>(1, K.mc / MR);
  long rb_count = (row_panels + mc_panels - 1) / mc_panels;
  long cg_count = 1;
  if (threads > 1) {
    const long target = 8L * threads;  // small tasks: a preempted worker holds little work
    if (rb_count < target) rb_count = std::min(row_panels, target);
    if (rb_count < target) cg_count = std::min(panel_slivers, (target + rb_count - 1) / rb_count);
  }
  const long rb_panels = (row_panels + rb_count - 1) / rb_count;
  P.rb_rows = rb_panels * MR;
  P.rb_count = (row_panels + rb_panels - 1) / rb_panels;
  P.cg_slivers = (panel_slivers + cg_count - 1) / cg_count;
  P.cg_count = (panel_slivers + P.cg_slivers - 1) / P.cg_slivers;
  // Each A panel is used by cg_slivers slivers: when that is 1 or 2, packing it costs about as
  // much as the products (small n: conv columns, narrow heads), so read it in place.
  P.direct_a = P.cg_slivers <= 2 && getenv("MLK_NODIRECT") == nullptr;
  *need_a = static_cast<size_t>(P.rb_rows) * P.kc;
  *need_b = static_cast<size_t>(P.nbk) * P.kc * panel_slivers * NR;
  P.ncur = nc;  // panel width (max)
}

void run_panels(Plan& P, int threads) {
  const int NR = P.ki->nr;
  const long nc = P.ncur;
  for (long jc = 0; jc < P.n; jc += nc) {
    P.jc = jc;
    P.ncur = std::min(nc, P.n - jc);
    P.slivers = (P.ncur + NR - 1) / NR;
    // The task grid's column groups refer to slivers of this panel.
    const long groups = (P.slivers + kSliverGroup - 1) / kSliverGroup;
    parallel_for(P.nbk * groups, pack_b_chunk, &P, threads);
    const long cg_count = P.cg_count;
    P.cg_count = (P.slivers + P.cg_slivers - 1) / P.cg_slivers;
    parallel_for(P.rb_count * P.cg_count, compute_chunk, &P, threads);
    P.cg_count = cg_count;
  }
  P.ncur = nc;
}

}  // namespace

// One product on the calling thread, using thread tid's scratch (which must be big enough).
static void sgemm_on_thread(Plan& P, int tid) {
  P.tid_override = tid;
  P.bpack = scratch_b(tid);
  run_panels(P, 1);
}

static bool make_plan(Plan& P, long m, long n, long k, const float* a, long lda, bool ta, const float* b, long ldb,
                      bool tb, float* c, long ldc, const Epilogue& ep, int threads, size_t* na, size_t* nb) {
  P.ki = &kernel_info(n);
  P.m = m;
  P.n = n;
  P.k = k;
  P.a = a;
  P.lda = lda;
  P.ta = ta;
  P.b = b;
  P.ldb = ldb;
  P.tb = tb;
  P.c = c;
  P.ldc = ldc;
  P.ep = ep;
  P.tid_override = -1;
  plan(P, threads, na, nb);
  return true;
}

void sgemm_local_scratch(long m, long n, long k, size_t* need_a, size_t* need_b) {
  *need_a = *need_b = 0;
  if (m <= 0 || n <= 0 || k <= 0) return;
  Plan P;
  make_plan(P, m, n, k, nullptr, k, false, nullptr, n, false, nullptr, n, Epilogue(), 1, need_a, need_b);
}

void sgemm_local(int tid, long m, long n, long k, const float* a, long lda, bool trans_a, const float* b, long ldb,
                 bool trans_b, float* c, long ldc, const Epilogue& ep) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    epilogue_rows(c, ldc, m, n, ep, !ep.accumulate);
    return;
  }
  Plan P;
  size_t na, nb;
  make_plan(P, m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, ep, 1, &na, &nb);
  sgemm_on_thread(P, tid);
}

bool sgemm(long m, long n, long k, const float* a, long lda, bool trans_a, const float* b, long ldb, bool trans_b,
           float* c, long ldc, const Epilogue& ep) {
  if (m <= 0 || n <= 0) return true;
  if (k <= 0) {
    epilogue_rows(c, ldc, m, n, ep, !ep.accumulate);
    return true;
  }
  const double flops = 2.0 * m * n * k;
  const int threads = flops < kThreadFlops ? 1 : num_threads();
  Plan P;
  size_t na, nb;
  make_plan(P, m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, ep, threads, &na, &nb);
  if (!ensure_scratch_a(na) || !ensure_scratch_b(nb)) return false;
  P.bpack = scratch_b(0);
  run_panels(P, threads);
  return true;
}

namespace {
struct BatchCtx {
  long m, n, k;
  const float* a;
  const long* a_off;
  long lda;
  bool ta;
  const float* b;
  const long* b_off;
  long ldb;
  bool tb;
  float* c;
  long c_stride, ldc;
  Epilogue ep;
  const long* bias_off;
};

void batch_chunk(void* ctx, long t, int tid) {
  const BatchCtx& B = *static_cast<const BatchCtx*>(ctx);
  Epilogue ep = B.ep;
  if (ep.bias != nullptr && B.bias_off != nullptr) ep.bias += B.bias_off[t];
  float* c = B.c + t * B.c_stride;
  if (B.k <= 0) {
    epilogue_rows(c, B.ldc, B.m, B.n, ep, !ep.accumulate);
    return;
  }
  Plan P;
  size_t na, nb;
  make_plan(P, B.m, B.n, B.k, B.a + B.a_off[t], B.lda, B.ta, B.b + B.b_off[t], B.ldb, B.tb, c, B.ldc, ep, 1, &na, &nb);
  sgemm_on_thread(P, tid);
}
}  // namespace

bool sgemm_batched(long batch, long m, long n, long k, const float* a, const long* a_off, long lda, bool trans_a,
                   const float* b, const long* b_off, long ldb, bool trans_b, float* c, long c_stride, long ldc,
                   const Epilogue& ep, const long* bias_off) {
  if (batch <= 0 || m <= 0 || n <= 0) return true;
  const double flops = 2.0 * m * n * k;
  if (batch == 1 || flops >= 4 * kThreadFlops || num_threads() == 1) {
    for (long t = 0; t < batch; t++) {
      Epilogue e = ep;
      if (e.bias != nullptr && bias_off != nullptr) e.bias += bias_off[t];
      if (!sgemm(m, n, k, a + a_off[t], lda, trans_a, b + b_off[t], ldb, trans_b, c + t * c_stride, ldc, e)) return false;
    }
    return true;
  }
  // Many small products: one product per chunk, each on one thread with its own scratch.
  if (k > 0) {
    Plan P;
    size_t na, nb;
    make_plan(P, m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, ep, 1, &na, &nb);
    if (!ensure_scratch_a(na) || !ensure_scratch_b(nb)) return false;
  }
  BatchCtx B{m, n, k, a, a_off, lda, trans_a, b, b_off, ldb, trans_b, c, c_stride, ldc, ep, bias_off};
  parallel_for(batch, batch_chunk, &B);
  return true;
}

}  // namespace mlk
