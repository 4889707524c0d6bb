// conv2d (NHWC input, HWIO filter) forward and both backprops as im2col/col2im around the
// GEMM. A 1x1, stride-1, unpadded conv needs no columns: the input already is the matrix.
// Columns are built for a chunk of whole images at a time (bounded memory).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
// GCC 12's avx512 headers trip -Wmaybe-uninitialized on _mm512_undefined_ps (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "internal.h"
#include "mlk.h"

namespace mlk {
namespace {

constexpr size_t kColumnBudget = 8u << 20;  // floats of columns per chunk (32 MB)

struct ColBuf {
  float* ptr = nullptr;
  size_t floats = 0;
};
ColBuf g_cols;

float* column_buffer(size_t floats) {
  if (g_cols.floats >= floats) return g_cols.ptr;
  void* mem = nullptr;
  if (posix_memalign(&mem, 64, floats * sizeof(float)) != 0 || mem == nullptr) return nullptr;
  std::free(g_cols.ptr);
  g_cols.ptr = static_cast<float*>(mem);
  g_cols.floats = floats;
  return g_cols.ptr;
}

inline long kk_size(const ConvGeom& g) { return g.k_h * g.k_w * g.in_c; }
inline long rows_per_image(const ConvGeom& g) { return g.out_h * g.out_w; }
inline bool is_pointwise(const ConvGeom& g) {
  return g.k_h == 1 && g.k_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 0 && g.pad_left == 0 &&
         g.out_h == g.in_h && g.out_w == g.in_w;
}

long images_per_chunk(const ConvGeom& g) {
  const size_t per = static_cast<size_t>(rows_per_image(g)) * kk_size(g);
  if (per == 0) return g.batch;
  return std::max<long>(1, static_cast<long>(kColumnBudget / per));
}

struct ColCtx {
  const ConvGeom* g;
  const float* x;  // image b0
  float* col;      // rows of images b0..
};

// Runs of a column row: k_w*in_c values, contiguous in x when the window row lies inside the image
// (NHWC: a window row's columns and channels are adjacent). Few channels make short runs (5 floats
// for a 5x5 filter on one channel): AVX-512 copies and adds them with one masked load and store
// (masked-off lanes are never touched), other instruction sets with a loop.
struct RunsPortable {
  static inline void copy(float* d, const float* s, long n) {
    if (n < 32) {
      for (long i = 0; i < n; i++) d[i] = s[i];
    } else {
      std::memcpy(d, s, sizeof(float) * n);
    }
  }
  static inline void add(float* d, const float* s, long n) {
    for (long i = 0; i < n; i++) d[i] += s[i];
  }
};
#if defined(__x86_64__) || defined(__i386__)
struct RunsAvx512 {
  __attribute__((target("avx512f"))) static inline __mmask16 tail(long n) {
    return static_cast<__mmask16>((1u << n) - 1u);
  }
  __attribute__((target("avx512f"))) static inline void copy(float* d, const float* s, long n) {
    for (; n >= 16; n -= 16, d += 16, s += 16) _mm512_storeu_ps(d, _mm512_loadu_ps(s));
    if (n > 0) _mm512_mask_storeu_ps(d, tail(n), _mm512_maskz_loadu_ps(tail(n), s));
  }
  __attribute__((target("avx512f"))) static inline void add(float* d, const float* s, long n) {
    for (; n >= 16; n -= 16, d += 16, s += 16) _mm512_storeu_ps(d, _mm512_add_ps(_mm512_loadu_ps(d), _mm512_loadu_ps(s)));
    if (n > 0) _mm512_mask_storeu_ps(d, tail(n), _mm512_add_ps(_mm512_maskz_loadu_ps(tail(n), d), _mm512_maskz_loadu_ps(tail(n), s)));
  }
};
#endif

// im2col / col2im of one image with each kind of run copies (conv-columns.inc, compiled once per
// instruction set: the AVX-512 copy is inlined only into code compiled for AVX-512).
#define MLK_RUNS RunsPortable
#define MLK_COLUMNS_FN(name) name##_portable
#include "conv-columns.inc"
#undef MLK_RUNS
#undef MLK_COLUMNS_FN
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC push_options
#pragma GCC target("avx512f")
#define MLK_RUNS RunsAvx512
#define MLK_COLUMNS_FN(name) name##_avx512
#include "conv-columns.inc"
#undef MLK_RUNS
#undef MLK_COLUMNS_FN
#pragma GCC pop_options
#endif

void im2col_image(void* ctx, long img, int) {
  const ColCtx& C = *static_cast<const ColCtx*>(ctx);
#if defined(__x86_64__) || defined(__i386__)
  if (current_isa() >= ISA_AVX512) return im2col_avx512(C, img);
#endif
  im2col_portable(C, img);
}

void col2im_image(void* ctx, long img, int) {
  const ColCtx& C = *static_cast<const ColCtx*>(ctx);
#if defined(__x86_64__) || defined(__i386__)
  if (current_isa() >= ISA_AVX512) return col2im_avx512(C, img);
#endif
  col2im_portable(C, img);
}

}  // namespace

namespace {

// Forward and input gradient run per thread on groups of whole images: columns for a group
// stay in the thread's cache-sized buffer and feed a one-thread GEMM straight away (no
// batch-sized column matrix). Every output element is computed by one chunk: deterministic.
constexpr long kLocalRows = 256;          // rows (output pixels) per chunk, at least
constexpr size_t kLocalColumns = 1 << 20;  // floats of columns per chunk, at most (4 MB)

long local_images(const ConvGeom& g) {
  const long R = rows_per_image(g), KK = kk_size(g);
  long imgs = std::max<long>(1, (kLocalRows + R - 1) / R);
  while (imgs > 1 && static_cast<size_t>(imgs) * R * KK > kLocalColumns) imgs--;
  return imgs;
}

/** Whether the per-thread scheme applies: enough image groups for the threads, and a group fits. */
bool use_local(const ConvGeom& g, long imgs) {
  const size_t cols = static_cast<size_t>(imgs) * rows_per_image(g) * kk_size(g);
  const long chunks = (g.batch + imgs - 1) / imgs;
  return cols <= kLocalColumns && (chunks >= 2 * num_threads() || num_threads() == 1);
}

struct LocalCtx {
  const ConvGeom* g;
  long imgs;
  const float* x;  // forward: x; input gradient: dy
  const float* f;
  float* out;      // forward: y; input gradient: dx
  const Epilogue* ep;
};

void forward_chunk(void* ctx, long chunk, int tid) {
  const LocalCtx& L = *static_cast<const LocalCtx*>(ctx);
  const ConvGeom& g = *L.g;
  const long b0 = chunk * L.imgs, nb = std::min(L.imgs, g.batch - b0);
  const long R = rows_per_image(g), KK = kk_size(g);
  float* col = scratch_c(tid);
  ColCtx C{&g, L.x + b0 * g.in_h * g.in_w * g.in_c, col};
  for (long i = 0; i < nb; i++) im2col_image(&C, i, tid);
  sgemm_local(tid, nb * R, g.out_c, KK, col, KK, false, L.f, g.out_c, false, L.out + b0 * R * g.out_c, g.out_c, *L.ep);
}

void input_grad_chunk(void* ctx, long chunk, int tid) {
  const LocalCtx& L = *static_cast<const LocalCtx*>(ctx);
  const ConvGeom& g = *L.g;
  const long b0 = chunk * L.imgs, nb = std::min(L.imgs, g.batch - b0);
  const long R = rows_per_image(g), KK = kk_size(g);
  float* col = scratch_c(tid);
  Epilogue lin;
  // dcol[rows, KK] = dy[rows, Co] . F^T  (F is [KK, Co])
  sgemm_local(tid, nb * R, KK, g.out_c, L.x + b0 * R * g.out_c, g.out_c, false, L.f, g.out_c, true, col, KK, lin);
  float* dx = L.out + b0 * g.in_h * g.in_w * g.in_c;
  std::memset(dx, 0, sizeof(float) * nb * g.in_h * g.in_w * g.in_c);
  ColCtx C{&g, dx, col};
  for (long i = 0; i < nb; i++) col2im_image(&C, i, tid);
}

struct FilterGradCtx {
  const ConvGeom* g;
  long imgs;
  const float* x;
  const float* dy;
  float* partials;  // per chunk: KK x Co, then (with bias) Co bias sums; `stride` floats apart
  long stride;
  bool bias;
};

/** out[0, n) = the sum of `rows` rows of n floats, row by row (the bias gradient of a group of pixels). */
void sum_rows(const float* dy, long rows, long n, float* out) {
  std::memset(out, 0, sizeof(float) * n);
  for (long r = 0; r < rows; r++, dy += n)
    for (long j = 0; j < n; j++) out[j] += dy[j];
}

void filter_grad_chunk(void* ctx, long chunk, int tid) {
  const FilterGradCtx& F = *static_cast<const FilterGradCtx*>(ctx);
  const ConvGeom& g = *F.g;
  const long b0 = chunk * F.imgs, nb = std::min(F.imgs, g.batch - b0);
  const long R = rows_per_image(g), KK = kk_size(g);
  float* col = scratch_c(tid);
  ColCtx C{&g, F.x + b0 * g.in_h * g.in_w * g.in_c, col};
  for (long i = 0; i < nb; i++) im2col_image(&C, i, tid);
  Epilogue lin;
  float* part = F.partials + chunk * F.stride;
  // partial[KK, Co] = col^T . dy
  sgemm_local(tid, KK, g.out_c, nb * R, col, KK, true, F.dy + b0 * R * g.out_c, g.out_c, false, part, g.out_c, lin);
  if (F.bias) sum_rows(F.dy + b0 * R * g.out_c, nb * R, g.out_c, part + KK * g.out_c);
}

struct ReduceCtx {
  const float* partials;  // chunk c's at c * stride
  float* out;
  long chunks, size, block, stride;
};

// out = sum of the chunks' partials, always in chunk order (deterministic).
void reduce_chunk(void* ctx, long blk, int) {
  const ReduceCtx& Rc = *static_cast<const ReduceCtx*>(ctx);
  const long i0 = blk * Rc.block, i1 = std::min(Rc.size, i0 + Rc.block);
  std::memcpy(Rc.out + i0, Rc.partials + i0, sizeof(float) * (i1 - i0));
  for (long c = 1; c < Rc.chunks; c++) {
    const float* p = Rc.partials + c * Rc.stride;
    for (long i = i0; i < i1; i++) Rc.out[i] += p[i];
  }
}

/** df (and db) from the chunks' partials (FilterGradCtx's layout). */
void reduce_filter_partials(const float* partials, long chunks, long KK, long Co, long stride, float* df, float* db) {
  ReduceCtx Rc{partials, df, chunks, KK * Co, 4096, stride};
  parallel_for((Rc.size + Rc.block - 1) / Rc.block, reduce_chunk, &Rc);
  if (db != nullptr) {
    ReduceCtx Rb{partials + KK * Co, db, chunks, Co, Co, stride};
    reduce_chunk(&Rb, 0, 0);
  }
}

bool prepare_local(const ConvGeom& g, long imgs, long m_per_chunk, long n, long k) {
  size_t na, nb;
  sgemm_local_scratch(m_per_chunk, n, k, &na, &nb);
  return ensure_scratch_a(na) && ensure_scratch_b(nb) &&
         ensure_scratch_c(static_cast<size_t>(imgs) * rows_per_image(g) * kk_size(g));
}

}  // namespace

// ---------------------------------------------------------------- direct first-layer convolution
// A conv over few input values per window (a grey or RGB image's first layer: 1 or 3 channels,
// 3x3 or 5x5) makes a GEMM only KK = kH*kW*inC deep: im2col then writes KK floats for every
// output pixel, and packing the transposed columns for the filter gradient costs more than the
// products. Here the micro-kernels read the windows in place (stride 1, no dilation; a padded
// layer reads a zero-bordered copy of each image in the thread's scratch), with the filter size
// and channels known at compile time so every offset is an immediate:
// - forward: 12 pixels of one output row x up to 16 filters in registers, the same
//   multiply-add order as the GEMM's 12x16 micro-kernel (bit-identical outputs);
// - filter gradient: the KK x filters gradient in KK registers, one pass over the pixels of a
//   group of images (groups fixed by the geometry), the groups' sums added in group order.
// AVX-512 only (masked 16-lane rows); other instruction sets keep im2col.
namespace {

struct DirectGeom {
  long hp, wp;   // the (padded) image the windows are read from
  bool padded;   // a zero-bordered copy is needed
  long imgs;     // images per chunk
};

DirectGeom direct_geom(const ConvGeom& g) {
  DirectGeom d;
  d.hp = std::max(g.in_h + g.pad_top, g.out_h - 1 + g.k_h);
  d.wp = std::max(g.in_w + g.pad_left, g.out_w - 1 + g.k_w);
  d.padded = g.pad_top != 0 || g.pad_left != 0 || d.hp != g.in_h || d.wp != g.in_w;
  d.imgs = std::max<long>(1, 4096 / std::max<long>(1, g.out_h * g.out_w));
  return d;
}

struct DirectCtx {
  const ConvGeom* g;
  DirectGeom d;
  const float* x;
  const float* f;    // forward: the filters
  const float* dy;   // filter gradient: dy
  float* y;          // forward: y; filter gradient: per chunk a KK x Co partial (+ Co bias sums), `stride` apart
  const Epilogue* ep;
  long stride;
  bool bias;
};

#if defined(__x86_64__) || defined(__i386__)
constexpr int kDirectRows = 12;

/** Image b of x as the kernels read it: in place, or copied inside a zero border into buf. */
const float* direct_image(const ConvGeom& g, const DirectGeom& d, const float* x, long b, float* buf, bool border_zeroed) {
  const long C = g.in_c;
  const float* img = x + b * g.in_h * g.in_w * C;
  if (!d.padded) return img;
  if (!border_zeroed) std::memset(buf, 0, sizeof(float) * d.hp * d.wp * C);
  // Rows/columns of x that land inside the padded frame (a negative pad drops them).
  const long r0 = std::max<long>(0, -g.pad_top), c0 = std::max<long>(0, -g.pad_left);
  const long r1 = std::min(g.in_h, d.hp - g.pad_top), c1 = std::min(g.in_w, d.wp - g.pad_left);
  for (long r = r0; r < r1; r++)
    if (c1 > c0) std::memcpy(buf + ((r + g.pad_top) * d.wp + c0 + g.pad_left) * C, img + (r * g.in_w + c0) * C, sizeof(float) * (c1 - c0) * C);
  return buf;
}


template <int KH, int KW, int C>
__attribute__((target("avx512f"))) void direct_forward_chunk(void* ctx, long chunk, int tid) {
  const DirectCtx& D = *static_cast<const DirectCtx*>(ctx);
  const ConvGeom& g = *D.g;
  const long Co = g.out_c, OW = g.out_w, rs = D.d.wp * C;
  const __mmask16 m = static_cast<__mmask16>(Co >= 16 ? 0xFFFF : (1u << Co) - 1u);
  const Epilogue& ep = *D.ep;
  const __m512 zero = _mm512_setzero_ps();
  const __m512 bias = ep.bias != nullptr ? _mm512_maskz_loadu_ps(m, ep.bias) : zero;
  __m512 w[KH * KW * C];
  for (int p = 0; p < KH * KW * C; p++) w[p] = _mm512_maskz_loadu_ps(m, D.f + p * Co);
  const long b0 = chunk * D.d.imgs, b1 = std::min(g.batch, b0 + D.d.imgs);
  for (long b = b0; b < b1; b++) {
    const float* img = direct_image(g, D.d, D.x, b, D.d.padded ? scratch_c(tid) : nullptr, b > b0);
    float* yb = D.y + b * g.out_h * OW * Co;
    for (long oh = 0; oh < g.out_h; oh++) {
      for (long ow0 = 0; ow0 < OW; ow0 += kDirectRows) {
        // A short last tile is moved left over pixels already done (the same values again).
        const long o = std::min(ow0, OW - kDirectRows);
        const float* a = img + oh * rs + o * C;
        __m512 acc[kDirectRows];
        for (int i = 0; i < kDirectRows; i++) acc[i] = zero;
#pragma GCC unroll 5
        for (int kh = 0; kh < KH; kh++) {
#pragma GCC unroll 5
          for (int kw = 0; kw < KW; kw++) {
#pragma GCC unroll 3
            for (int ci = 0; ci < C; ci++) {
              const __m512 wv = w[(kh * KW + kw) * C + ci];
              const float* ap = a + kh * rs + kw * C + ci;
#pragma GCC unroll 12
              for (int i = 0; i < kDirectRows; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(ap[i * C]), wv, acc[i]);
            }
          }
        }
        float* yr = yb + (oh * OW + o) * Co;
#pragma GCC unroll 12
        for (int i = 0; i < kDirectRows; i++) {
          __m512 v = acc[i];
          if (ep.bias != nullptr) v = _mm512_add_ps(v, bias);
          if (ep.act == ACT_RELU) v = _mm512_max_ps(zero, v);
          _mm512_mask_storeu_ps(yr + i * Co, m, v);
        }
      }
    }
  }
}

template <int KH, int KW, int C>
__attribute__((target("avx512f"))) void direct_filter_chunk(void* ctx, long chunk, int tid) {
  const DirectCtx& D = *static_cast<const DirectCtx*>(ctx);
  const ConvGeom& g = *D.g;
  constexpr int KK = KH * KW * C;
  const long Co = g.out_c, OW = g.out_w, rs = D.d.wp * C;
  const __mmask16 m = static_cast<__mmask16>(Co >= 16 ? 0xFFFF : (1u << Co) - 1u);
  __m512 acc[KK];
  for (int p = 0; p < KK; p++) acc[p] = _mm512_setzero_ps();
  __m512 acc_bias = _mm512_setzero_ps();
  const long b0 = chunk * D.d.imgs, b1 = std::min(g.batch, b0 + D.d.imgs);
  for (long b = b0; b < b1; b++) {
    const float* img = direct_image(g, D.d, D.x, b, D.d.padded ? scratch_c(tid) : nullptr, b > b0);
    const float* dyb = D.dy + b * g.out_h * OW * Co;
    for (long oh = 0; oh < g.out_h; oh++) {
      for (long ow = 0; ow < OW; ow++) {
        const __m512 d = _mm512_maskz_loadu_ps(m, dyb + (oh * OW + ow) * Co);
        acc_bias = _mm512_add_ps(acc_bias, d);
        const float* a = img + oh * rs + ow * C;
#pragma GCC unroll 5
        for (int kh = 0; kh < KH; kh++)
#pragma GCC unroll 5
          for (int kw = 0; kw < KW; kw++)
#pragma GCC unroll 3
            for (int ci = 0; ci < C; ci++) {
              const int p = (kh * KW + kw) * C + ci;
              acc[p] = _mm512_fmadd_ps(_mm512_set1_ps(a[kh * rs + kw * C + ci]), d, acc[p]);
            }
      }
    }
  }
  float* part = D.y + chunk * D.stride;
  for (int p = 0; p < KK; p++) _mm512_mask_storeu_ps(part + p * Co, m, acc[p]);
  if (D.bias) _mm512_mask_storeu_ps(part + KK * Co, m, acc_bias);
}

struct DirectKernels {
  ChunkFn forward, filter;
};

/** The direct kernels for this geometry, or none (nullptr members). */
DirectKernels direct_kernels(const ConvGeom& g) {
  if (current_isa() < ISA_AVX512 || g.stride_h != 1 || g.stride_w != 1 || g.dil_h != 1 || g.dil_w != 1 || g.out_c > 16 ||
      g.out_w < kDirectRows || getenv("MLK_NODIRECTCONV") != nullptr)
    return {nullptr, nullptr};
  if (g.in_c == 1 && g.k_h == 5 && g.k_w == 5) return {direct_forward_chunk<5, 5, 1>, direct_filter_chunk<5, 5, 1>};
  if (g.in_c == 1 && g.k_h == 3 && g.k_w == 3) return {direct_forward_chunk<3, 3, 1>, direct_filter_chunk<3, 3, 1>};
  if (g.in_c == 3 && g.k_h == 3 && g.k_w == 3) return {direct_forward_chunk<3, 3, 3>, direct_filter_chunk<3, 3, 3>};
  return {nullptr, nullptr};
}
#else
struct DirectKernels {
  ChunkFn forward, filter;
};
DirectKernels direct_kernels(const ConvGeom&) { return {nullptr, nullptr}; }
#endif

/**
 * The direct kernels split the batch into groups of whole images: too few groups to keep every
 * thread busy (a small batch of large images) leaves the work to the im2col path, whose GEMM
 * splits rows and columns.
 */
bool direct_enough_chunks(const ConvGeom& g, const DirectGeom& d) {
  return num_threads() == 1 || (g.batch + d.imgs - 1) / d.imgs >= 2 * num_threads();
}

/** The forward pass by the direct kernel; false when it does not apply (nothing written). */
bool direct_forward(const ConvGeom& g, const float* x, const float* f, float* y, const Epilogue& ep, bool* ok) {
  const ChunkFn fn = direct_kernels(g).forward;
  if (fn == nullptr || ep.accumulate || (ep.act != ACT_LINEAR && ep.act != ACT_RELU) ||
      (ep.bias != nullptr && (ep.bias_col_stride != 1 || ep.bias_row_stride != 0)) || !direct_enough_chunks(g, direct_geom(g)))
    return false;
  DirectCtx D{&g, direct_geom(g), x, f, nullptr, y, &ep, 0, false};
  *ok = !D.d.padded || ensure_scratch_c(static_cast<size_t>(D.d.hp) * D.d.wp * g.in_c);
  if (*ok) parallel_for((g.batch + D.d.imgs - 1) / D.d.imgs, fn, &D);
  return true;
}

/** The filter (and bias) gradient by the direct kernel; false when it does not apply (nothing written). */
bool direct_filter(const ConvGeom& g, const float* x, const float* dy, float* df, float* db, bool* ok) {
  const ChunkFn fn = direct_kernels(g).filter;
  if (fn == nullptr || !direct_enough_chunks(g, direct_geom(g))) return false;
  const long KK = kk_size(g), Co = g.out_c;
  DirectCtx D{&g, direct_geom(g), x, nullptr, dy, nullptr, nullptr, KK * Co + (db != nullptr ? Co : 0), db != nullptr};
  const long chunks = (g.batch + D.d.imgs - 1) / D.d.imgs;
  D.y = column_buffer(static_cast<size_t>(chunks) * D.stride);
  *ok = D.y != nullptr && (!D.d.padded || ensure_scratch_c(static_cast<size_t>(D.d.hp) * D.d.wp * g.in_c));
  if (!*ok) return true;
  parallel_for(chunks, fn, &D);
  reduce_filter_partials(D.y, chunks, KK, Co, D.stride, df, db);
  return true;
}

}  // namespace

bool conv2d_forward(const ConvGeom& g, const float* x, const float* f, float* y, const Epilogue& ep) {
  const long KK = kk_size(g), R = rows_per_image(g);
  if (g.batch <= 0 || R <= 0 || g.out_c <= 0) return true;
  if (is_pointwise(g)) return sgemm(g.batch * R, g.out_c, g.in_c, x, g.in_c, false, f, g.out_c, false, y, g.out_c, ep);
  bool ok = true;
  if (direct_forward(g, x, f, y, ep, &ok)) return ok;
  const long imgs = local_images(g);
  if (KK > 0 && use_local(g, imgs)) {
    if (!prepare_local(g, imgs, imgs * R, g.out_c, KK)) return false;
    LocalCtx L{&g, imgs, x, f, y, &ep};
    parallel_for((g.batch + imgs - 1) / imgs, forward_chunk, &L);
    return true;
  }
  const long per_chunk = images_per_chunk(g);
  float* col = column_buffer(static_cast<size_t>(std::min(per_chunk, g.batch)) * R * KK);
  if (col == nullptr && KK > 0) return false;
  for (long b0 = 0; b0 < g.batch; b0 += per_chunk) {
    const long nb = std::min(per_chunk, g.batch - b0);
    if (KK > 0) {
      ColCtx C{&g, x + b0 * g.in_h * g.in_w * g.in_c, col};
      parallel_for(nb, im2col_image, &C);
    }
    if (!sgemm(nb * R, g.out_c, KK, col, KK, false, f, g.out_c, false, y + b0 * R * g.out_c, g.out_c, ep)) return false;
  }
  return true;
}

bool conv2d_backprop_input(const ConvGeom& g, const float* dy, const float* f, float* dx) {
  const long KK = kk_size(g), R = rows_per_image(g);
  const size_t dx_size = static_cast<size_t>(g.batch) * g.in_h * g.in_w * g.in_c;
  Epilogue lin;
  if (is_pointwise(g)) return sgemm(g.batch * R, g.in_c, g.out_c, dy, g.out_c, false, f, g.out_c, true, dx, g.in_c, lin);
  if (g.batch <= 0 || R <= 0 || KK <= 0) {
    std::memset(dx, 0, sizeof(float) * dx_size);
    return true;
  }
  const long imgs = local_images(g);
  if (use_local(g, imgs)) {
    if (!prepare_local(g, imgs, imgs * R, KK, g.out_c)) return false;
    LocalCtx L{&g, imgs, dy, f, dx, &lin};
    parallel_for((g.batch + imgs - 1) / imgs, input_grad_chunk, &L);
    return true;
  }
  std::memset(dx, 0, sizeof(float) * dx_size);
  const long per_chunk = images_per_chunk(g);
  float* col = column_buffer(static_cast<size_t>(std::min(per_chunk, g.batch)) * R * KK);
  if (col == nullptr) return false;
  for (long b0 = 0; b0 < g.batch; b0 += per_chunk) {
    const long nb = std::min(per_chunk, g.batch - b0);
    // dcol[rows, KK] = dy[rows, Co] . F^T  (F is [KK, Co])
    if (!sgemm(nb * R, KK, g.out_c, dy + b0 * R * g.out_c, g.out_c, false, f, g.out_c, true, col, KK, lin)) return false;
    ColCtx C{&g, dx + b0 * g.in_h * g.in_w * g.in_c, col};
    parallel_for(nb, col2im_image, &C);
  }
  return true;
}

bool conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* df, float* db) {
  const long KK = kk_size(g), R = rows_per_image(g), Co = g.out_c;
  Epilogue ep;
  if (Co <= 0) return true;
  if (g.batch <= 0 || R <= 0) {
    if (KK > 0) std::memset(df, 0, sizeof(float) * KK * Co);
    if (db != nullptr) std::memset(db, 0, sizeof(float) * Co);
    return true;
  }
  // The bias gradient of the paths without per-chunk partials: Σ over the pixels of dy.
  const auto bias_sum = [&] {
    if (db != nullptr) sum_middle(dy, db, 1, g.batch * R, Co);
  };
  if (KK <= 0) {
    bias_sum();
    return true;
  }
  // df[KK, Co] = col^T . dy
  if (is_pointwise(g)) {
    bias_sum();
    return sgemm(KK, Co, g.batch * R, x, g.in_c, true, dy, Co, false, df, Co, ep);
  }
  bool ok = true;
  if (direct_filter(g, x, dy, df, db, &ok)) return ok;
  const long imgs = local_images(g);
  if (use_local(g, imgs)) {
    // Per-thread partial gradients of image groups, then summed in a fixed order.
    const long chunks = (g.batch + imgs - 1) / imgs;
    const long stride = KK * Co + (db != nullptr ? Co : 0);
    float* partials = column_buffer(static_cast<size_t>(chunks) * stride);
    if (partials == nullptr || !prepare_local(g, imgs, KK, Co, imgs * R)) return false;
    FilterGradCtx F{&g, imgs, x, dy, partials, stride, db != nullptr};
    parallel_for(chunks, filter_grad_chunk, &F);
    reduce_filter_partials(partials, chunks, KK, Co, stride, df, db);
    return true;
  }
  const long per_chunk = images_per_chunk(g);
  float* col = column_buffer(static_cast<size_t>(std::min(per_chunk, g.batch)) * R * KK);
  if (col == nullptr) return false;
  bias_sum();
  for (long b0 = 0; b0 < g.batch; b0 += per_chunk) {
    const long nb = std::min(per_chunk, g.batch - b0);
    ColCtx C{&g, x + b0 * g.in_h * g.in_w * g.in_c, col};
    parallel_for(nb, im2col_image, &C);
    ep.accumulate = b0 > 0;
    if (!sgemm(KK, Co, nb * R, col, KK, true, dy + b0 * R * Co, Co, false, df, Co, ep)) return false;
  }
  return true;
}

