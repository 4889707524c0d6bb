// N-API binding of the kernels. Every entry point takes the wasm heap's ArrayBuffer (fetched
// by the caller AFTER its last allocation) and byte offsets into it, and checks every range it
// will touch against the buffer's current length before touching anything: a stale buffer
// (detached by heap growth: length 0) or a bad offset throws a RangeError.
//
// Parameters come in a Float64Array (one N-API call to read them all).
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "mlk.h"

namespace {

using u128 = unsigned __int128;

std::mutex& kernel_mutex() {
  static std::mutex* m = new std::mutex();  // never destroyed (workers may outlive statics)
  return *m;
}

struct Heap {
  uint8_t* data = nullptr;
  size_t len = 0;
};

bool throw_range(napi_env env, const char* msg) {
  napi_throw_range_error(env, "ERR_MULTILOSS_NATIVE_RANGE", msg);
  return false;
}
bool throw_type(napi_env env, const char* msg) {
  napi_throw_type_error(env, "ERR_MULTILOSS_NATIVE_ARG", msg);
  return false;
}

bool get_heap(napi_env env, napi_value v, Heap* h) {
  bool is_ab = false;
  if (napi_is_arraybuffer(env, v, &is_ab) != napi_ok || !is_ab) return throw_type(env, "expected the wasm heap ArrayBuffer");
  void* data = nullptr;
  size_t len = 0;
  if (napi_get_arraybuffer_info(env, v, &data, &len) != napi_ok) return throw_type(env, "cannot read the ArrayBuffer");
  h->data = static_cast<uint8_t*>(data);
  h->len = data == nullptr ? 0 : len;
  return true;
}

bool get_f64(napi_env env, napi_value v, const double** out, size_t* count, const char* what) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return throw_type(env, what);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_float64_array)
    return throw_type(env, what);
  if (length > 0 && data == nullptr) return throw_type(env, what);
  *out = static_cast<const double*>(data);
  *count = length;
  return true;
}

// A whole number in [lo, hi].
bool whole(double v, double lo, double hi) { return std::isfinite(v) && v == std::floor(v) && v >= lo && v <= hi; }

constexpr double kMaxDim = 2147483647.0;        // dims and counts
constexpr double kMaxOffset = 9007199254740991.0;  // byte offsets (2^53 - 1)

// A float range [off, off + 4*count) inside the heap; count == 0 is always fine (never touched).
bool check_range(napi_env env, const Heap& h, double off, u128 count, const char* what, float** ptr) {
  if (!whole(off, 0, kMaxOffset) || std::fmod(off, 4.0) != 0.0) {
    throw_range(env, what);
    return false;
  }
  const u128 start = static_cast<u128>(static_cast<uint64_t>(off));
  if (count > 0 && start + count * 4 > static_cast<u128>(h.len)) {
    throw_range(env, what);
    return false;
  }
  *ptr = count > 0 ? reinterpret_cast<float*>(h.data + static_cast<size_t>(start)) : nullptr;
  return true;
}

bool disjoint(const float* a, u128 na, const float* b, u128 nb) {
  if (na == 0 || nb == 0) return true;
  const uintptr_t a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
  return a0 + static_cast<uintptr_t>(na * 4) <= b0 || b0 + static_cast<uintptr_t>(nb * 4) <= a0;
}

napi_value undefined_value(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return throw_type(env, "bad call");
  if (argc < want) return throw_type(env, "missing arguments");
  return true;
}

// ------------------------------------------------------------------------------ info
napi_value make_info(napi_env env) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, mlk::isa_name(mlk::current_isa()), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "isa", v);
  napi_create_string_utf8(env, mlk::isa_name(mlk::detect_isa()), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "bestIsa", v);
  napi_create_int32(env, mlk::num_threads(), &v);
  napi_set_named_property(env, obj, "threads", v);
#if defined(__x86_64__)
  const char* arch = "x64";
#elif defined(__aarch64__)
  const char* arch = "arm64";
#else
  const char* arch = "other";
#endif
  napi_create_string_utf8(env, arch, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "arch", v);
  napi_create_int32(env, 3, &v);  // bump when the JS side needs a new function or layout
  napi_set_named_property(env, obj, "abi", v);
  return obj;
}

// Under the kernel lock: configure() from another Node environment (a worker thread) may be
// changing the instruction set or the thread count (ThreadSanitizer reported the race).
napi_value Info(napi_env env, napi_callback_info) {
  std::lock_guard<std::mutex> lk(kernel_mutex());
  return make_info(env);
}

// configure(isa: number (-1 keep), threads: number (0 keep))
napi_value Configure(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return nullptr;
  double isa = -1, threads = 0;
  napi_get_value_double(env, argv[0], &isa);
  napi_get_value_double(env, argv[1], &threads);
  std::lock_guard<std::mutex> lk(kernel_mutex());
  if (whole(isa, 0, 3)) mlk::set_isa(static_cast<mlk::Isa>(static_cast<int>(isa)));
  if (whole(threads, 1, 64)) mlk::set_num_threads(static_cast<int>(threads));
  return make_info(env);
}

