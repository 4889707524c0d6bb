// Internal declarations shared by the kernel sources.
#pragma once
#include "mlk.h"

namespace mlk {

enum TileFlags : int { TILE_FIRST = 1, TILE_LAST = 2 };

/** Epilogue of one tile: bias already offset to the tile's (row, column) origin. */
struct EpiTile {
  const float* bias = nullptr;
  long bias_cs = 1, bias_rs = 0;
  int act = ACT_LINEAR;
  float alpha = 0.f;
};

/**
 * An MR x NR tile: C[i, j] (+)= sum_p A(i, p) B(p, j) over p < kc, B(p, j) = b[p*bs + j].
 * `fn` reads a packed A panel (A(i, p) = a[p*MR + i]); `direct` reads A in place,
 * A(i, p) = a[i*ars + p*acs], all MR rows (callers pack a partial last panel instead).
 */
typedef void (*MicroKernel)(long kc, const float* a, long ars, long acs, const float* b, long bs, float* c, long ldc,
                            int mr, int nr, int flags, const EpiTile& e);

struct KernelInfo {
  int mr, nr;
  long kc;  // max depth block
  long mc;  // max rows per task block
  MicroKernel fn;
  MicroKernel direct;
};

/** The micro-kernel for the current instruction set and a product n columns wide. */
const KernelInfo& kernel_info(long n = 1 << 30);
void store_tile_scalar(const float* acc, long accs, float* c, long ldc, int mr, int nr, int flags, const EpiTile& e);
/** c = act(bias + (zero_first ? 0 : c)) over an m x n block. */
void epilogue_rows(float* c, long ldc, long m, long n, const Epilogue& ep, bool zero_first);
void pack_a(const float* a, long lda, bool trans_a, long i0, long rows, long p0, long kc, int MR, float* dst);
void pack_b(const float* b, long ldb, bool trans_b, long p0, long kc, long j0, long cols, int NR, float* dst);

/**
 * For products run one per thread (sgemm_local): scratch sizes (floats) one such m x n x k product
 * needs; ensure them with ensure_scratch_a/b before parallel_for.
 */
void sgemm_local_scratch(long m, long n, long k, size_t* need_a, size_t* need_b);
/** One product on the calling thread with thread `tid`'s scratch (inside a parallel_for chunk). */
void sgemm_local(int tid, long m, long n, long k, const float* a, long lda, bool trans_a, const float* b, long ldb,
                 bool trans_b, float* c, long ldc, const Epilogue& ep);

}  // namespace mlk
