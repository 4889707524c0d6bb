// Stand-alone test of the native kernels (no Node): every kernel against a naive double-precision
// reference on random shapes, for every instruction set the CPU has and 1 and 2 threads. Every
// tensor is its own heap block ending at its last element, at a 4-byte (not 16-byte) alignment,
// so AddressSanitizer / valgrind catch any read or write past a tensor. Build and run:
// native/test/run.sh [asan|valgrind|plain|neon] (neon: cross-compiled for arm64, run under qemu-aarch64).
// Each line of the result names the instruction set and the gemm micro-tile that ran, e.g.
// "neon    threads 1 (gemm 8x12): ok"; the first line names the architecture it was built for.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "../src/internal.h"
#include "../src/mlk.h"

using namespace mlk;

static std::mt19937_64 rng(12345);
static int failures = 0;
static double worst_err = 0;

static long rnd(long lo, long hi) { return lo + static_cast<long>(rng() % static_cast<uint64_t>(hi - lo + 1)); }
static float rndf() { return std::uniform_real_distribution<float>(-1.f, 1.f)(rng); }

// One exactly-sized heap block per tensor, so AddressSanitizer / valgrind catch a 1-element overrun.
// The data starts one float into the block: 4-byte aligned but never 16-byte aligned, like
// tensors on the wasm heap; the block ends exactly at the last element.
struct Tensor {
  float* raw;
  float* p;
  size_t n;
  explicit Tensor(size_t n_, bool fill = true) : raw(new float[n_ + 1]), p(raw + 1), n(n_) {
    if (fill)
      for (size_t i = 0; i < n; i++) p[i] = rndf();
  }
  ~Tensor() { delete[] raw; }
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;
};

static double act_ref(double v, int act, double alpha) {
  switch (act) {
    case ACT_RELU:
      return v < 0 ? 0 : v;
    case ACT_RELU6:
      return v < 0 ? 0 : (v > 6 ? 6 : v);
    case ACT_LEAKYRELU:
      return v < 0 ? v * alpha : v;
    case ACT_ELU:
      return v >= 0 ? v : std::exp(v) - 1;
    case ACT_SIGMOID:
      return 1 / (1 + std::exp(-v));
    default:
      return v;
  }
}