// ------------------------------------------------------------------------------ gemm
// gemm(heap, p, batchOffsets?)
// p: [batch, m, n, k, transA, transB, aOff, bOff, cOff, biasOff(-1: none), aBatchStride,
//     bBatchStride, biasColStride, biasRowStride, biasBatchStride, act, alpha]
// batchOffsets (Float64Array, 2*batch, floats): a-offset then b-offset of every product;
// without it product t uses t*aBatchStride and t*bBatchStride.
napi_value Gemm(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2) {
    throw_type(env, "gemm(heap, params[, batchOffsets])");
    return nullptr;
  }
  Heap h;
  const double* p;
  size_t np;
  if (!get_heap(env, argv[0], &h) || !get_f64(env, argv[1], &p, &np, "gemm: params must be a Float64Array")) return nullptr;
  if (np < 17) {
    throw_type(env, "gemm: params too short");
    return nullptr;
  }
  for (int i = 0; i < 4; i++)
    if (!whole(p[i], 0, kMaxDim)) {
      throw_range(env, "gemm: bad dimension");
      return nullptr;
    }
  const long batch = static_cast<long>(p[0]), m = static_cast<long>(p[1]), n = static_cast<long>(p[2]),
             k = static_cast<long>(p[3]);
  const bool ta = p[4] != 0, tb = p[5] != 0;
  if (!whole(p[15], 0, 5) || !std::isfinite(p[16])) {
    throw_range(env, "gemm: bad activation");
    return nullptr;
  }
  const bool has_bias = p[9] >= 0;
  for (int i = 10; i <= 14; i++)
    if (!whole(p[i], 0, kMaxOffset)) {
      throw_range(env, "gemm: bad stride");
      return nullptr;
    }
  // The per-product offsets are allocated only once c's range has bounded batch by the heap's
  // size: batch alone may be up to 2^31 (a 16 GB vector for a call that does nothing).
  const double* offs = nullptr;
  u128 amax = 0, bmax = 0;
  if (argc >= 3) {
    napi_valuetype t;
    napi_typeof(env, argv[2], &t);
    if (t != napi_undefined && t != napi_null) {
      size_t no;
      if (!get_f64(env, argv[2], &offs, &no, "gemm: batchOffsets must be a Float64Array")) return nullptr;
      if (no < static_cast<size_t>(2 * batch)) {
        throw_range(env, "gemm: batchOffsets too short");
        return nullptr;
      }
      for (long i = 0; i < batch; i++) {
        if (!whole(offs[i], 0, kMaxOffset) || !whole(offs[batch + i], 0, kMaxOffset)) {
          throw_range(env, "gemm: bad batch offset");
          return nullptr;
        }
        if (static_cast<u128>(offs[i]) > amax) amax = static_cast<u128>(offs[i]);
        if (static_cast<u128>(offs[batch + i]) > bmax) bmax = static_cast<u128>(offs[batch + i]);
      }
    } else {
      argc = 2;
    }
  }
  const bool strided = argc < 3;
  if (strided && batch > 0) {
    amax = static_cast<u128>(batch - 1) * static_cast<uint64_t>(p[10]);
    bmax = static_cast<u128>(batch - 1) * static_cast<uint64_t>(p[11]);
  }
  const u128 mk = static_cast<u128>(m) * k, kn = static_cast<u128>(k) * n, mn = static_cast<u128>(m) * n;
  const bool any = batch > 0 && m > 0 && n > 0;
  float *a = nullptr, *b = nullptr, *c = nullptr, *bias = nullptr;
  if (!check_range(env, h, p[6], any && mk > 0 ? amax + mk : 0, "gemm: a is outside the heap", &a)) return nullptr;
  if (!check_range(env, h, p[7], any && kn > 0 ? bmax + kn : 0, "gemm: b is outside the heap", &b)) return nullptr;
  const u128 csize = any ? static_cast<u128>(batch) * mn : 0;
  if (!check_range(env, h, p[8], csize, "gemm: c is outside the heap", &c)) return nullptr;
  mlk::Epilogue ep;
  ep.act = static_cast<int>(p[15]);
  ep.alpha = static_cast<float>(p[16]);
  if (has_bias) {
    const uint64_t cs = static_cast<uint64_t>(p[12]), rs = static_cast<uint64_t>(p[13]), bs = static_cast<uint64_t>(p[14]);
    const u128 extent = any ? static_cast<u128>(m - 1) * rs + static_cast<u128>(n - 1) * cs + static_cast<u128>(batch - 1) * bs + 1 : 0;
    if (!check_range(env, h, p[9], extent, "gemm: bias is outside the heap", &bias)) return nullptr;
    ep.bias = bias;
    ep.bias_col_stride = static_cast<long>(cs);
    ep.bias_row_stride = static_cast<long>(rs);

    if (!disjoint(c, csize, bias, extent)) {
      throw_range(env, "gemm: output overlaps the bias");
      return nullptr;
    }
  }
  if (!any) return undefined_value(env);
  // In range now (checked above: batch * m * n floats fit in the heap), so these fit in a long.
  std::vector<long> aoff(batch), boff(batch), biasoff;
  for (long i = 0; i < batch; i++) {
    aoff[i] = strided ? i * static_cast<long>(p[10]) : static_cast<long>(offs[i]);
    boff[i] = strided ? i * static_cast<long>(p[11]) : static_cast<long>(offs[batch + i]);
  }
  if (has_bias && p[14] != 0) {
    biasoff.resize(batch);
    for (long i = 0; i < batch; i++) biasoff[i] = i * static_cast<long>(p[14]);
  }
  if (!disjoint(c, csize, a, amax + mk) || !disjoint(c, csize, b, bmax + kn)) {
    throw_range(env, "gemm: output overlaps an input");
    return nullptr;
  }
  bool ok;
  {
    std::lock_guard<std::mutex> lk(kernel_mutex());
    ok = mlk::sgemm_batched(batch, m, n, k, a, aoff.data(), ta ? m : k, ta, b, boff.data(), tb ? k : n, tb, c, m * n, n,
                            ep, biasoff.empty() ? nullptr : biasoff.data());
  }
  if (!ok) {
    napi_throw_error(env, "ERR_MULTILOSS_NATIVE_MEMORY", "gemm: out of memory for packing buffers");
    return nullptr;
  }
  return undefined_value(env);
}

