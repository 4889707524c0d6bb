// The kernels' thread pool: the calling thread plus persistent workers. A job is a number of
// chunks; every participant claims the next unclaimed chunk with a compare-and-swap on one
// 64-bit word (job generation << 32 | next chunk), so a worker that wakes late finds nothing
// left and the caller never waits for it (a fixed split stalled up to 4.8 ms on 2 vCPUs).
// The caller waits only for chunks that were actually claimed and are still running.
//
// Workers spin for a short while after a job (consecutive kernel calls are microseconds
// apart), then sleep on a condition variable. All pool state is heap-allocated and never
// destroyed, so process exit cannot destroy a mutex a worker still uses.
//
// One pool and one set of scratch buffers serve the whole process, i.e. every Node environment
// that loaded the addon (the main thread and worker threads): the addon holds its kernel lock
// (addon.cc) around every call into this file, so jobs, set_num_threads, shutdown_threads (the
// environment cleanup hook) and the scratch buffers' growth never overlap.
//
// A chunk that throws (std::bad_alloc from a kernel's working memory) must not unwind past the
// wait below while workers still run chunks of the same job on the caller's stack data: the
// exception is kept, every claimed chunk is waited for, then it is rethrown to the caller.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "mlk.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpu_relax() { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpu_relax() { __asm__ __volatile__("yield"); }
#else
static inline void cpu_relax() {}
#endif

