// f32 block-sparse × dense kernels, WASM SIMD128 (XNNPACK's SpMM is the prior art).
//
// The sparse matrix W [M, K] is blocked CSR with blocks of bh rows × bw columns: row block i
// (rows i·bh … i·bh + bh − 1) owns blocks row_ptr[i] … row_ptr[i + 1] − 1; block b holds
// values[b·bh·bw …] as [bh][bw] row-major and covers the bw columns starting at column k0(b).
// Pointers and sizes only: the op validated every index (docs/ir.md, "Block-sparse Conv and
// Gemm"); the kernels trust them.
#pragma once
#include "activation.h"

namespace sg {

// Block shapes with a compiled kernel (bh, bw): 1×1, 1×4, 4×1, 8×1.
bool f32_spmm_supported(int bh, int bw);

// Sparse × dense, vectorized along the columns of X and Y (H·W for an NCHW 1×1 or im2col
// convolution): for r < M, j < N
//   Y[r, j] = act(bias[r] + Σ_blocks Σ_(r, c) W[r, c] · X[c, j])      (bias null: 0)
// the activation applied on the registers before the single store (as the dense GEMM).
// x_off[b] is the offset (in floats) of row k0(b) of X: k0(b)·ldx. X element (k, j) is at
//   X[(j / 8)·x_panel + j % 8 + k·ldx]
// (row-major X: x_panel = 8, ldx = N; im2col panels: x_panel = 8·K, ldx = 8, as in
// f32_gemm_4x8_simd128). K (the rows of X) only sizes the cache blocking. Rows of the last row block at or past M are computed and dropped.
void f32_spmm_simd128(int bh, int bw, int M, int N, int K, const int* row_ptr, const int* x_off,
                      const float* values, const float* X, int ldx, int x_panel, float* Y,
                      int ldy, const float* bias, const Act& act);

// Sparse matrix × one vector: y[r] = Σ_blocks Σ_(r, c) W[r, c] · a[c] for r < M (no bias,
// no activation; the caller adds them over the whole row). col0[b] = k0(b), so block b reads
// a[k0(b) … k0(b) + bw − 1].
void f32_spmv_simd128(int bh, int bw, int M, const int* row_ptr, const int* col0,
                      const float* values, const float* a, float* y);

} // namespace sg