// ------------------------------------------------------------------------------ sum
// sumMiddle(heap, p): p = [xOff, outOff, outer, red, inner]; out[o, i] = sum_r x[o, r, i]
napi_value SumMiddle(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return nullptr;
  Heap h;
  const double* p;
  size_t np;
  if (!get_heap(env, argv[0], &h) || !get_f64(env, argv[1], &p, &np, "sum: params must be a Float64Array")) return nullptr;
  if (np < 5 || !whole(p[2], 0, kMaxDim) || !whole(p[3], 0, kMaxDim) || !whole(p[4], 0, kMaxDim)) {
    throw_range(env, "sum: bad dimension");
    return nullptr;
  }
  const long outer = static_cast<long>(p[2]), red = static_cast<long>(p[3]), inner = static_cast<long>(p[4]);
  const u128 nout = static_cast<u128>(outer) * inner, nin = nout * red;
  float *x, *out;
  if (!check_range(env, h, p[0], nin, "sum: x is outside the heap", &x)) return nullptr;
  if (!check_range(env, h, p[1], nout, "sum: out is outside the heap", &out)) return nullptr;
  if (!disjoint(x, nin, out, nout)) {
    throw_range(env, "sum: output overlaps the input");
    return nullptr;
  }
  if (nout > 0) {
    std::lock_guard<std::mutex> lk(kernel_mutex());
    mlk::sum_middle(x, out, outer, red, inner);
  }
  return undefined_value(env);
}

// ------------------------------------------------------------------------------ adam
// params (already checked to hold 8 values) as the kernel's float32 scalars.
mlk::AdamParams adam_params(const double* q) {
  mlk::AdamParams p;
  p.beta1 = static_cast<float>(q[0]);
  p.one_minus_beta1 = static_cast<float>(q[1]);
  p.beta2 = static_cast<float>(q[2]);
  p.one_minus_beta2 = static_cast<float>(q[3]);
  p.one_minus_acc_beta1 = static_cast<float>(q[4]);
  p.one_minus_acc_beta2 = static_cast<float>(q[5]);
  p.epsilon = static_cast<float>(q[6]);
  p.neg_lr = static_cast<float>(q[7]);
  return p;
}

// adam(heap, slots, params): slots = [varOff, gradOff, mOff, vOff, n] * count (bytes / elements);
// params = [beta1, 1-beta1, beta2, 1-beta2, 1-beta1^t, 1-beta2^t, epsilon, -lr] (float32 values).
napi_value Adam(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return nullptr;
  Heap h;
  const double *s, *q;
  size_t ns, nq;
  if (!get_heap(env, argv[0], &h) || !get_f64(env, argv[1], &s, &ns, "adam: slots must be a Float64Array") ||
      !get_f64(env, argv[2], &q, &nq, "adam: params must be a Float64Array"))
    return nullptr;
  if (ns % 5 != 0 || nq < 8) {
    throw_range(env, "adam: bad slots or params length");
    return nullptr;
  }
  const long count = static_cast<long>(ns / 5);
  std::vector<mlk::AdamSlot> slots(count);
  for (long i = 0; i < count; i++) {
    const double* r = s + 5 * i;
    if (!whole(r[4], 0, kMaxOffset)) {
      throw_range(env, "adam: bad length");
      return nullptr;
    }
    const u128 n = static_cast<u128>(static_cast<uint64_t>(r[4]));
    float *w, *g, *m, *v;
    if (!check_range(env, h, r[0], n, "adam: variable is outside the heap", &w) ||
        !check_range(env, h, r[1], n, "adam: gradient is outside the heap", &g) ||
        !check_range(env, h, r[2], n, "adam: first moment is outside the heap", &m) ||
        !check_range(env, h, r[3], n, "adam: second moment is outside the heap", &v))
      return nullptr;
    if (!disjoint(w, n, g, n) || !disjoint(w, n, m, n) || !disjoint(w, n, v, n) || !disjoint(g, n, m, n) ||
        !disjoint(g, n, v, n) || !disjoint(m, n, v, n)) {
      throw_range(env, "adam: variable, gradient and moments must not overlap");
      return nullptr;
    }
    slots[i] = mlk::AdamSlot{w, g, m, v, static_cast<long>(n)};
  }
  const mlk::AdamParams p = adam_params(q);
  {
    std::lock_guard<std::mutex> lk(kernel_mutex());
    mlk::adam(slots.data(), count, p);
  }
  return undefined_value(env);
}