// max |got - want| / max(|want|, rms(want))
static double rel_err(const float* got, const std::vector<double>& want) {
  double ss = 0;
  for (double w : want) ss += w * w;
  double rms = want.empty() ? 1 : std::sqrt(ss / want.size());
  if (rms == 0) rms = 1e-12;
  double worst = 0;
  for (size_t i = 0; i < want.size(); i++) {
    double e = std::fabs(got[i] - want[i]) / std::max(std::fabs(want[i]), rms);
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

static void check(double err, const char* what, long a, long b, long c, long d) {
  if (err > worst_err) worst_err = err;
  if (!(err <= 1e-4)) {
    failures++;
    std::printf("FAIL %s (%ld %ld %ld %ld): rel err %g\n", what, a, b, c, d, err);
  }
}

static void test_gemm(int cases) {
  for (int t = 0; t < cases; t++) {
    long m = rnd(0, 3) == 0 ? rnd(0, 3) : rnd(1, 140), n = rnd(0, 3) == 0 ? rnd(0, 3) : rnd(1, 140);
    long k = rnd(0, 5) == 0 ? rnd(0, 2) : rnd(1, 600);
    if (t % 17 == 0) { m = rnd(200, 900); n = rnd(1, 300); k = rnd(100, 900); }
    const long batch = rnd(0, 4) == 0 ? rnd(2, 4) : 1;
    const bool ta = rng() & 1, tb = rng() & 1;
    const int act = static_cast<int>(rnd(0, 5));
    const int bias_kind = static_cast<int>(rnd(0, 3));  // 0 none, 1 per column, 2 scalar, 3 [m, n]
    const float alpha = 0.2f;
    Tensor A(batch * m * k), B(batch * k * n), C(batch * m * n, false);
    const size_t nbias = bias_kind == 0 ? 0 : bias_kind == 1 ? n : bias_kind == 2 ? 1 : m * n;
    Tensor bias(nbias);
    Epilogue ep;
    ep.act = act;
    ep.alpha = alpha;
    if (bias_kind != 0) {
      ep.bias = bias.p;
      ep.bias_col_stride = bias_kind == 2 ? 0 : 1;
      ep.bias_row_stride = bias_kind == 3 ? n : 0;
    }
    std::vector<long> aoff(batch), boff(batch);
    for (long i = 0; i < batch; i++) {
      aoff[i] = i * m * k;
      boff[i] = i * k * n;
    }
    if (!sgemm_batched(batch, m, n, k, A.p, aoff.data(), ta ? m : k, ta, B.p, boff.data(), tb ? k : n, tb, C.p, m * n, n,
                       ep, nullptr)) {
      failures++;
      std::printf("FAIL gemm returned false\n");
      continue;
    }
    std::vector<double> want(batch * m * n);
    for (long bt = 0; bt < batch; bt++)
      for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
          double s = 0;
          for (long p = 0; p < k; p++) {
            double av = ta ? A.p[aoff[bt] + p * m + i] : A.p[aoff[bt] + i * k + p];
            double bv = tb ? B.p[boff[bt] + j * k + p] : B.p[boff[bt] + p * n + j];
            s += av * bv;
          }
          if (bias_kind == 1) s += bias.p[j];
          if (bias_kind == 2) s += bias.p[0];
          if (bias_kind == 3) s += bias.p[i * n + j];
          want[(bt * m + i) * n + j] = act_ref(s, act, alpha);
        }
    check(rel_err(C.p, want), "gemm", m, n, k, ta * 2 + tb);
  }
  // accumulate mode
  for (int t = 0; t < cases / 4; t++) {
    long m = rnd(1, 70), n = rnd(1, 70), k = rnd(0, 300);
    Tensor A(m * k), B(k * n), C(m * n);
    std::vector<double> want(m * n);
    for (long i = 0; i < m; i++)
      for (long j = 0; j < n; j++) {
        double s = C.p[i * n + j];
        for (long p = 0; p < k; p++) s += static_cast<double>(A.p[i * k + p]) * B.p[p * n + j];
        want[i * n + j] = s;
      }
    Epilogue ep;
    ep.accumulate = true;
    sgemm(m, n, k, A.p, k, false, B.p, n, false, C.p, n, ep);
    check(rel_err(C.p, want), "gemm accumulate", m, n, k, 0);
  }
}

static void test_sum(int cases) {
  for (int t = 0; t < cases; t++) {
    long outer = rnd(0, 4) == 0 ? rnd(0, 2) : rnd(1, 50), red = rnd(0, 4) == 0 ? rnd(0, 2) : rnd(1, 300),
         inner = rnd(0, 4) == 0 ? 1 : rnd(1, 1500);
    if (t % 13 == 0) { outer = 1; red = rnd(500, 3000); inner = rnd(100, 600); }
    Tensor x(outer * red * inner), out(outer * inner, false);
    sum_middle(x.p, out.p, outer, red, inner);
    std::vector<double> want(outer * inner, 0.0);
    for (long o = 0; o < outer; o++)
      for (long r = 0; r < red; r++)
        for (long i = 0; i < inner; i++) want[o * inner + i] += x.p[(o * red + r) * inner + i];
    check(rel_err(out.p, want), "sum", outer, red, inner, 0);
  }
}

static void test_adam(int cases) {
  for (int t = 0; t < cases; t++) {
    const long count = rnd(1, 5);
    std::vector<Tensor*> ts;
    std::vector<AdamSlot> slots;
    std::vector<std::vector<float>> ref_w, ref_m, ref_v;
    for (long s = 0; s < count; s++) {
      long n = rnd(0, 3) == 0 ? rnd(0, 5) : rnd(1, 70000);
      Tensor *w = new Tensor(n), *g = new Tensor(n), *m = new Tensor(n), *v = new Tensor(n);
      for (long i = 0; i < n; i++) v->p[i] = std::fabs(v->p[i]);
      ts.insert(ts.end(), {w, g, m, v});
      slots.push_back(AdamSlot{w->p, g->p, m->p, v->p, n});
      ref_w.emplace_back(w->p, w->p + n);
      ref_m.emplace_back(m->p, m->p + n);
      ref_v.emplace_back(v->p, v->p + n);
    }
    AdamParams p{0.9f, 0.1f, 0.999f, 0.001f, 0.271f, 0.00299f, 1e-7f, -1e-3f};
    adam(slots.data(), count, p);
    long bad = 0;
    for (long s = 0; s < count; s++) {
      const AdamSlot& S = slots[s];
      for (long i = 0; i < S.n; i++) {
        // The same float32 operations one by one (volatile: no contraction, no reassociation).
        volatile float g = S.grad[i];
        volatile float t1 = ref_m[s][i] * p.beta1;
        volatile float t2 = g * p.one_minus_beta1;
        volatile float m1 = t1 + t2;
        volatile float gg = g * g;
        volatile float t3 = ref_v[s][i] * p.beta2;
        volatile float t4 = gg * p.one_minus_beta2;
        volatile float v1 = t3 + t4;
        volatile float mh = m1 / p.one_minus_acc_beta1;
        volatile float vh = v1 / p.one_minus_acc_beta2;
        volatile float sq = std::sqrt(static_cast<float>(vh));
        volatile float den = sq + p.epsilon;
        volatile float q = mh / den;
        volatile float st = q * p.neg_lr;
        volatile float w1 = st + ref_w[s][i];
        if (std::memcmp(const_cast<float*>(&w1), &S.var[i], 4) != 0 || std::memcmp(const_cast<float*>(&m1), &S.m[i], 4) != 0 ||
            std::memcmp(const_cast<float*>(&v1), &S.v[i], 4) != 0)
          bad++;
      }
    }
    if (bad) {
      failures++;
      std::printf("FAIL adam: %ld elements differ\n", bad);
    }
    for (Tensor* x : ts) delete x;
  }
}

// One conv geometry: forward (bias, relu), both gradients against the double reference. With
// `against_columns`, the forward pass must also equal the im2col path's bit for bit (the direct
// first-layer kernels keep the GEMM micro-kernel's multiply-add order).
static void check_conv(const ConvGeom& g, bool against_columns) {
  const long nx = g.batch * g.in_h * g.in_w * g.in_c, nf = g.k_h * g.k_w * g.in_c * g.out_c,
             ny = g.batch * g.out_h * g.out_w * g.out_c;
  Tensor x(nx), f(nf), dy(ny), y(ny, false), dx(nx, false), df(nf, false), bias(g.out_c), df2(nf, false), db(g.out_c, false);
  Epilogue ep;
  ep.bias = bias.p;
  ep.act = ACT_RELU;
  conv2d_forward(g, x.p, f.p, y.p, ep);
  conv2d_backprop_input(g, dy.p, f.p, dx.p);
  conv2d_backprop_filter(g, x.p, dy.p, df.p);
  // With the bias gradient in the same pass: the same filter gradient, bit for bit.
  conv2d_backprop_filter(g, x.p, dy.p, df2.p, db.p);
  if (nf > 0 && std::memcmp(df.p, df2.p, sizeof(float) * nf) != 0) {
    failures++;
    std::printf("FAIL conv backprop filter with bias (%ld %ld %ld %ld): another filter gradient\n", g.batch, g.in_h, g.in_c, g.out_c);
  }
  std::vector<double> wy(ny, 0.0), wdx(nx, 0.0), wdf(nf, 0.0), wdb(g.out_c, 0.0);
  for (long i = 0; i < ny; i++) wdb[i % g.out_c] += dy.p[i];
  for (long b = 0; b < g.batch; b++)
    for (long oh = 0; oh < g.out_h; oh++)
      for (long ow = 0; ow < g.out_w; ow++)
        for (long co = 0; co < g.out_c; co++) {
          double s = 0;
          const long yi = ((b * g.out_h + oh) * g.out_w + ow) * g.out_c + co;
          for (long kh = 0; kh < g.k_h; kh++)
            for (long kw = 0; kw < g.k_w; kw++) {
              long ih = oh * g.stride_h - g.pad_top + kh * g.dil_h, iw = ow * g.stride_w - g.pad_left + kw * g.dil_w;
              if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) continue;
              for (long ci = 0; ci < g.in_c; ci++) {
                const long xi = ((b * g.in_h + ih) * g.in_w + iw) * g.in_c + ci;
                const long fi = ((kh * g.k_w + kw) * g.in_c + ci) * g.out_c + co;
                s += static_cast<double>(x.p[xi]) * f.p[fi];
                wdx[xi] += static_cast<double>(dy.p[yi]) * f.p[fi];
                wdf[fi] += static_cast<double>(dy.p[yi]) * x.p[xi];
              }
            }
          wy[yi] = act_ref(s + bias.p[co], ACT_RELU, 0);
        }
  check(rel_err(y.p, wy), "conv forward", g.batch, g.in_h, g.k_h, g.stride_h);
  check(rel_err(dx.p, wdx), "conv backprop input", g.batch, g.in_h, g.k_h, g.stride_h);
  check(rel_err(df.p, wdf), "conv backprop filter", g.batch, g.in_h, g.k_h, g.stride_h);
  check(rel_err(db.p, wdb), "conv bias gradient", g.batch, g.in_h, g.k_h, g.stride_h);
  if (against_columns) {
    Tensor y2(ny, false);
    setenv("MLK_NODIRECTCONV", "1", 1);
    conv2d_forward(g, x.p, f.p, y2.p, ep);
    unsetenv("MLK_NODIRECTCONV");
    if (ny > 0 && std::memcmp(y.p, y2.p, sizeof(float) * ny) != 0) {
      failures++;
      std::printf("FAIL conv forward, direct vs columns (%ld %ld %ld %ld): not bit-identical\n", g.batch, g.in_h, g.in_c, g.out_c);
    }
  }
}

