// A tiny parallel-for for the kernels. One code path for both builds:
// - standalone build (no SG_THREADS): threads() is 1 and parallel_for runs the whole range
//   inline, so nothing here pulls in pthreads, atomics or imports;
// - pthreads build (-pthread -DSG_THREADS): the calling thread plus up to threads() - 1 pool
//   workers take chunks of the range from a shared counter; workers spin briefly between
//   jobs (a model runs dozens of parallel regions back to back) and then sleep on a futex.
// Chunks are disjoint and the split never changes what a chunk computes, so results are
// bitwise identical for any thread count. A parallel_for inside a chunk runs inline.
#pragma once

namespace sg {

int threads();       // threads that parallel_for uses now (1 in the standalone build)
int thread_index();  // 0 on the calling thread, 1 … threads() - 1 on pool workers
int max_threads();   // upper bound of threads() (and of thread_index() + 1)

// Calls fn(ctx, begin, end) on disjoint chunks [begin, end) covering [0, n), at least `grain`
// items each (except the last). Returns when every chunk is done.
void parallel_for(int n, int grain, void (*fn)(void* ctx, int begin, int end), void* ctx);

template <class F>
inline void parallel_for(int n, int grain, F& f) {
  parallel_for(n, grain, [](void* c, int b, int e) { (*(F*)c)(b, e); }, &f);
}

} // namespace sg

// Exported by the pthreads build only (see Makefile `wasm-mt`): set the number of threads
// (clamped to [1, max]; starts pool workers; returns the count in effect), and how many of
// them have started (hosts wait for all before the first run: a browser main thread must not
// block while a worker is still loading).
extern "C" {
int sg_threads_set(int n);
int sg_threads_get(void);
int sg_threads_ready(void);
int sg_threads_max(void);
}