// adamWeighted(heap, slots, terms, params): slots = [var, m, v, n, first term, term count] per
// variable, terms = [weight, gradient offset] per term; params as adam's. Each variable's gradient
// is float(sum of weight * gradient) in double (weighted_sum's numbers), formed chunk by chunk.
napi_value AdamWeighted(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return nullptr;
  Heap h;
  const double *s, *tm, *q;
  size_t ns, nt, nq;
  if (!get_heap(env, argv[0], &h) || !get_f64(env, argv[1], &s, &ns, "adamWeighted: slots must be a Float64Array") ||
      !get_f64(env, argv[2], &tm, &nt, "adamWeighted: terms must be a Float64Array") ||
      !get_f64(env, argv[3], &q, &nq, "adamWeighted: params must be a Float64Array"))
    return nullptr;
  if (ns % 6 != 0 || nt % 2 != 0 || nq < 8) {
    throw_range(env, "adamWeighted: bad slots, terms or params length");
    return nullptr;
  }
  const long count = static_cast<long>(ns / 6);
  const double nterms = static_cast<double>(nt / 2);
  // Each slot's terms, checked against that slot's length (a term may be listed by several slots).
  std::vector<std::vector<mlk::AdamTerm>> terms(count);
  std::vector<mlk::AdamWeightedSlot> slots(count);
  for (long i = 0; i < count; i++) {
    const double* r = s + 6 * i;
    if (!whole(r[3], 0, kMaxOffset) || !whole(r[4], 0, nterms) || !whole(r[5], 0, nterms - r[4])) {
      throw_range(env, "adamWeighted: bad length or term range");
      return nullptr;
    }
    const u128 n = static_cast<u128>(static_cast<uint64_t>(r[3]));
    float *w, *m, *v;
    if (!check_range(env, h, r[0], n, "adamWeighted: variable is outside the heap", &w) ||
        !check_range(env, h, r[1], n, "adamWeighted: first moment is outside the heap", &m) ||
        !check_range(env, h, r[2], n, "adamWeighted: second moment is outside the heap", &v))
      return nullptr;
    if (!disjoint(w, n, m, n) || !disjoint(w, n, v, n) || !disjoint(m, n, v, n)) {
      throw_range(env, "adamWeighted: variable and moments must not overlap");
      return nullptr;
    }
    const long first = static_cast<long>(r[4]), k = static_cast<long>(r[5]);
    terms[i].resize(k);
    for (long t = 0; t < k; t++) {
      const double weight = tm[2 * (first + t)];
      if (!std::isfinite(weight)) {
        throw_range(env, "adamWeighted: weights must be finite");
        return nullptr;
      }
      float* g;
      if (!check_range(env, h, tm[2 * (first + t) + 1], n, "adamWeighted: a gradient is outside the heap", &g)) return nullptr;
      if (!disjoint(g, n, w, n) || !disjoint(g, n, m, n) || !disjoint(g, n, v, n)) {
        throw_range(env, "adamWeighted: a gradient overlaps the variable or its moments");
        return nullptr;
      }
      terms[i][t] = mlk::AdamTerm{weight, g};
    }
    slots[i] = mlk::AdamWeightedSlot{w, m, v, static_cast<long>(n), terms[i].data(), k};
  }
  const mlk::AdamParams p = adam_params(q);
  {
    std::lock_guard<std::mutex> lk(kernel_mutex());
    mlk::adam_weighted(slots.data(), count, p);
  }
  return undefined_value(env);
}