static void test_conv(int cases) {
  for (int t = 0; t < cases; t++) {
    ConvGeom g;
    g.batch = rnd(0, 6) == 0 ? 0 : (t % 4 == 1 ? rnd(6, 40) : rnd(1, 3));  // larger batches: per-thread image groups
    g.in_h = rnd(1, 12);
    g.in_w = rnd(1, 12);
    g.in_c = rnd(1, 9);
    g.out_c = rnd(1, 9);
    g.k_h = rnd(1, 4);
    g.k_w = rnd(1, 4);
    g.stride_h = rnd(1, 3);
    g.stride_w = rnd(1, 3);
    g.dil_h = rnd(1, 2);
    g.dil_w = rnd(1, 2);
    if (t % 5 == 0) { g.k_h = g.k_w = 1; g.stride_h = g.stride_w = 1; }
    const bool same = rng() & 1;
    const long ekh = (g.k_h - 1) * g.dil_h + 1, ekw = (g.k_w - 1) * g.dil_w + 1;
    if (same) {
      g.out_h = (g.in_h + g.stride_h - 1) / g.stride_h;
      g.out_w = (g.in_w + g.stride_w - 1) / g.stride_w;
      g.pad_top = std::max<long>(0, ((g.out_h - 1) * g.stride_h + ekh - g.in_h)) / 2;
      g.pad_left = std::max<long>(0, ((g.out_w - 1) * g.stride_w + ekw - g.in_w)) / 2;
    } else {
      if (ekh > g.in_h || ekw > g.in_w) { g.k_h = g.k_w = 1; g.dil_h = g.dil_w = 1; }
      g.out_h = (g.in_h - ((g.k_h - 1) * g.dil_h + 1)) / g.stride_h + 1;
      g.out_w = (g.in_w - ((g.k_w - 1) * g.dil_w + 1)) / g.stride_w + 1;
      g.pad_top = g.pad_left = 0;
    }
    check_conv(g, false);
  }
}

