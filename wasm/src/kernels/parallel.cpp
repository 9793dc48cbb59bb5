#include "parallel.h"
#include "scratch.h"

#ifndef SG_THREADS

namespace sg {
int threads() { return 1; }
int thread_index() { return 0; }
int max_threads() { return 1; }
void parallel_for(int n, int, void (*fn)(void*, int, int), void* ctx) {
  if (n > 0) fn(ctx, 0, n);
}
} // namespace sg

extern "C" {
int sg_threads_set(int) { return 1; }
int sg_threads_get(void) { return 1; }
int sg_threads_ready(void) { return 1; }
int sg_threads_max(void) { return 1; }
}

#else // SG_THREADS: the pthreads build

#include <emscripten.h>
#include <emscripten/threading.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <atomic>

namespace sg {

static const int kMaxThreads = 16;

// The job: its fields are written by the dispatching thread, then published by storing
// g_claim = (job << 32) | 0 (release). Anyone takes chunks by compare-exchange on g_claim, so
// a chunk is only ever taken while its job's word is current, and the fields read before a
// successful exchange belong to that job (the dispatcher rewrites them only after every item
// of the previous job is done, when no exchange on the old word can succeed any more). So the
// dispatcher waits only for chunks actually taken, never for a worker that the OS has not
// scheduled yet (on a loaded machine that wait would cost a time slice per layer).
static void (*g_fn)(void*, int, int);
static void* g_ctx;
static std::atomic<int> g_n{0}, g_chunk{1}; // read before the exchange that validates them
static std::atomic<uint64_t> g_claim{0};
static std::atomic<int> g_done{0};     // items of the current job finished
static std::atomic<uint32_t> g_gen{0}; // bumped per job; idle workers futex-wait on it
static std::atomic<int> g_sleeping{0}; // workers blocked in futex_wait
static std::atomic<int> g_started{0};  // workers that reached their loop
static int g_created = 0;              // workers created (indices 1 … g_created)
static int g_threads = 1;              // threads parallel_for uses (1 + workers)
static uint32_t g_job = 0;             // dispatcher's job counter
static thread_local int t_index = 0;
static thread_local bool t_busy = false; // inside a chunk (or a worker): nested loops run inline

// How long an idle worker spins before it sleeps: consecutive layers follow each other within
// microseconds, and a futex wake-up costs tens of them.
static const double kSpinMs = 2.0;

static void run_chunks() {
  uint64_t cur = g_claim.load(std::memory_order_acquire);
  for (;;) {
    int b = (int)(uint32_t)cur;
    int n = g_n.load(std::memory_order_relaxed), chunk = g_chunk.load(std::memory_order_relaxed);
    if (b >= n) return;
    int e = n - b < chunk ? n : b + chunk;
    if (!g_claim.compare_exchange_weak(cur, cur + (uint64_t)(e - b), std::memory_order_acq_rel,
                                       std::memory_order_acquire))
      continue; // cur now holds the current word (maybe another job's): retry with it
    g_fn(g_ctx, b, e);
    g_done.fetch_add(e - b, std::memory_order_release);
    cur = g_claim.load(std::memory_order_acquire);
  }
}

static void* worker_main(void* arg) {
  t_index = (int)(intptr_t)arg;
  t_busy = true;
  uint32_t seen = g_gen.load();
  g_started.fetch_add(1);
  for (;;) {
    uint32_t gen;
    double t0 = -1;
    for (int spins = 0; (gen = g_gen.load(std::memory_order_acquire)) == seen; spins++) {
      if ((spins & 255) != 255) continue;
      double now = emscripten_get_now();
      if (t0 < 0) t0 = now;
      if (now - t0 < kSpinMs) continue;
      g_sleeping.fetch_add(1);
      if (g_gen.load() == seen) emscripten_futex_wait((volatile void*)&g_gen, seen, INFINITY);
      g_sleeping.fetch_sub(1);
      t0 = -1;
    }
    seen = gen;
    if (t_index < g_threads) run_chunks();
  }
  return nullptr;
}

int threads() { return g_threads; }
int thread_index() { return t_index; }
int max_threads() { return g_created + 1; }

void parallel_for(int n, int grain, void (*fn)(void*, int, int), void* ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int T = g_threads;
  if (T <= 1 || t_busy || n <= grain) {
    fn(ctx, 0, n);
    return;
  }
  // About four chunks per thread: machine noise (other processes, a slow core) evens out.
  int chunk = (n + 4 * T - 1) / (4 * T);
  if (chunk < grain) chunk = grain;
  g_fn = fn, g_ctx = ctx;
  g_n.store(n, std::memory_order_relaxed);
  g_chunk.store(chunk, std::memory_order_relaxed);
  g_done.store(0, std::memory_order_relaxed);
  g_claim.store((uint64_t)++g_job << 32, std::memory_order_release);
  g_gen.fetch_add(1); // seq_cst: pairs with the sleepers' increment-then-recheck
  if (g_sleeping.load() > 0) emscripten_futex_wake((volatile void*)&g_gen, INT_MAX);
  t_busy = true;
  run_chunks();
  t_busy = false;
  // Only chunks already taken are left. A browser's main thread may not block: spin.
  while (g_done.load(std::memory_order_acquire) < n) {
  }
}

} // namespace sg

extern "C" {

int sg_threads_set(int n) {
  using namespace sg;
  if (n < 1) n = 1;
  if (n > kMaxThreads) n = kMaxThreads;
  while (g_created < n - 1) {
    pthread_t th;
    if (pthread_create(&th, nullptr, worker_main, (void*)(intptr_t)(g_created + 1)) != 0) break;
    pthread_detach(th);
    g_created++;
  }
  if (n > g_created + 1) n = g_created + 1;
  // Every thread index in use needs its scratch buffer before any kernel runs there.
  if (!scratch_reserve(0)) n = 1;
  g_threads = n;
  return n;
}

int sg_threads_get(void) { return sg::g_threads; }
int sg_threads_ready(void) { return sg::g_started.load() + 1; }
int sg_threads_max(void) { return sg::kMaxThreads; }

}

#endif