// ------------------------------------------------------------------------------ conv2d
// conv2d(heap, p): p = [mode, batch, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW,
//   dilH, dilW, padTop, padLeft, xOff, fOff, yOff, biasOff(-1), act, alpha]
// mode 0: y = conv(x, f) (+bias, act); 1: x <- dx from (y = dy, f); 2: f <- df from (x, y = dy),
// and bias <- the bias gradient (outC floats) when biasOff >= 0.
napi_value Conv2d(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return nullptr;
  Heap h;
  const double* p;
  size_t np;
  if (!get_heap(env, argv[0], &h) || !get_f64(env, argv[1], &p, &np, "conv2d: params must be a Float64Array")) return nullptr;
  if (np < 22 || !whole(p[0], 0, 2)) {
    throw_range(env, "conv2d: bad params");
    return nullptr;
  }
  for (int i = 1; i <= 9; i++)
    if (!whole(p[i], 0, kMaxDim)) {
      throw_range(env, "conv2d: bad dimension");
      return nullptr;
    }
  for (int i = 10; i <= 13; i++)
    if (!whole(p[i], 1, 65536)) {
      throw_range(env, "conv2d: bad stride or dilation");
      return nullptr;
    }
  if (!whole(p[14], -kMaxDim, kMaxDim) || !whole(p[15], -kMaxDim, kMaxDim) || !whole(p[20], 0, 5) || !std::isfinite(p[21])) {
    throw_range(env, "conv2d: bad padding or activation");
    return nullptr;
  }
  mlk::ConvGeom g;
  g.batch = static_cast<long>(p[1]);
  g.in_h = static_cast<long>(p[2]);
  g.in_w = static_cast<long>(p[3]);
  g.in_c = static_cast<long>(p[4]);
  g.out_h = static_cast<long>(p[5]);
  g.out_w = static_cast<long>(p[6]);
  g.out_c = static_cast<long>(p[7]);
  g.k_h = static_cast<long>(p[8]);
  g.k_w = static_cast<long>(p[9]);
  g.stride_h = static_cast<long>(p[10]);
  g.stride_w = static_cast<long>(p[11]);
  g.dil_h = static_cast<long>(p[12]);
  g.dil_w = static_cast<long>(p[13]);
  g.pad_top = static_cast<long>(p[14]);
  g.pad_left = static_cast<long>(p[15]);
  const int mode = static_cast<int>(p[0]);
  const u128 nx = static_cast<u128>(g.batch) * g.in_h * g.in_w * g.in_c;
  const u128 nf = static_cast<u128>(g.k_h) * g.k_w * g.in_c * g.out_c;
  const u128 ny = static_cast<u128>(g.batch) * g.out_h * g.out_w * g.out_c;
  // Column buffers are (images x outH*outW x kH*kW*inC): keep every index within 64 bits.
  const u128 cols = static_cast<u128>(g.out_h) * g.out_w * g.k_h * g.k_w * g.in_c;
  if (nx >> 60 || nf >> 60 || ny >> 60 || cols >> 60) {
    throw_range(env, "conv2d: tensors too large");
    return nullptr;
  }
  float *x, *f, *y, *bias = nullptr;
  if (!check_range(env, h, p[16], nx, "conv2d: x is outside the heap", &x) ||
      !check_range(env, h, p[17], nf, "conv2d: filter is outside the heap", &f) ||
      !check_range(env, h, p[18], ny, "conv2d: y is outside the heap", &y))
    return nullptr;
  mlk::Epilogue ep;
  ep.act = static_cast<int>(p[20]);
  ep.alpha = static_cast<float>(p[21]);
  if (mode == 0 && p[19] >= 0) {
    if (!check_range(env, h, p[19], static_cast<u128>(g.out_c), "conv2d: bias is outside the heap", &bias)) return nullptr;
    ep.bias = bias;
    ep.bias_col_stride = 1;
    ep.bias_row_stride = 0;
  }
  float* db = nullptr;  // mode 2: the bias gradient's output
  if (mode == 2 && p[19] >= 0 && !check_range(env, h, p[19], static_cast<u128>(g.out_c), "conv2d: bias gradient is outside the heap", &db))
    return nullptr;
  // The written tensor must not overlap what is read.
  float* out = mode == 0 ? y : (mode == 1 ? x : f);
  const u128 nout = mode == 0 ? ny : (mode == 1 ? nx : nf);
  bool ok = true;
  if (mode == 0) ok = disjoint(out, nout, x, nx) && disjoint(out, nout, f, nf) && (bias == nullptr || disjoint(out, nout, bias, g.out_c));
  if (mode == 1) ok = disjoint(out, nout, y, ny) && disjoint(out, nout, f, nf);
  if (mode == 2)
    ok = disjoint(out, nout, x, nx) && disjoint(out, nout, y, ny) &&
         (db == nullptr || (disjoint(db, g.out_c, x, nx) && disjoint(db, g.out_c, y, ny) && disjoint(db, g.out_c, out, nout)));
  if (!ok) {
    throw_range(env, "conv2d: output overlaps an input");
    return nullptr;
  }
  {
    std::lock_guard<std::mutex> lk(kernel_mutex());
    if (mode == 0) ok = mlk::conv2d_forward(g, x, f, y, ep);
    if (mode == 1) ok = mlk::conv2d_backprop_input(g, y, f, x);
    if (mode == 2) ok = mlk::conv2d_backprop_filter(g, x, y, f, db);
  }
  if (!ok) {
    napi_throw_error(env, "ERR_MULTILOSS_NATIVE_MEMORY", "conv2d: out of memory for column buffers");
    return nullptr;
  }
  return undefined_value(env);
}