// The direct first-layer kernels' geometries (1 or 3 channels, 3x3 / 5x5, stride 1, <= 16
// filters, rows of >= 12 pixels), valid and same padding, batches across several image groups.
static void test_conv_direct(int cases) {
  for (int t = 0; t < cases; t++) {
    ConvGeom g;
    g.in_c = t % 3 == 2 ? 3 : 1;
    g.k_h = g.k_w = g.in_c == 3 || (rng() & 1) ? 3 : 5;
    // Enough images for several groups per thread (the direct path's condition), sometimes fewer.
    g.batch = t % 5 == 4 ? rnd(1, 6) : rnd(12, 40);
    g.in_h = rnd(g.k_h, 30);
    g.in_w = rnd(16, 30);
    g.out_c = rnd(1, 16);
    g.stride_h = g.stride_w = g.dil_h = g.dil_w = 1;
    const int pad = t % 4;
    if (pad == 3) {
      // Any padding, cropping included, and any output size (the binding accepts them): windows
      // outside the image read zeros.
      g.pad_top = rnd(-2, 3);
      g.pad_left = rnd(-2, 3);
      g.out_h = rnd(1, g.in_h + 4);
      g.out_w = rnd(12, g.in_w + 4);
    } else if (pad == 1) {
      g.out_h = g.in_h;
      g.out_w = g.in_w;
      g.pad_top = (g.k_h - 1) / 2;
      g.pad_left = (g.k_w - 1) / 2;
    } else {
      g.out_h = g.in_h - g.k_h + 1;
      g.out_w = g.in_w - g.k_w + 1;
      g.pad_top = g.pad_left = 0;
    }
    check_conv(g, true);
  }
}

