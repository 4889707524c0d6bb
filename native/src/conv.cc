// conv2d (NHWC input, HWIO filter) forward and both backprops as im2col/col2im around the
// GEMM. A 1x1, stride-1, unpadded conv needs no columns: the input already is the matrix.
// Columns are built for a chunk of whole images at a time (bounded memory).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

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

// Output columns [lo, hi) whose input column ow*stride - pad + kw*dil lies inside [0, in_w).
inline void valid_cols(const ConvGeom& g, long kw, long* lo, long* hi) {
  const long off = kw * g.dil_w - g.pad_left;  // iw = ow*stride + off
  long l = off >= 0 ? 0 : (-off + g.stride_w - 1) / g.stride_w;
  long h = g.in_w - off <= 0 ? 0 : (g.in_w - off - 1) / g.stride_w + 1;
  if (l > g.out_w) l = g.out_w;
  if (h > g.out_w) h = g.out_w;
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

template <bool SMALL_C>
inline void copy_c(float* d, const float* s, long c) {
  if (SMALL_C) {
    for (long i = 0; i < c; i++) d[i] = s[i];
  } else {
    std::memcpy(d, s, sizeof(float) * c);
  }
}

template <bool SMALL_C>
inline void zero_c(float* d, long c) {
  if (SMALL_C) {
    for (long i = 0; i < c; i++) d[i] = 0.f;
  } else {
    std::memset(d, 0, sizeof(float) * c);
  }
}

// Columns of one image (chunk = image index relative to b0): for every (kh, kw) the valid
// output columns form one range, copied with fixed strides (no per-element bounds tests).
template <bool SMALL_C>
void im2col_image_t(const ColCtx& C, long img) {
  const ConvGeom& g = *C.g;
  const long KK = kk_size(g), Cin = g.in_c;
  const float* x = C.x + img * g.in_h * g.in_w * Cin;
  float* col = C.col + img * rows_per_image(g) * KK;
  for (long oh = 0; oh < g.out_h; oh++) {
    float* row = col + oh * g.out_w * KK;
    for (long kh = 0; kh < g.k_h; kh++) {
      const long ih = oh * g.stride_h - g.pad_top + kh * g.dil_h;
      const bool inside = ih >= 0 && ih < g.in_h;
      for (long kw = 0; kw < g.k_w; kw++) {
        float* d = row + (kh * g.k_w + kw) * Cin;
        long lo = 0, hi = 0;
        if (inside) valid_cols(g, kw, &lo, &hi);
        long ow = 0;
        for (; ow < lo; ow++) zero_c<SMALL_C>(d + ow * KK, Cin);
        if (hi > lo) {
          const float* s = x + (ih * g.in_w + lo * g.stride_w - g.pad_left + kw * g.dil_w) * Cin;
          const long step = g.stride_w * Cin;
          for (; ow < hi; ow++, s += step) copy_c<SMALL_C>(d + ow * KK, s, Cin);
        }
        for (; ow < g.out_w; ow++) zero_c<SMALL_C>(d + ow * KK, Cin);
      }
    }
  }
}

void im2col_image(void* ctx, long img, int) {
  const ColCtx& C = *static_cast<const ColCtx*>(ctx);
  if (C.g->in_c < 16) im2col_image_t<true>(C, img);
  else im2col_image_t<false>(C, img);
}

// dx of one image += its columns (dx zeroed before), the same ranges as im2col.
void col2im_image(void* ctx, long img, int) {
  const ColCtx& C = *static_cast<const ColCtx*>(ctx);
  const ConvGeom& g = *C.g;
  const long KK = kk_size(g), Cin = g.in_c;
  float* dx = const_cast<float*>(C.x) + img * g.in_h * g.in_w * Cin;
  const float* col = C.col + img * rows_per_image(g) * KK;
  for (long oh = 0; oh < g.out_h; oh++) {
    const float* row = col + oh * g.out_w * KK;
    for (long kh = 0; kh < g.k_h; kh++) {
      const long ih = oh * g.stride_h - g.pad_top + kh * g.dil_h;
      if (ih < 0 || ih >= g.in_h) continue;
      for (long kw = 0; kw < g.k_w; kw++) {
        long lo, hi;
        valid_cols(g, kw, &lo, &hi);
        if (hi <= lo) continue;
        const float* s = row + (kh * g.k_w + kw) * Cin + lo * KK;
        float* d = dx + (ih * g.in_w + lo * g.stride_w - g.pad_left + kw * g.dil_w) * Cin;
        const long step = g.stride_w * Cin;
        for (long ow = lo; ow < hi; ow++, s += KK, d += step)
          for (long ci = 0; ci < Cin; ci++) d[ci] += s[ci];
      }
    }
  }
}

}  // namespace