// ------------------------------------------------------------------------------ max pooling
// The pooling geometry p[0..11] = [batch, inH, inW, channels, outH, outW, kH, kW, strideH,
// strideW, padTop, padLeft], validated; false (a RangeError thrown) when it is not.
static bool pool_geometry(napi_env env, const double* p, size_t np, size_t need, const char* name, mlk::PoolGeom* out) {
  const std::string n(name);
  if (np < need) {
    throw_range(env, (n + ": params too short").c_str());
    return false;
  }
  for (int i = 0; i <= 7; i++)
    if (!whole(p[i], 0, kMaxDim)) {
      throw_range(env, (n + ": bad dimension").c_str());
      return false;
    }
  if (!whole(p[8], 1, kMaxDim) || !whole(p[9], 1, kMaxDim) || !whole(p[10], -kMaxDim, kMaxDim) || !whole(p[11], -kMaxDim, kMaxDim)) {
    throw_range(env, (n + ": bad stride or padding").c_str());
    return false;
  }
  mlk::PoolGeom& g = *out;
  g.batch = static_cast<long>(p[0]);
  g.in_h = static_cast<long>(p[1]);
  g.in_w = static_cast<long>(p[2]);
  g.channels = static_cast<long>(p[3]);
  g.out_h = static_cast<long>(p[4]);
  g.out_w = static_cast<long>(p[5]);
  g.k_h = static_cast<long>(p[6]);
  g.k_w = static_cast<long>(p[7]);
  g.stride_h = static_cast<long>(p[8]);
  g.stride_w = static_cast<long>(p[9]);
  g.pad_top = static_cast<long>(p[10]);
  g.pad_left = static_cast<long>(p[11]);
  const u128 nx = static_cast<u128>(g.batch) * g.in_h * g.in_w * g.channels;
  const u128 ny = static_cast<u128>(g.batch) * g.out_h * g.out_w * g.channels;
  if (nx >> 60 || ny >> 60 || static_cast<u128>(g.in_h) * g.in_w >= (static_cast<u128>(1) << 31)) {
    throw_range(env, (n + ": tensors too large").c_str());
    return false;
  }
  return true;
}

// maxPoolGrad(heap, p): p = [geometry (12), xOff, dyOff, dxOff, relu?] (relu 1: x is relu's
//   output, and dx is the gradient of relu then max pooling)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return nullptr;
  Heap h;
  const double* p;
  size_t np;
  if (!get_heap(env, argv[0], &h) || !get_f64(env, argv[1], &p, &np, "maxPoolGrad: params must be a Float64Array")) return nullptr;
  mlk::PoolGeom g;
  if (!pool_geometry(env, p, np, 15, "maxPoolGrad", &g)) return nullptr;
  if (np > 15 && p[15] != 0 && p[15] != 1) {
    throw_range(env, "maxPoolGrad: relu must be 0 or 1");
    return nullptr;
  }
  g.relu = np > 15 && p[15] == 1;
  const size_t nx = static_cast<size_t>(g.batch) * g.in_h * g.in_w * g.channels;
  const size_t ny = static_cast<size_t>(g.batch) * g.out_h * g.out_w * g.channels;
  float *x, *dy, *dx;
  if (!check_range(env, h, p[12], nx, "maxPoolGrad: x is outside the heap", &x) ||
      !check_range(env, h, p[13], ny, "maxPoolGrad: dy is outside the heap", &dy) ||
      !check_range(env, h, p[14], nx, "maxPoolGrad: dx is outside the heap", &dx))
    return nullptr;
  if (!disjoint(dx, nx, x, nx) || !disjoint(dx, nx, dy, ny)) {
    throw_range(env, "maxPoolGrad: output overlaps an input");
    return nullptr;
  }
  {
    std::lock_guard<std::mutex> lk(kernel_mutex());
    mlk::max_pool_grad(g, x, dy, dx);
  }
  return undefined_value(env);
}

// maxPool(heap, p): p = [geometry (12), xOff, yOff]
napi_value MaxPool(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return nullptr;
  Heap h;
  const double* p;
  size_t np;
  if (!get_heap(env, argv[0], &h) || !get_f64(env, argv[1], &p, &np, "maxPool: params must be a Float64Array")) return nullptr;
  mlk::PoolGeom g;
  if (!pool_geometry(env, p, np, 14, "maxPool", &g)) return nullptr;
  const size_t nx = static_cast<size_t>(g.batch) * g.in_h * g.in_w * g.channels;
  const size_t ny = static_cast<size_t>(g.batch) * g.out_h * g.out_w * g.channels;
  float *x, *y;
  if (!check_range(env, h, p[12], nx, "maxPool: x is outside the heap", &x) ||
      !check_range(env, h, p[13], ny, "maxPool: y is outside the heap", &y))
    return nullptr;
  if (!disjoint(y, ny, x, nx)) {
    throw_range(env, "maxPool: output overlaps an input");
    return nullptr;
  }
  {
    std::lock_guard<std::mutex> lk(kernel_mutex());
    mlk::max_pool(g, x, y);
  }
  return undefined_value(env);
}