static void test_max_pool_grad(int cases) {
  for (int t = 0; t < cases; t++) {
    PoolGeom g;
    g.batch = rnd(0, 5) == 0 ? 0 : rnd(1, 3);
    g.in_h = rnd(1, 12);
    g.in_w = rnd(1, 12);
    g.channels = t % 9 == 0 ? rnd(250, 300) : rnd(1, 9);
    g.k_h = rnd(1, std::min<long>(3, g.in_h));
    g.k_w = rnd(1, std::min<long>(3, g.in_w));
    g.stride_h = rnd(1, 3);
    g.stride_w = rnd(1, 3);
    g.pad_top = rnd(0, g.k_h - 1);
    g.pad_left = rnd(0, g.k_w - 1);
    g.out_h = (g.in_h + 2 * g.pad_top - g.k_h) / g.stride_h + 1;
    g.out_w = (g.in_w + 2 * g.pad_left - g.k_w) / g.stride_w + 1;
    const long nx = g.batch * g.in_h * g.in_w * g.channels, ny = g.batch * g.out_h * g.out_w * g.channels;
    Tensor x(nx), dy(ny), dx(nx, false);
    // Ties and all-negative windows: values on a coarse grid, mostly negative.
    for (long i = 0; i < nx; i++) x.p[i] = std::round(x.p[i] * 3) - 1;
    // Every other case: relu's gradient too, on relu's output (windows of zeros pass nothing).
    g.relu = t % 2 == 1;
    if (g.relu)
      for (long i = 0; i < nx; i++) x.p[i] = std::max(0.f, x.p[i]);
    max_pool_grad(g, x.p, dy.p, dx.p);
    Tensor y(ny, false);
    max_pool(g, x.p, y.p);
    std::vector<double> want(nx, 0.0), want_y(ny, 0.0);
    for (long b = 0; b < g.batch; b++)
      for (long oh = 0; oh < g.out_h; oh++)
        for (long ow = 0; ow < g.out_w; ow++)
          for (long c = 0; c < g.channels; c++) {
            float best = -INFINITY;
            long pos = -1;
            for (long r = oh * g.stride_h - g.pad_top; r < oh * g.stride_h - g.pad_top + g.k_h; r++)
              for (long q = ow * g.stride_w - g.pad_left; q < ow * g.stride_w - g.pad_left + g.k_w; q++) {
                if (r < 0 || r >= g.in_h || q < 0 || q >= g.in_w) continue;
                const long i = ((b * g.in_h + r) * g.in_w + q) * g.channels + c;
                if (x.p[i] > best) {
                  best = x.p[i];
                  pos = i;
                }
              }
            if (pos >= 0 && (!g.relu || best > 0)) want[pos] += dy.p[((b * g.out_h + oh) * g.out_w + ow) * g.channels + c];
            want_y[((b * g.out_h + oh) * g.out_w + ow) * g.channels + c] = best;
          }
    check(rel_err(dx.p, want), "max pool grad", g.batch, g.in_h, g.k_h, g.stride_h);
    check(rel_err(y.p, want_y), "max pool", g.batch, g.in_h, g.k_h, g.stride_h);
  }
}

