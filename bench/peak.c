// SIMD peak microbenchmark for `sparsegate bench`: the f32x4 mul+add throughput of the engine
// running it, measured the way the GEMM microkernel uses it: CHAINS accumulators, each
// acc += y * m[c] per iteration with y loaded from a small L1-resident table (so nothing is
// loop-invariant), i.e. one f32x4.mul + one f32x4.add = 8 flops per chain and iteration.
// The products are off the accumulators' dependency chains, as in the GEMM, so the add
// latency is hidden and the bound is the mul/add issue rate. Built by `make bench-peak` into
// build/peak.wasm (standalone, no imports). Call with scale = 1.
#include <wasm_simd128.h>

#define CHAINS 10

__attribute__((export_name("peak_chains"))) int peak_chains(void) { return CHAINS; }

static float table[32] __attribute__((aligned(16)));
static float sink[4 * CHAINS] __attribute__((aligned(16)));

__attribute__((export_name("peak_f32x4_muladd"))) float peak_f32x4_muladd(int iters, float scale) {
  v128_t acc[CHAINS], m[CHAINS];
  for (int i = 0; i < 32; i++) table[i] = 1e-7f * (float)(i + 1);
  for (int c = 0; c < CHAINS; c++) {
    acc[c] = wasm_f32x4_splat((float)c);
    m[c] = wasm_f32x4_splat(scale * (0.5f + 0.01f * (float)c)); // not v128.const: V8 would rebuild it every iteration
  }
  for (int i = 0; i < iters; i++) {
    v128_t y = wasm_v128_load(table + 4 * (i & 7));
    for (int c = 0; c < CHAINS; c++) acc[c] = wasm_f32x4_add(acc[c], wasm_f32x4_mul(y, m[c]));
  }
  float s = 0;
  for (int c = 0; c < CHAINS; c++) {
    wasm_v128_store(sink + 4 * c, acc[c]);
    s += sink[4 * c];
  }
  return s;
}