bool conv2d_forward(const ConvGeom& g, const float* x, const float* f, float* y, const Epilogue& ep) {
  const long KK = kk_size(g), R = rows_per_image(g);
  if (g.batch <= 0 || R <= 0 || g.out_c <= 0) return true;
  if (is_pointwise(g)) return sgemm(g.batch * R, g.out_c, g.in_c, x, g.in_c, false, f, g.out_c, false, y, g.out_c, ep);
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
  std::memset(dx, 0, sizeof(float) * dx_size);
  if (g.batch <= 0 || R <= 0 || KK <= 0) return true;
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

bool conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* df) {
  const long KK = kk_size(g), R = rows_per_image(g);
  Epilogue ep;
  if (KK <= 0 || g.out_c <= 0) return true;
  if (g.batch <= 0 || R <= 0) {
    std::memset(df, 0, sizeof(float) * KK * g.out_c);
    return true;
  }
  // df[KK, Co] = col^T . dy
  if (is_pointwise(g)) return sgemm(KK, g.out_c, g.batch * R, x, g.in_c, true, dy, g.out_c, false, df, g.out_c, ep);
  const long per_chunk = images_per_chunk(g);
  float* col = column_buffer(static_cast<size_t>(std::min(per_chunk, g.batch)) * R * KK);
  if (col == nullptr) return false;
  for (long b0 = 0; b0 < g.batch; b0 += per_chunk) {
    const long nb = std::min(per_chunk, g.batch - b0);
    ColCtx C{&g, x + b0 * g.in_h * g.in_w * g.in_c, col};
    parallel_for(nb, im2col_image, &C);
    ep.accumulate = b0 > 0;
    if (!sgemm(KK, g.out_c, nb * R, col, KK, true, dy + b0 * R * g.out_c, g.out_c, false, df, g.out_c, ep)) return false;
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

void max_pool_grad_image(void* ctx, long b, int) {
  const PoolCtx& P = *static_cast<const PoolCtx*>(ctx);
  const PoolGeom& g = *P.g;
  const long C = g.channels, img = g.in_h * g.in_w * C;
  const float* x = P.x + b * img;
  const float* dy = P.dy + b * g.out_h * g.out_w * C;
  float* dx = P.dx + b * img;
  std::memset(dx, 0, sizeof(float) * img);
  float best[kPoolChannelBlock];
  long pos[kPoolChannelBlock];
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
            const long base = (r * g.in_w + c) * C + k0;
            const float* v = x + base;
            for (long k = 0; k < kn; k++) {
              if (v[k] > best[k]) {
                best[k] = v[k];
                pos[k] = base + k;
              }
            }
          }
        }
        for (long k = 0; k < kn; k++)
          if (pos[k] >= 0) dx[pos[k]] += gy[k0 + k];
      }
    }
  }
}
}  // namespace

void max_pool_grad(const PoolGeom& g, const float* x, const float* dy, float* dx) {
  if (g.batch <= 0 || g.in_h * g.in_w * g.channels <= 0) return;
  PoolCtx P{&g, x, dy, dx};
  const long work = g.batch * g.in_h * g.in_w * g.channels;
  parallel_for(g.batch, max_pool_grad_image, &P, work < (1 << 15) ? 1 : 0);
}

}  // namespace mlk