// ------------------------------------------------------------------------------ max pool gradient
namespace {
struct PoolCtx {
  const PoolGeom* g;
  const float* x;
  const float* dy;
  float* dx;
};

constexpr long kPoolChannelBlock = 256;

// The window's first maximum per channel, kept branch-free (the compiler turns the loop over
// channels into vector compares and blends); `cell` indices are int32 within one image.
// DISJOINT: windows that do not overlap (stride >= size, the usual 2x2/2 pooling): every input
// element is in at most one window, so each is written once (gradient or zero), with no scatter,
// and the image is zeroed first only when the windows leave parts of it uncovered. Otherwise the
// image is zeroed and each window's gradient is added at its maximum.
template <bool DISJOINT>
void max_pool_grad_portable(void* ctx, long b, int) {
  const PoolCtx& P = *static_cast<const PoolCtx*>(ctx);
  const PoolGeom& g = *P.g;
  const long C = g.channels, img = g.in_h * g.in_w * C;
  const float* x = P.x + b * img;
  const float* dy = P.dy + b * g.out_h * g.out_w * C;
  float* dx = P.dx + b * img;
  const bool tiles = DISJOINT && g.pad_top == 0 && g.pad_left == 0 && g.stride_h == g.k_h && g.stride_w == g.k_w &&
                     g.out_h * g.k_h == g.in_h && g.out_w * g.k_w == g.in_w;
  if (!tiles) std::memset(dx, 0, sizeof(float) * img);
  float best[kPoolChannelBlock];
  int32_t pos[kPoolChannelBlock];
  for (long oh = 0; oh < g.out_h; oh++) {
    const long r0 = oh * g.stride_h - g.pad_top;
    const long rlo = std::max<long>(0, r0), rhi = std::min(g.in_h, r0 + g.k_h);
    for (long ow = 0; ow < g.out_w; ow++) {
      const long c0 = ow * g.stride_w - g.pad_left;
      const long clo = std::max<long>(0, c0), chi = std::min(g.in_w, c0 + g.k_w);
      const float* gy = dy + (oh * g.out_w + ow) * C;
      for (long k0 = 0; k0 < C; k0 += kPoolChannelBlock) {
        const long kn = std::min(kPoolChannelBlock, C - k0);
        for (long k = 0; k < kn; k++) {
          best[k] = -INFINITY;
          pos[k] = -1;
        }
        for (long r = rlo; r < rhi; r++) {
          for (long c = clo; c < chi; c++) {
            const int32_t cell = static_cast<int32_t>(r * g.in_w + c);
            const float* v = x + cell * C + k0;
            for (long k = 0; k < kn; k++) {
              const bool gt = v[k] > best[k];
              best[k] = gt ? v[k] : best[k];
              pos[k] = gt ? cell : pos[k];
            }
          }
        }
        if (g.relu)
          for (long k = 0; k < kn; k++) pos[k] = best[k] > 0.f ? pos[k] : -1;
        if (DISJOINT) {
          for (long r = rlo; r < rhi; r++) {
            for (long c = clo; c < chi; c++) {
              const int32_t cell = static_cast<int32_t>(r * g.in_w + c);
              float* d = dx + cell * C + k0;
              const float* gk = gy + k0;
              for (long k = 0; k < kn; k++) d[k] = pos[k] == cell ? gk[k] : 0.f;
            }
          }
        } else {
          for (long k = 0; k < kn; k++)
            if (pos[k] >= 0) dx[static_cast<long>(pos[k]) * C + k0 + k] += gy[k0 + k];
        }
      }
    }
  }
}

void max_pool_grad_image_default(void* ctx, long b, int tid) { max_pool_grad_portable<false>(ctx, b, tid); }
void max_pool_grad_disjoint_default(void* ctx, long b, int tid) { max_pool_grad_portable<true>(ctx, b, tid); }
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
// The scalar rule for the channels [from, C) of one window (the vector versions' leftovers):
// the first strict maximum in row-major window order gets the gradient.
template <bool DISJOINT>
inline void max_pool_grad_channels(const PoolGeom& g, const float* x, const float* gy, float* dx, long from, long rlo, long rhi,
                                   long clo, long chi) {
  const long C = g.channels;
  for (long k = from; k < C; k++) {
    float best = -INFINITY;
    long pos = -1;
    for (long r = rlo; r < rhi; r++)
      for (long c = clo; c < chi; c++) {
        const long i = (r * g.in_w + c) * C + k;
        if (x[i] > best) {
          best = x[i];
          pos = i;
        }
      }
    if (g.relu && !(best > 0.f)) pos = -1;
    if (DISJOINT) {
      for (long r = rlo; r < rhi; r++)
        for (long c = clo; c < chi; c++) {
          const long i = (r * g.in_w + c) * C + k;
          dx[i] = i == pos ? gy[k] : 0.f;
        }
    } else if (pos >= 0) {
      dx[pos] += gy[k];
    }
  }
}
#endif
#if defined(__x86_64__) || defined(__i386__)
// One output's window for the vector versions: rows [rlo, rhi) x columns [clo, chi) of the image x
// (its gradient dx), gy the output's gradients.
struct PoolWindow {
  const PoolGeom& g;
  const float* x;
  const float* gy;
  float* dx;
  long rlo, rhi, clo, chi;
};

// Image b's windows, each handed to Channels::run (inlined into the caller's instruction set); the
// image is zeroed first unless its windows tile it.
template <bool DISJOINT, class Channels>
__attribute__((always_inline)) inline void max_pool_grad_windows(void* ctx, long b) {
  const PoolCtx& P = *static_cast<const PoolCtx*>(ctx);
  const PoolGeom& g = *P.g;
  const long C = g.channels, img = g.in_h * g.in_w * C;
  const float* x = P.x + b * img;
  const float* dy = P.dy + b * g.out_h * g.out_w * C;
  float* dx = P.dx + b * img;
  const bool tiles = DISJOINT && g.pad_top == 0 && g.pad_left == 0 && g.stride_h == g.k_h && g.stride_w == g.k_w &&
                     g.out_h * g.k_h == g.in_h && g.out_w * g.k_w == g.in_w;
  if (!tiles) std::memset(dx, 0, sizeof(float) * img);
  for (long oh = 0; oh < g.out_h; oh++) {
    const long r0 = oh * g.stride_h - g.pad_top;
    const long rlo = std::max<long>(0, r0), rhi = std::min(g.in_h, r0 + g.k_h);
    for (long ow = 0; ow < g.out_w; ow++) {
      const long c0 = ow * g.stride_w - g.pad_left;
      const long clo = std::max<long>(0, c0), chi = std::min(g.in_w, c0 + g.k_w);
      Channels::template run<DISJOINT>(PoolWindow{g, x, dy + (oh * g.out_w + ow) * C, dx, rlo, rhi, clo, chi});
    }
  }
}

// AVX2: 8 channels per step in registers (the compiler's if-converted version used masked
// stores, which are very slow on AMD). Leftover channels use the scalar rule.
struct PoolChannelsAvx2 {
  template <bool DISJOINT>
  __attribute__((target("avx2"))) static inline void run(const PoolWindow& w) {
    const PoolGeom& g = w.g;
    const long C = g.channels, C8 = C / 8 * 8;
    for (long k = 0; k < C8; k += 8) {
      __m256 best = _mm256_set1_ps(-INFINITY);
      __m256i pos = _mm256_set1_epi32(-1);
      for (long r = w.rlo; r < w.rhi; r++) {
        for (long c = w.clo; c < w.chi; c++) {
          const int32_t cell = static_cast<int32_t>(r * g.in_w + c);
          const __m256 v = _mm256_loadu_ps(w.x + cell * C + k);
          const __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
          best = _mm256_blendv_ps(best, v, gt);
          pos = _mm256_blendv_epi8(pos, _mm256_set1_epi32(cell), _mm256_castps_si256(gt));
        }
      }
      const __m256 grad = _mm256_loadu_ps(w.gy + k);
      if (g.relu)
        pos = _mm256_blendv_epi8(_mm256_set1_epi32(-1), pos, _mm256_castps_si256(_mm256_cmp_ps(best, _mm256_setzero_ps(), _CMP_GT_OQ)));
      if (DISJOINT) {
        for (long r = w.rlo; r < w.rhi; r++) {
          for (long c = w.clo; c < w.chi; c++) {
            const int32_t cell = static_cast<int32_t>(r * g.in_w + c);
            const __m256 hit = _mm256_castsi256_ps(_mm256_cmpeq_epi32(pos, _mm256_set1_epi32(cell)));
            _mm256_storeu_ps(w.dx + cell * C + k, _mm256_and_ps(hit, grad));
          }
        }
      } else {
        alignas(32) int32_t where[8];
        alignas(32) float gv[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(where), pos);
        _mm256_store_ps(gv, grad);
        for (int j = 0; j < 8; j++)
          if (where[j] >= 0) w.dx[static_cast<long>(where[j]) * C + k + j] += gv[j];
      }
    }
    max_pool_grad_channels<DISJOINT>(g, w.x, w.gy, w.dx, C8, w.rlo, w.rhi, w.clo, w.chi);
  }
};

// AVX-512: 16 channels per step, the last partial group under a mask (few channels, e.g. a first
// conv layer's 10 filters, never take the scalar rule). The same rule as the AVX2 version.
struct PoolChannelsAvx512 {
  template <bool DISJOINT>
  __attribute__((target("avx512f"))) static inline void run(const PoolWindow& w) {
    const PoolGeom& g = w.g;
    const long C = g.channels;
    for (long k = 0; k < C; k += 16) {
      const __mmask16 m = static_cast<__mmask16>(C - k >= 16 ? 0xFFFF : (1u << (C - k)) - 1u);
      __m512 best = _mm512_set1_ps(-INFINITY);
      __m512i pos = _mm512_set1_epi32(-1);
      for (long r = w.rlo; r < w.rhi; r++) {
        for (long c = w.clo; c < w.chi; c++) {
          const int32_t cell = static_cast<int32_t>(r * g.in_w + c);
          const __m512 v = _mm512_maskz_loadu_ps(m, w.x + cell * C + k);
          const __mmask16 gt = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
          best = _mm512_mask_blend_ps(gt, best, v);
          pos = _mm512_mask_blend_epi32(gt, pos, _mm512_set1_epi32(cell));
        }
      }
      const __m512 grad = _mm512_maskz_loadu_ps(m, w.gy + k);
      if (g.relu) pos = _mm512_mask_blend_epi32(_mm512_cmp_ps_mask(best, _mm512_setzero_ps(), _CMP_GT_OQ), _mm512_set1_epi32(-1), pos);
      if (DISJOINT) {
        for (long r = w.rlo; r < w.rhi; r++) {
          for (long c = w.clo; c < w.chi; c++) {
            const int32_t cell = static_cast<int32_t>(r * g.in_w + c);
            const __mmask16 hit = _mm512_cmpeq_epi32_mask(pos, _mm512_set1_epi32(cell));
            _mm512_mask_storeu_ps(w.dx + cell * C + k, m, _mm512_maskz_mov_ps(hit, grad));
          }
        }
      } else {
        alignas(64) int32_t where[16];
        alignas(64) float gv[16];
        _mm512_store_si512(where, pos);
        _mm512_store_ps(gv, grad);
        const long lanes = std::min<long>(16, C - k);
        for (long j = 0; j < lanes; j++)
          if (where[j] >= 0) w.dx[static_cast<long>(where[j]) * C + k + j] += gv[j];
      }
    }
  }
};

template <bool DISJOINT>
__attribute__((target("avx2"))) void max_pool_grad_avx2(void* ctx, long b, int) {
  max_pool_grad_windows<DISJOINT, PoolChannelsAvx2>(ctx, b);
}
template <bool DISJOINT>
__attribute__((target("avx512f"))) void max_pool_grad_avx512(void* ctx, long b, int) {
  max_pool_grad_windows<DISJOINT, PoolChannelsAvx512>(ctx, b);
}
void max_pool_grad_image_avx512(void* ctx, long b, int tid) { max_pool_grad_avx512<false>(ctx, b, tid); }
void max_pool_grad_disjoint_avx512(void* ctx, long b, int tid) { max_pool_grad_avx512<true>(ctx, b, tid); }
void max_pool_grad_image_avx2(void* ctx, long b, int tid) { max_pool_grad_avx2<false>(ctx, b, tid); }
void max_pool_grad_disjoint_avx2(void* ctx, long b, int tid) { max_pool_grad_avx2<true>(ctx, b, tid); }
#endif
#if defined(__aarch64__)
// NEON: 4 channels per step in registers, the same rule as the AVX2 version (first strict
// maximum in row-major window order); leftover channels use the scalar rule.
template <bool DISJOINT>
void max_pool_grad_neon(void* ctx, long b, int) {
  const PoolCtx& P = *static_cast<const PoolCtx*>(ctx);
  const PoolGeom& g = *P.g;
  const long C = g.channels, img = g.in_h * g.in_w * C;
  const float* x = P.x + b * img;
  const float* dy = P.dy + b * g.out_h * g.out_w * C;
  float* dx = P.dx + b * img;
  const bool tiles = DISJOINT && g.pad_top == 0 && g.pad_left == 0 && g.stride_h == g.k_h && g.stride_w == g.k_w &&
                     g.out_h * g.k_h == g.in_h && g.out_w * g.k_w == g.in_w;
  if (!tiles) std::memset(dx, 0, sizeof(float) * img);
  const long C4 = C / 4 * 4;
  for (long oh = 0; oh < g.out_h; oh++) {
    const long r0 = oh * g.stride_h - g.pad_top;
    const long rlo = std::max<long>(0, r0), rhi = std::min(g.in_h, r0 + g.k_h);
    for (long ow = 0; ow < g.out_w; ow++) {
      const long c0 = ow * g.stride_w - g.pad_left;
      const long clo = std::max<long>(0, c0), chi = std::min(g.in_w, c0 + g.k_w);
      const float* gy = dy + (oh * g.out_w + ow) * C;
      for (long k = 0; k < C4; k += 4) {
        float32x4_t best = vdupq_n_f32(-INFINITY);
        int32x4_t pos = vdupq_n_s32(-1);
        for (long r = rlo; r < rhi; r++) {
          for (long c = clo; c < chi; c++) {
            const int32_t cell = static_cast<int32_t>(r * g.in_w + c);
            const float32x4_t v = vld1q_f32(x + cell * C + k);
            const uint32x4_t gt = vcgtq_f32(v, best);  // false for NaN, as `>`
            best = vbslq_f32(gt, v, best);
            pos = vbslq_s32(gt, vdupq_n_s32(cell), pos);
          }
        }
        const float32x4_t grad = vld1q_f32(gy + k);
        if (g.relu) pos = vbslq_s32(vcgtq_f32(best, vdupq_n_f32(0.f)), pos, vdupq_n_s32(-1));
        if (DISJOINT) {
          for (long r = rlo; r < rhi; r++) {
            for (long c = clo; c < chi; c++) {
              const int32_t cell = static_cast<int32_t>(r * g.in_w + c);
              const uint32x4_t hit = vceqq_s32(pos, vdupq_n_s32(cell));
              vst1q_f32(dx + cell * C + k, vreinterpretq_f32_u32(vandq_u32(hit, vreinterpretq_u32_f32(grad))));
            }
          }
        } else {
          int32_t where[4];
          float gv[4];
          vst1q_s32(where, pos);
          vst1q_f32(gv, grad);
          for (int j = 0; j < 4; j++)
            if (where[j] >= 0) dx[static_cast<long>(where[j]) * C + k + j] += gv[j];
        }
      }
      max_pool_grad_channels<DISJOINT>(g, x, gy, dx, C4, rlo, rhi, clo, chi);
    }
  }
}
void max_pool_grad_image_neon(void* ctx, long b, int tid) { max_pool_grad_neon<false>(ctx, b, tid); }
void max_pool_grad_disjoint_neon(void* ctx, long b, int tid) { max_pool_grad_neon<true>(ctx, b, tid); }
#endif
}  // namespace

