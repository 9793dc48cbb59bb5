// f32 GEMM for NCHW convolutions and Gemm/MatMul: row-major A (weights or activations),
// row-major B, vectorized along the columns of B and C (H·W for a convolution).
#pragma once
#include "activation.h"

namespace sg {

// For each output row r — rows[0..nrows) when `rows` is given (a gated run computes a subset of
// output channels), else 0..nrows-1:
//   C[r, j] = act(init + sum_k A[r, k] * B[k, j])   for j in [0, N)
// where init = C[r, j] when `accumulate`, else bias[r] (0 when bias is null).
// A rows are K contiguous floats `lda` apart; B is [K, N] with row stride `ldb`; C rows `ldc`
// apart. No alignment required. Rows not listed are left untouched.
void f32_gemm_4x8_simd128(int nrows, const int* rows, int N, int K,
                          const float* A, int lda, const float* B, int ldb,
                          float* C, int ldc, const float* bias, bool accumulate, const Act& act);

} // namespace sg
