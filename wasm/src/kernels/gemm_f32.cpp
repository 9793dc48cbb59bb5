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

void f32_gemm_4x8_simd128(int nrows, const int* rows, int N, int K,
                          const float* A, int lda, const float* B, int ldb, int b_panel,
                          float* C, int ldc, const float* bias, bool accumulate, const Act& act) {
  if (nrows <= 0 || N <= 0) return;
  // ~128 KiB of B per column block (a multiple of 8 columns, at least 8).
  int nc = K > 0 ? (32768 / K) & ~7 : N;
  if (nc < 8) nc = 8;
  for (int j0 = 0; j0 < N; j0 += nc) {
    int j1 = N - j0 < nc ? N : j0 + nc;
    for (int i = 0; i < nrows; i += 4) {
      int mr = nrows - i < 4 ? nrows - i : 4;
      const float* a[4];
      float* c[4];
      float bias_r[4];
      for (int r = 0; r < mr; r++) {
        int row = rows ? rows[i + r] : i + r;
        a[r] = A + (ptrdiff_t)row * lda;
        c[r] = C + (ptrdiff_t)row * ldc;
        bias_r[r] = bias ? bias[row] : 0.0f;
      }
      switch (mr) {
        case 4: gemm_rows<4>(a, c, bias_r, j0, j1, K, B, ldb, b_panel, accumulate, act); break;
        case 3: gemm_rows<3>(a, c, bias_r, j0, j1, K, B, ldb, b_panel, accumulate, act); break;
        case 2: gemm_rows<2>(a, c, bias_r, j0, j1, K, B, ldb, b_panel, accumulate, act); break;
        default: gemm_rows<1>(a, c, bias_r, j0, j1, K, B, ldb, b_panel, accumulate, act); break;
      }
    }
  }
}

} // namespace sg