namespace mlk {
namespace {

constexpr int kMaxThreads = 8;

struct Pool {
  std::atomic<uint64_t> state{0};  // generation << 32 | next chunk
  std::atomic<uint32_t> published{0};
  std::atomic<long> done{0};
  std::atomic<ChunkFn> fn{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<long> n{0};
  std::atomic<int> participants{1};
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::exception_ptr error;  // the first chunk exception of the running job (under mu)
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::thread> workers;
  int threads = 1;
  uint32_t gen = 0;
  long spin_us = 300;
};

Pool* pool() {
  static Pool* p = [] {
    Pool* q = new Pool();
    unsigned hw = std::thread::hardware_concurrency();
    int t = hw == 0 ? 1 : (hw < 2 ? static_cast<int>(hw) : 2);
    const char* env = std::getenv("MULTILOSS_NATIVE_THREADS");
    if (env != nullptr && *env != '\0') {
      int v = std::atoi(env);
      if (v >= 1) t = v;
    }
    q->threads = t < 1 ? 1 : (t > kMaxThreads ? kMaxThreads : t);
    const char* spin = std::getenv("MULTILOSS_NATIVE_SPIN_US");
    if (spin != nullptr && *spin != '\0') q->spin_us = std::atol(spin);
    return q;
  }();
  return p;
}

thread_local bool in_job = false;

// Run chunks of generation g until none is left. Returns the number run.
void work(Pool* p, uint32_t g, int tid) {
  for (;;) {
    uint64_t s = p->state.load(std::memory_order_acquire);
    if (static_cast<uint32_t>(s >> 32) != g) return;
    uint32_t idx = static_cast<uint32_t>(s);
    ChunkFn fn = p->fn.load(std::memory_order_relaxed);
    void* ctx = p->ctx.load(std::memory_order_relaxed);
    long n = p->n.load(std::memory_order_relaxed);
    if (tid >= p->participants.load(std::memory_order_relaxed)) return;
    if (static_cast<long>(idx) >= n) return;
    if (!p->state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    // The successful CAS proves generation g was still running with chunk idx unclaimed, so
    // fn/ctx/n read above belong to g (the caller rewrites them only after g completed).
    try {
      fn(ctx, static_cast<long>(idx), tid);
    } catch (...) {
      std::lock_guard<std::mutex> lk(p->mu);
      if (!p->failed.exchange(true)) p->error = std::current_exception();
    }
    p->done.fetch_add(1, std::memory_order_acq_rel);
  }
}

void worker_main(Pool* p, int tid) {
  in_job = true;  // a chunk that calls parallel_for runs it inline
  uint32_t seen = p->published.load(std::memory_order_acquire);
  for (;;) {
    auto start = std::chrono::steady_clock::now();
    uint32_t g;
    unsigned spins = 0;
    while ((g = p->published.load(std::memory_order_seq_cst)) == seen) {
      if (p->stop.load(std::memory_order_relaxed)) return;
      cpu_relax();
      if ((++spins & 63) != 0) continue;
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
      if (us < p->spin_us) continue;
      std::unique_lock<std::mutex> lk(p->mu);
      p->sleepers.fetch_add(1, std::memory_order_seq_cst);
      while (p->published.load(std::memory_order_seq_cst) == seen && !p->stop.load(std::memory_order_relaxed)) {
        p->cv.wait_for(lk, std::chrono::milliseconds(50));
      }
      p->sleepers.fetch_sub(1, std::memory_order_seq_cst);
      start = std::chrono::steady_clock::now();
    }
    seen = g;
    work(p, g, tid);
  }
}

// Returns the threads available (caller + workers): fewer than asked when the system refuses
// a new thread (std::system_error), which must not escape into Node as an uncaught exception.
int start_workers(Pool* p) {
  int want = p->threads - 1;
  while (static_cast<int>(p->workers.size()) < want) {
    int tid = static_cast<int>(p->workers.size()) + 1;
    try {
      p->workers.emplace_back(worker_main, p, tid);
    } catch (const std::system_error&) {
      break;
    }
  }
  return static_cast<int>(p->workers.size()) + 1;
}

struct InJob {
  InJob() { in_job = true; }
  ~InJob() { in_job = false; }
};

// ---------------------------------------------------------------------------- scratch
struct Scratch {
  float* ptr = nullptr;
  size_t floats = 0;
};
Scratch scratch_a_[kMaxThreads];
Scratch scratch_b_[kMaxThreads];
Scratch scratch_c_[kMaxThreads];

bool grow(Scratch& s, size_t floats) {
  if (s.floats >= floats) return true;
  size_t want = floats + floats / 4 + 1024;
  void* mem = nullptr;
  if (posix_memalign(&mem, 64, want * sizeof(float)) != 0 || mem == nullptr) return false;
  std::free(s.ptr);
  s.ptr = static_cast<float*>(mem);
  s.floats = want;
  return true;
}

}  // namespace

int num_threads() { return pool()->threads; }

int set_num_threads(int n) {
  Pool* p = pool();
  if (n < 1) n = 1;
  if (n > kMaxThreads) n = kMaxThreads;
  if (n < p->threads) shutdown_threads();
  p->threads = n;
  return n;
}

void shutdown_threads() {
  Pool* p = pool();
  if (p->workers.empty()) return;
  {
    std::lock_guard<std::mutex> lk(p->mu);
    p->stop.store(true);
  }
  p->cv.notify_all();
  for (auto& t : p->workers) t.join();
  p->workers.clear();
  p->stop.store(false);
}

void parallel_for(long n, ChunkFn fn, void* ctx, int max_threads) {
  if (n <= 0) return;
  Pool* p = pool();
  int t = p->threads;
  if (max_threads > 0 && max_threads < t) t = max_threads;
  if (t <= 1 || n == 1 || in_job || n >= (1L << 31)) {
    for (long i = 0; i < n; i++) fn(ctx, i, 0);
    return;
  }
  const int available = start_workers(p);
  if (available < t) t = available;
  if (t <= 1) {
    for (long i = 0; i < n; i++) fn(ctx, i, 0);
    return;
  }
  p->failed.store(false, std::memory_order_relaxed);
  p->fn.store(fn, std::memory_order_relaxed);
  p->ctx.store(ctx, std::memory_order_relaxed);
  p->n.store(n, std::memory_order_relaxed);
  p->participants.store(t, std::memory_order_relaxed);
  p->done.store(0, std::memory_order_relaxed);
  uint32_t g = ++p->gen;
  if (g == 0) g = ++p->gen;  // 0 is "nothing published yet"
  p->state.store(static_cast<uint64_t>(g) << 32, std::memory_order_release);
  p->published.store(g, std::memory_order_seq_cst);
  if (p->sleepers.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lk(p->mu);
    p->cv.notify_all();
  }
  {
    InJob job;
    work(p, g, 0);
  }
  // Wait only for chunks a worker claimed and is still running. If that takes long, the worker
  // was probably descheduled (more runnable threads than CPUs): yield so it can run.
  for (unsigned spins = 0; p->done.load(std::memory_order_acquire) < n; spins++) {
    if (spins < 4096) cpu_relax();
    else std::this_thread::yield();
  }
  if (p->failed.load(std::memory_order_acquire)) {
    std::exception_ptr e;
    {
      std::lock_guard<std::mutex> lk(p->mu);
      e = p->error;
      p->error = nullptr;
      p->failed.store(false, std::memory_order_relaxed);
    }
    std::rethrow_exception(e);
  }
}

bool ensure_scratch_a(size_t floats) {
  for (int i = 0; i < pool()->threads; i++)
    if (!grow(scratch_a_[i], floats)) return false;
  return true;
}
bool ensure_scratch_b(size_t floats) {
  for (int i = 0; i < pool()->threads; i++)
    if (!grow(scratch_b_[i], floats)) return false;
  return true;
}
bool ensure_scratch_c(size_t floats) {
  for (int i = 0; i < pool()->threads; i++)
    if (!grow(scratch_c_[i], floats)) return false;
  return true;
}
float* scratch_a(int tid) { return scratch_a_[tid].ptr; }
float* scratch_c(int tid) { return scratch_c_[tid].ptr; }
float* scratch_b(int tid) { return scratch_b_[tid].ptr; }

}  // namespace mlk