namespace {
struct PoolFwdCtx {
  const PoolGeom* g;
  const float* x;
  float* y;
};

// Image b's output pixels, each handed to Channels::run with its window (rows [rlo, rhi) x
// columns [clo, chi)) and its output y.
template <class Channels>
__attribute__((always_inline)) inline void max_pool_windows(void* ctx, long b) {
  const PoolFwdCtx& P = *static_cast<const PoolFwdCtx*>(ctx);
  const PoolGeom& g = *P.g;
  const long C = g.channels;
  const float* x = P.x + b * g.in_h * g.in_w * C;
  float* y = P.y + b * g.out_h * g.out_w * C;
  for (long oh = 0; oh < g.out_h; oh++) {
    const long r0 = oh * g.stride_h - g.pad_top;
    const long rlo = std::max<long>(0, r0), rhi = std::min(g.in_h, r0 + g.k_h);
    for (long ow = 0; ow < g.out_w; ow++, y += C) {
      const long c0 = ow * g.stride_w - g.pad_left;
      Channels::run(g, x, y, rlo, rhi, std::max<long>(0, c0), std::min(g.in_w, c0 + g.k_w));
    }
  }
}

// The loop over channels is a vector max (v > best ? v : best is maxps).
struct PoolMaxPortable {
  static inline void run(const PoolGeom& g, const float* __restrict x, float* __restrict y, long rlo, long rhi, long clo, long chi) {
    const long C = g.channels;
    for (long k = 0; k < C; k++) y[k] = -INFINITY;
    for (long r = rlo; r < rhi; r++)
      for (long c = clo; c < chi; c++) {
        const float* __restrict v = x + (r * g.in_w + c) * C;
        for (long k = 0; k < C; k++) y[k] = v[k] > y[k] ? v[k] : y[k];
      }
  }
};
void max_pool_image(void* ctx, long b, int) { max_pool_windows<PoolMaxPortable>(ctx, b); }

#if defined(__x86_64__) || defined(__i386__)
// The same with 16 channels per step, the last partial group under a mask (vmaxps keeps the
// running maximum when the new value is not larger, NaN included: the portable rule).
struct PoolMaxAvx512 {
  __attribute__((target("avx512f"))) static inline void run(const PoolGeom& g, const float* x, float* y, long rlo, long rhi, long clo, long chi) {
    const long C = g.channels;
    for (long k = 0; k < C; k += 16) {
      const __mmask16 m = static_cast<__mmask16>(C - k >= 16 ? 0xFFFF : (1u << (C - k)) - 1u);
      __m512 best = _mm512_set1_ps(-INFINITY);
      for (long r = rlo; r < rhi; r++)
        for (long c = clo; c < chi; c++) best = _mm512_max_ps(_mm512_maskz_loadu_ps(m, x + (r * g.in_w + c) * C + k), best);
      _mm512_mask_storeu_ps(y + k, m, best);
    }
  }
};
__attribute__((target("avx512f"))) void max_pool_image_avx512(void* ctx, long b, int) { max_pool_windows<PoolMaxAvx512>(ctx, b); }
#endif
}  // namespace