// ------------------------------------------------------------------------------ gram / weighted sum
// gram(heap, slots, out): slots = [T, then per variable: n, off_0 .. off_{T-1}] (bytes; -1: no
// gradient, zero); out: Float64Array of at least T(T+1)/2, gets the pair sums (a <= b, row-major).
napi_value Gram(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return nullptr;
  Heap h;
  const double *s, *o;
  size_t ns, no;
  if (!get_heap(env, argv[0], &h) || !get_f64(env, argv[1], &s, &ns, "gram: slots must be a Float64Array") ||
      !get_f64(env, argv[2], &o, &no, "gram: out must be a Float64Array"))
    return nullptr;
  if (ns < 1 || !whole(s[0], 1, 1024) || (ns - 1) % (1 + static_cast<size_t>(s[0])) != 0) {
    throw_range(env, "gram: bad slots");
    return nullptr;
  }
  const long T = static_cast<long>(s[0]);
  const size_t P = static_cast<size_t>(T * (T + 1) / 2);
  if (no < P) {
    throw_range(env, "gram: out too short");
    return nullptr;
  }
  const long count = static_cast<long>((ns - 1) / (1 + T));
  std::vector<const float*> ptrs(static_cast<size_t>(count) * T, nullptr);
  std::vector<mlk::GramSlot> slots(count);
  for (long v = 0; v < count; v++) {
    const double* r = s + 1 + v * (1 + T);
    if (!whole(r[0], 0, kMaxOffset)) {
      throw_range(env, "gram: bad length");
      return nullptr;
    }
    const u128 n = static_cast<u128>(static_cast<uint64_t>(r[0]));
    for (long t = 0; t < T; t++) {
      if (r[1 + t] == -1) continue;
      float* p;
      if (!check_range(env, h, r[1 + t], n, "gram: a gradient is outside the heap", &p)) return nullptr;
      ptrs[v * T + t] = p;
    }
    slots[v] = mlk::GramSlot{ptrs.data() + v * T, static_cast<long>(n)};
  }
  bool ok;
  {
    std::lock_guard<std::mutex> lk(kernel_mutex());
    ok = mlk::gram(slots.data(), count, T, const_cast<double*>(o));
  }
  if (!ok) {
    napi_throw_error(env, "ERR_MULTILOSS_NATIVE_MEMORY", "gram: out of memory");
    return nullptr;
  }
  return undefined_value(env);
}

// weightedSum(heap, p): p = [T, n, outOff, w_0 .. w_{T-1}, off_0 .. off_{T-1}] (bytes; -1: none);
// out[i] = sum_t w_t g_t[i] (double sums, float32 result).
napi_value WeightedSum(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return nullptr;
  Heap h;
  const double* p;
  size_t np;
  if (!get_heap(env, argv[0], &h) || !get_f64(env, argv[1], &p, &np, "weightedSum: params must be a Float64Array")) return nullptr;
  if (np < 3 || !whole(p[0], 1, 1024) || np < 3 + 2 * static_cast<size_t>(p[0]) || !whole(p[1], 0, kMaxOffset)) {
    throw_range(env, "weightedSum: bad params");
    return nullptr;
  }
  const long T = static_cast<long>(p[0]);
  const u128 n = static_cast<u128>(static_cast<uint64_t>(p[1]));
  float* out;
  if (!check_range(env, h, p[2], n, "weightedSum: out is outside the heap", &out)) return nullptr;
  std::vector<const float*> g(T, nullptr);
  std::vector<double> w(T, 0.0);
  for (long t = 0; t < T; t++) {
    w[t] = p[3 + t];
    if (!std::isfinite(w[t])) {
      throw_range(env, "weightedSum: weights must be finite");
      return nullptr;
    }
    if (p[3 + T + t] == -1) continue;
    float* q;
    if (!check_range(env, h, p[3 + T + t], n, "weightedSum: a gradient is outside the heap", &q)) return nullptr;
    if (!disjoint(out, n, q, n)) {
      throw_range(env, "weightedSum: output overlaps an input");
      return nullptr;
    }
    g[t] = q;
  }
  if (n > 0) {
    std::lock_guard<std::mutex> lk(kernel_mutex());
    mlk::weighted_sum(g.data(), w.data(), T, static_cast<long>(n), out);
  }
  return undefined_value(env);
}