// gram (pair dots over several variables, some gradients missing) and weighted_sum.
static void test_gram(int cases) {
  for (int c = 0; c < cases; c++) {
    const long T = rnd(1, 4), V = rnd(0, 3);
    std::vector<Tensor*> owned;
    std::vector<const float*> ptrs(V * T, nullptr);
    std::vector<GramSlot> slots(V);
    for (long v = 0; v < V; v++) {
      const long n = rnd(0, 3) == 0 ? rnd(0, 9) : rnd(1, 40000);
      for (long t = 0; t < T; t++) {
        if (rnd(0, 5) == 0) continue;  // this head does not reach the variable
        owned.push_back(new Tensor(n));
        ptrs[v * T + t] = owned.back()->p;
      }
      slots[v] = GramSlot{ptrs.data() + v * T, n};
    }
    const long P = T * (T + 1) / 2;
    std::vector<double> out(P, -1.0), want(P, 0.0);
    if (!gram(slots.data(), V, T, out.data())) failures++;
    long p = 0;
    for (long a = 0; a < T; a++)
      for (long b = a; b < T; b++, p++)
        for (long v = 0; v < V; v++)
          if (slots[v].g[a] && slots[v].g[b])
            for (long i = 0; i < slots[v].n; i++) want[p] += static_cast<double>(slots[v].g[a][i]) * slots[v].g[b][i];
    double err = 0;
    for (long q = 0; q < P; q++) err = std::max(err, std::fabs(out[q] - want[q]) / std::max(1.0, std::fabs(want[q])));
    check(err * 1e6, "gram (x1e6)", T, V, 0, 0);
    // weighted sum of the first variable's gradients
    if (V > 0) {
      std::vector<double> w(T);
      for (long t = 0; t < T; t++) w[t] = rnd(0, 3) == 0 ? 0.0 : rndf();
      Tensor o(slots[0].n, false);
      weighted_sum(slots[0].g, w.data(), T, slots[0].n, o.p);
      std::vector<double> ws(slots[0].n, 0.0);
      for (long t = 0; t < T; t++)
        if (slots[0].g[t])
          for (long i = 0; i < slots[0].n; i++) ws[i] += w[t] * slots[0].g[t][i];
      check(rel_err(o.p, ws), "weighted_sum", T, slots[0].n, 0, 0);
    }
    for (Tensor* t : owned) delete t;
  }
}