void max_pool(const PoolGeom& g, const float* x, float* y) {
  if (g.batch <= 0 || g.out_h * g.out_w * g.channels <= 0) return;
  PoolFwdCtx P{&g, x, y};
  const long work = g.batch * g.in_h * g.in_w * g.channels;
  ChunkFn fn = max_pool_image;
#if defined(__x86_64__) || defined(__i386__)
  if (current_isa() >= ISA_AVX512) fn = max_pool_image_avx512;
#endif
  parallel_for(g.batch, fn, &P, work < (1 << 15) ? 1 : 0);
}

void max_pool_grad(const PoolGeom& g, const float* x, const float* dy, float* dx) {
  if (g.batch <= 0 || g.in_h * g.in_w * g.channels <= 0) return;
  if (g.in_h * g.in_w >= (1L << 31)) {  // cell indices are int32; the addon refuses such images
    std::memset(dx, 0, sizeof(float) * g.batch * g.in_h * g.in_w * g.channels);
    return;
  }
  PoolCtx P{&g, x, dy, dx};
  const long work = g.batch * g.in_h * g.in_w * g.channels;
  const bool disjoint = g.stride_h >= g.k_h && g.stride_w >= g.k_w;
  ChunkFn fn = disjoint ? max_pool_grad_disjoint_default : max_pool_grad_image_default;
#if defined(__x86_64__) || defined(__i386__)
  if (current_isa() >= ISA_AVX2) fn = disjoint ? max_pool_grad_disjoint_avx2 : max_pool_grad_image_avx2;
  if (current_isa() >= ISA_AVX512) fn = disjoint ? max_pool_grad_disjoint_avx512 : max_pool_grad_image_avx512;
#endif
#if defined(__aarch64__)
  if (current_isa() == ISA_NEON) fn = disjoint ? max_pool_grad_disjoint_neon : max_pool_grad_image_neon;
#endif
  parallel_for(g.batch, fn, &P, work < (1 << 15) ? 1 : 0);
}

}  // namespace mlk