// ------------------------------------------------------------------------------ last-layer gradient norms
// layerGradNorms(heap, p, out): p = [n, kin, k, T, method (0 auto, 1 n x n products, 2 X^T delta),
//   xOff, dOff (-1: none), dStep (0/1), maskOff (-1: none), gOff_0 .. gOff_{T-1}] (bytes);
// X is n x kin, d, mask and every g_t n x k. out: Float64Array of at least 2T, gets
// |X^T delta_t|^2 then |sum_rows delta_t|^2 (see mlk::layer_grad_norms). Reads the heap only.
napi_value LayerGradNorms(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return nullptr;
  Heap h;
  const double *p, *o;
  size_t np, no;
  if (!get_heap(env, argv[0], &h) || !get_f64(env, argv[1], &p, &np, "layerGradNorms: params must be a Float64Array") ||
      !get_f64(env, argv[2], &o, &no, "layerGradNorms: out must be a Float64Array"))
    return nullptr;
  if (np < 9 || !whole(p[0], 0, kMaxDim) || !whole(p[1], 0, kMaxDim) || !whole(p[2], 0, kMaxDim) || !whole(p[3], 1, 1024) ||
      !whole(p[4], 0, 2) || !whole(p[7], 0, 1) || np < 9 + static_cast<size_t>(p[3])) {
    throw_range(env, "layerGradNorms: bad params");
    return nullptr;
  }
  mlk::LayerNormsArgs a;
  a.n = static_cast<long>(p[0]);
  a.kin = static_cast<long>(p[1]);
  a.k = static_cast<long>(p[2]);
  a.T = static_cast<long>(p[3]);
  a.method = static_cast<int>(p[4]);
  a.d_step = p[7] == 1;
  if (no < 2 * static_cast<size_t>(a.T)) {
    throw_range(env, "layerGradNorms: out too short");
    return nullptr;
  }
  const u128 nx = static_cast<u128>(a.n) * a.kin, ng = static_cast<u128>(a.n) * a.k;
  // Working memory: delta (n x Tk), and X^T delta (kin x Tk) or the packed X^T and delta_t^T.
  if (nx >> 40 || ng * a.T >> 40 || static_cast<u128>(a.kin) * a.k * a.T >> 40 || static_cast<u128>(a.n) * a.n >> 40) {
    throw_range(env, "layerGradNorms: tensors too large");
    return nullptr;
  }
  float *x, *d = nullptr, *mask = nullptr;
  if (!check_range(env, h, p[5], nx, "layerGradNorms: x is outside the heap", &x)) return nullptr;
  if (p[6] != -1 && !check_range(env, h, p[6], ng, "layerGradNorms: d is outside the heap", &d)) return nullptr;
  if (p[8] != -1 && !check_range(env, h, p[8], ng, "layerGradNorms: mask is outside the heap", &mask)) return nullptr;
  if (a.d_step && d == nullptr && ng > 0) {
    throw_range(env, "layerGradNorms: dStep without d");
    return nullptr;
  }
  std::vector<const float*> g(static_cast<size_t>(a.T), nullptr);
  for (long t = 0; t < a.T; t++) {
    float* q;
    if (!check_range(env, h, p[9 + t], ng, "layerGradNorms: a gradient is outside the heap", &q)) return nullptr;
    g[t] = q;
  }
  a.x = x;
  a.d = d;
  a.mask = mask;
  a.g = g.data();
  bool ok;
  {
    std::lock_guard<std::mutex> lk(kernel_mutex());
    ok = mlk::layer_grad_norms(a, const_cast<double*>(o));
  }
  if (!ok) {
    napi_throw_error(env, "ERR_MULTILOSS_NATIVE_MEMORY", "layerGradNorms: out of memory");
    return nullptr;
  }
  return undefined_value(env);
}

// A C++ exception that leaves an N-API callback terminates the process (std::terminate): every
// binding runs inside this guard, which turns one into a JavaScript error. (std::bad_alloc from
// working memory, also when a pool worker's chunk threw it: threads.cc hands it to the caller.)
template <napi_value (*F)(napi_env, napi_callback_info)>
napi_value guarded(napi_env env, napi_callback_info info) {
  try {
    return F(env, info);
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, "ERR_MULTILOSS_NATIVE_MEMORY", "native kernels: out of memory");
  } catch (const std::exception& e) {
    napi_throw_error(env, "ERR_MULTILOSS_NATIVE", e.what());
  } catch (...) {
    napi_throw_error(env, "ERR_MULTILOSS_NATIVE", "native kernels: unexpected C++ exception");
  }
  return nullptr;
}

// An environment is going away (a worker thread exits, or the main thread at exit): stop the
// pool's workers under the kernel lock, so no job of another environment is running; the next
// call of any environment starts them again. Never throws (a hook cannot).
void cleanup(void*) {
  try {
    std::lock_guard<std::mutex> lk(kernel_mutex());
    mlk::shutdown_threads();
  } catch (...) {
  }
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"info", nullptr, guarded<Info>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"configure", nullptr, guarded<Configure>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gemm", nullptr, guarded<Gemm>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sumMiddle", nullptr, guarded<SumMiddle>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adam", nullptr, guarded<Adam>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adamWeighted", nullptr, guarded<AdamWeighted>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"conv2d", nullptr, guarded<Conv2d>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"maxPoolGrad", nullptr, guarded<MaxPoolGrad>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"maxPool", nullptr, guarded<MaxPool>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gram", nullptr, guarded<Gram>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"weightedSum", nullptr, guarded<WeightedSum>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"layerGradNorms", nullptr, guarded<LayerGradNorms>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  napi_add_env_cleanup_hook(env, cleanup, nullptr);
  return exports;
}