// layer_grad_norms: both methods (and the automatic choice) against double references, on shapes
// from one row to more rows than inputs, with and without the derivative (plain or as a step) and
// a dropout-like mask; the 1-thread and 2-thread results must be identical.
static void test_layer_grad_norms(int cases) {
  for (int c = 0; c < cases; c++) {
    const long n = rnd(0, 4) == 0 ? rnd(1, 3) : rnd(1, 160), kin = rnd(0, 6) == 0 ? rnd(0, 3) : rnd(1, 200);
    const long k = rnd(0, 6) == 0 ? rnd(0, 3) : rnd(1, 140), T = rnd(1, 5);
    Tensor x(static_cast<size_t>(n * kin));
    for (size_t i = 0; i < x.n; i++)
      if (rnd(0, 2) == 0) x.p[i] = 0.f;  // relu-like zeros
    std::vector<Tensor*> gs;
    std::vector<const float*> gp;
    for (long t = 0; t < T; t++) {
      gs.push_back(new Tensor(static_cast<size_t>(n * k)));
      gp.push_back(gs.back()->p);
    }
    const int dmode = static_cast<int>(rnd(0, 2));  // 0 none, 1 factor, 2 step
    Tensor d(static_cast<size_t>(n * k));
    for (size_t i = 0; i < d.n; i++)
      if (rnd(0, 7) == 0) d.p[i] = 0.f;
    const bool use_mask = rnd(0, 1) == 1;
    Tensor mask(static_cast<size_t>(n * k));
    for (size_t i = 0; i < mask.n; i++) mask.p[i] = rnd(0, 3) == 0 ? 0.f : 1.f / 0.75f;
    LayerNormsArgs a;
    a.n = n;
    a.kin = kin;
    a.k = k;
    a.T = T;
    a.x = x.p;
    a.g = gp.data();
    a.d = dmode == 0 ? nullptr : d.p;
    a.d_step = dmode == 2;
    a.mask = use_mask ? mask.p : nullptr;
    // Reference: delta in float as the kernel defines it, everything else in double.
    std::vector<double> want(2 * T, 0.0);
    for (long t = 0; t < T; t++) {
      std::vector<double> delta(static_cast<size_t>(n * k)), colsum(k, 0.0);
      for (long i = 0; i < n * k; i++) {
        float f = 1.f;
        if (dmode == 1) f = d.p[i];
        if (dmode == 2) f = d.p[i] > 0.f ? 1.f : 0.f;
        if (use_mask) f = dmode == 0 ? mask.p[i] : f * mask.p[i];
        delta[i] = dmode == 0 && !use_mask ? gp[t][i] : gp[t][i] * f;
        colsum[i % k] += delta[i];
      }
      for (long p = 0; p < kin; p++)
        for (long j = 0; j < k; j++) {
          double s = 0.0;
          for (long r = 0; r < n; r++) s += static_cast<double>(x.p[r * kin + p]) * delta[r * k + j];
          want[t] += s * s;
        }
      for (long j = 0; j < k; j++) want[T + t] += colsum[j] * colsum[j];
    }
    double top = 0.0;
    for (double w : want) top = std::max(top, w);
    for (int method = 0; method <= 2; method++) {
      a.method = method;
      std::vector<double> out(2 * T, -1.0), one(2 * T, -2.0);
      if (!layer_grad_norms(a, out.data())) failures++;
      const int threads = num_threads();
      set_num_threads(1);
      if (!layer_grad_norms(a, one.data())) failures++;
      set_num_threads(threads);
      double err = 0.0;
      for (long q = 0; q < 2 * T; q++) {
        err = std::max(err, std::fabs(out[q] - want[q]) / std::max({std::fabs(want[q]), 1e-6 * top, 1e-30}));
        if (out[q] != one[q]) err = 1.0;  // must not depend on the thread count
      }
      // x100: within 1e-6 (float32 products, double sums); a wrong tile is far above that.
      check(err * 100, "layer_grad_norms", n, kin, k, T * 10 + method);
    }
    for (Tensor* t : gs) delete t;
  }
}

// adam_weighted: each gradient formed as weighted_sum would, then the plain step; bit-identical
// to weighted_sum into a buffer followed by adam, for 0..4 terms (0: a zero gradient), weight 1
// alone (the no-sum path), sizes across chunk boundaries.
static void test_adam_weighted(int cases) {
  for (int c = 0; c < cases; c++) {
    const long count = rnd(1, 4);
    std::vector<Tensor*> ts;
    std::vector<AdamWeightedSlot> slots;
    std::vector<AdamSlot> ref;
    std::vector<std::vector<AdamTerm>> terms(count);
    for (long s = 0; s < count; s++) {
      const long n = rnd(0, 3) == 0 ? rnd(0, 5) : rnd(1, 40000);
      const long T = rnd(0, 4);
      Tensor *w = new Tensor(n), *m = new Tensor(n), *v = new Tensor(n);
      Tensor *w2 = new Tensor(n), *m2 = new Tensor(n), *v2 = new Tensor(n), *sum = new Tensor(n);
      for (long i = 0; i < n; i++) {
        v->p[i] = std::fabs(v->p[i]);
        w2->p[i] = w->p[i];
        m2->p[i] = m->p[i];
        v2->p[i] = v->p[i];
      }
      ts.insert(ts.end(), {w, m, v, w2, m2, v2, sum});
      std::vector<const float*> g(T);
      std::vector<double> wt(T);
      for (long t = 0; t < T; t++) {
        Tensor* gt = new Tensor(n);
        ts.push_back(gt);
        g[t] = gt->p;
        wt[t] = T == 1 && rnd(0, 1) == 0 ? 1.0 : static_cast<double>(rndf()) * 3.0;
        terms[s].push_back(AdamTerm{wt[t], gt->p});
      }
      for (long i = 0; i < n; i++) sum->p[i] = 0.f;
      weighted_sum(g.data(), wt.data(), T, n, sum->p);
      slots.push_back(AdamWeightedSlot{w->p, m->p, v->p, n, terms[s].data(), T});
      ref.push_back(AdamSlot{w2->p, sum->p, m2->p, v2->p, n});
    }
    AdamParams p{0.9f, 0.1f, 0.999f, 0.001f, 0.271f, 0.00299f, 1e-7f, -1e-3f};
    adam_weighted(slots.data(), count, p);
    adam(ref.data(), count, p);
    long bad = 0;
    for (long s = 0; s < count; s++)
      if (std::memcmp(slots[s].var, ref[s].var, 4 * slots[s].n) != 0 || std::memcmp(slots[s].m, ref[s].m, 4 * slots[s].n) != 0 ||
          std::memcmp(slots[s].v, ref[s].v, 4 * slots[s].n) != 0)
        bad++;
    if (bad) {
      failures++;
      std::printf("FAIL adam_weighted: %ld of %ld variables differ from weighted_sum + adam\n", bad, count);
    }
    for (Tensor* x : ts) delete x;
  }
}

