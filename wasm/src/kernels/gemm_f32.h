// f32 GEMM for NCHW convolutions and Gemm/MatMul: row-major A (weights or activations),
// row-major B, vectorized along the columns of B and C (H·W for a convolution).
#pragma once
#include "activation.h"

namespace sg {

// For each output row r — rows[0..nrows) when `rows` is given (a gated run computes a subset of
// output channels), else 0..nrows-1:
//   C[r, j] = act(init + sum_k A[r, k] * B[k, j])   for j in [0, N)
// where init = C[r, j] when `accumulate`, else bias[r] (0 when bias is null).
// A rows are K contiguous floats `lda` apart; C rows `ldc` apart. B element (k, j) is at
//   B[(j / 8) * b_panel + j % 8 + k * ldb]
// so a plain row-major B [K, N] is b_panel = 8, ldb = row stride, and a B packed in panels of
// 8 columns (K rows of 8 floats each; what im2col writes, so that the microkernel reads one
// contiguous stream) is b_panel = 8·K, ldb = 8. No alignment required. Rows not listed are
// left untouched. In the pthreads build the work (row groups × column blocks) is split over
// threads (parallel.h) when it is large enough; results are identical for any thread count.
void f32_gemm_4x8_simd128(int nrows, const int* rows, int N, int K,
                          const float* A, int lda, const float* B, int ldb, int b_panel,
                          float* C, int ldc, const float* bias, bool accumulate, const Act& act);

} // namespace sg
