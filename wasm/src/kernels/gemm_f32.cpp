// Register-blocked f32 GEMM, WASM SIMD128.
//
// Microkernel: MR (≤ 4) rows × 8 columns, 2·MR f32x4 accumulators. Per k it loads 8 floats of
// B (two v128 loads), broadcasts one float of each A row (v128.load32_splat) and does 2·MR
// mul+add pairs: 4 rows × 8 columns keeps 8 accumulators + 2 B vectors + 1 splat in 11
// registers, which fits the 16 XMM registers that V8 and Cranelift have on x86-64.
// Columns are processed in blocks of `nc` so that a K × nc block of B stays in cache while every
// row group streams over it; B packed in 8-column panels (im2col) makes each tile's reads one
// contiguous stream instead of K cache lines `ldb` apart. Tails: a 4-column block, then scalar columns; rows that do not fill
// a group of 4 use the same kernel with MR = 3, 2, 1.
#include "gemm_f32.h"
#include "parallel.h"
#include <stddef.h>

namespace sg {

template <int MR>
static void gemm_rows(const float* const* a, float* const* c, const float* bias_r, int j0,
                      int j1, int K, const float* B, int ldb, int b_panel, bool accumulate,
                      const Act& act) {
  int j = j0;
  for (; j + 8 <= j1; j += 8) {
    v128_t acc0[MR], acc1[MR];
    for (int r = 0; r < MR; r++) {
      if (accumulate) {
        acc0[r] = wasm_v128_load(c[r] + j);
        acc1[r] = wasm_v128_load(c[r] + j + 4);
      } else {
        acc0[r] = acc1[r] = wasm_f32x4_splat(bias_r[r]);
      }
    }
    const float* b = B + (ptrdiff_t)(j >> 3) * b_panel + (j & 7);
    for (int k = 0; k < K; k++, b += ldb) {
      v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
      for (int r = 0; r < MR; r++) {
        v128_t av = wasm_v128_load32_splat(a[r] + k);
        acc0[r] = wasm_f32x4_add(acc0[r], wasm_f32x4_mul(av, b0));
        acc1[r] = wasm_f32x4_add(acc1[r], wasm_f32x4_mul(av, b1));
      }
    }
    for (int r = 0; r < MR; r++) {
      wasm_v128_store(c[r] + j, act_f32x4(acc0[r], act));
      wasm_v128_store(c[r] + j + 4, act_f32x4(acc1[r], act));
    }
  }
  if (j + 4 <= j1) {
    v128_t acc[MR];
    for (int r = 0; r < MR; r++)
      acc[r] = accumulate ? wasm_v128_load(c[r] + j) : wasm_f32x4_splat(bias_r[r]);
    const float* b = B + (ptrdiff_t)(j >> 3) * b_panel + (j & 7);
    for (int k = 0; k < K; k++, b += ldb) {
      v128_t b0 = wasm_v128_load(b);
      for (int r = 0; r < MR; r++)
        acc[r] = wasm_f32x4_add(acc[r], wasm_f32x4_mul(wasm_v128_load32_splat(a[r] + k), b0));
    }
    for (int r = 0; r < MR; r++) wasm_v128_store(c[r] + j, act_f32x4(acc[r], act));
    j += 4;
  }
  for (; j < j1; j++) {
    float acc[MR];
    for (int r = 0; r < MR; r++) acc[r] = accumulate ? c[r][j] : bias_r[r];
    const float* b = B + (ptrdiff_t)(j >> 3) * b_panel + (j & 7);
    for (int k = 0; k < K; k++, b += ldb)
      for (int r = 0; r < MR; r++) acc[r] += a[r][k] * b[0];
    for (int r = 0; r < MR; r++) c[r][j] = act_f32(acc[r], act);
  }
}

// Row-group height of the microkernel, and its variants for the leftover rows (one template).
// Measured with -DSG_GEMM_MR=5 and 6 (docs/benchmarks.md): 5 ties with 4, 6 is ~12% slower
// on MobileNetV2 in V8 (12 accumulators + 2 B vectors + a splat spill on x86-64).
#ifndef SG_GEMM_MR
#define SG_GEMM_MR 4
#endif
static const int kMR = SG_GEMM_MR;
typedef void (*RowKernel)(const float* const*, float* const*, const float*, int, int, int,
                          const float*, int, int, bool, const Act&);
static const RowKernel kRowKernels[] = {gemm_rows<1>, gemm_rows<2>, gemm_rows<3>, gemm_rows<4>,
#if SG_GEMM_MR > 4
                                        gemm_rows<5>, gemm_rows<6>
#endif
};
static_assert(kMR >= 1 && kMR <= (int)(sizeof(kRowKernels) / sizeof(kRowKernels[0])), "SG_GEMM_MR: 1 … 6");

namespace {
struct GemmArgs {
  int nrows; const int* rows; int N, K; const float* A; int lda; const float* B; int ldb;
  int b_panel; float* C; int ldc; const float* bias; bool accumulate; const Act* act;
  int nc, groups; // columns per block; groups of (up to) 4 rows
};
} // namespace

// Tasks t = block · groups + group: consecutive tasks share one block of B, as the serial
// loop order (every row group over one column block, then the next block).
static void gemm_tasks(void* p, int t0, int t1) {
  const GemmArgs& g = *(const GemmArgs*)p;
  for (int t = t0; t < t1; t++) {
    int j0 = (t / g.groups) * g.nc, i = (t % g.groups) * kMR;
    int j1 = g.N - j0 < g.nc ? g.N : j0 + g.nc;
    int mr = g.nrows - i < kMR ? g.nrows - i : kMR;
    const float* a[kMR];
    float* c[kMR];
    float bias_r[kMR];
    for (int r = 0; r < mr; r++) {
      int row = g.rows ? g.rows[i + r] : i + r;
      a[r] = g.A + (ptrdiff_t)row * g.lda;
      c[r] = g.C + (ptrdiff_t)row * g.ldc;
      bias_r[r] = g.bias ? g.bias[row] : 0.0f;
    }
    const int K = g.K, ldb = g.ldb, bp = g.b_panel;
    const bool acc = g.accumulate;
    const Act& act = *g.act;
    kRowKernels[mr - 1](a, c, bias_r, j0, j1, K, g.B, ldb, bp, acc, act);
  }
}

void f32_gemm_4x8_simd128(int nrows, const int* rows, int N, int K,
                          const float* A, int lda, const float* B, int ldb, int b_panel,
                          float* C, int ldc, const float* bias, bool accumulate, const Act& act) {
  if (nrows <= 0 || N <= 0) return;
  static const float kNoB[8] = {};
  if (K <= 0) B = kNoB, ldb = b_panel = 0;  // an empty reduction: no B (maybe null) to offset
  // ~128 KiB of B per column block (a multiple of 8 columns, at least 8).
  int nc = K > 0 ? (32768 / K) & ~7 : N;
  if (nc < 8) nc = 8;
  const int groups = (nrows + kMR - 1) / kMR;
  const double macs = (double)nrows * N * (K > 0 ? K : 1);
  const int T = threads();
  // Threads: at least ~4 tasks per thread, so narrower column blocks when rows are few.
  if (T > 1 && macs >= 65536.0)
    while ((double)groups * ((N + nc - 1) / nc) < 4.0 * T && nc > 32) nc = (nc / 2 + 7) & ~7;
  const int blocks = (N + nc - 1) / nc;
  GemmArgs g = {nrows, rows, N, K, A, lda, B, ldb, b_panel, C, ldc, bias, accumulate, &act,
                nc, groups};
  // Chunks of at least ~32 K MACs, so that small GEMMs stay on one thread.
  const double task_macs = macs / ((double)groups * blocks);
  int grain = (int)(32768.0 / (task_macs > 1 ? task_macs : 1)) + 1;
  parallel_for(groups * blocks, grain, gemm_tasks, &g);
}

} // namespace sg