int main(int argc, char** argv) {
  // kernel_test [scale [gemm cases]]: scale sets the number of cases of every kernel (gemm: scale,
  // unless given on its own: the emulated arm64 run spends its time budget on the gemm).
  const int scale = argc > 1 ? std::atoi(argv[1]) : 100;
  const int gemm_cases = argc > 2 ? std::atoi(argv[2]) : scale;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress survives a sanitizer abort
#if defined(__x86_64__)
  const char* arch = "x86-64";
#elif defined(__aarch64__)
  const char* arch = "aarch64";
#else
  const char* arch = "other";
#endif
  std::printf("arch %s, best instruction set %s\n", arch, isa_name(detect_isa()));
  // Caps (MULTILOSS_NATIVE_ISA): scalar caps everywhere; a set of the other architecture is no cap.
  {
    const Isa best = detect_isa();
#if defined(__aarch64__)
    const bool caps_ok = best == ISA_NEON && set_isa(ISA_SCALAR) == ISA_SCALAR && set_isa(ISA_AVX2) == ISA_NEON &&
                         set_isa(ISA_AVX512) == ISA_NEON && set_isa(ISA_NEON) == ISA_NEON;
#else
    const bool caps_ok = set_isa(ISA_SCALAR) == ISA_SCALAR && set_isa(ISA_NEON) == best && set_isa(ISA_AVX512) == best;
#endif
    std::printf("instruction set caps: %s\n", caps_ok ? "ok" : "FAILED");
    if (!caps_ok) failures++;
  }
  // Every instruction set this CPU has, scalar first (set_isa returns what it could select).
  std::vector<Isa> isas{ISA_SCALAR};
  for (Isa want : {ISA_AVX2, ISA_AVX512, ISA_NEON})
    if (set_isa(want) == want) isas.push_back(want);
  for (Isa isa : isas) {
    for (int threads = 1; threads <= 2; threads++) {
      set_isa(isa);
      set_num_threads(threads);
      const int before = failures;
      test_gemm(gemm_cases);
      test_sum(scale / 2);
      test_adam(scale / 10 + 1);
      test_adam_weighted(scale / 10 + 1);
      test_conv(scale / 2);
      test_conv_direct(scale / 5 + 1);
      test_max_pool_grad(scale / 2);
      test_gram(scale / 4 + 1);
      test_layer_grad_norms(scale / 4 + 1);
      const KernelInfo& ki = kernel_info();
      std::printf("%-7s threads %d (gemm %dx%d): %s\n", isa_name(current_isa()), num_threads(), ki.mr, ki.nr,
                  failures == before && current_isa() == isa ? "ok" : "FAILED");
      if (current_isa() != isa) failures++;
    }
  }
  shutdown_threads();
  std::printf("worst relative error %.3g; %s\n", worst_err, failures ? "FAILED" : "all passed");
  return failures ? 1 : 0;
}
