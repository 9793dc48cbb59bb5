// Block-sparse f32 kernels, WASM SIMD128. One template per kernel, instantiated per block
// shape (BH × BW) and pixel tile (NT vectors of 4 columns):
//
// f32_spmm: a tile holds BH output rows × 4·NT columns in BH·NT f32x4 accumulators (bias
// first). Per nonzero block and per block column c it loads NT vectors of X's row k0 + c and
// FMAs them with the BH weights of that column, each broadcast by v128.load32_splat. A BH×1
// block reuses one X vector for BH rows (the same shape as the dense 4×8 microkernel, minus the
// zero blocks); a 1×BW block loads BW rows of X per block (more loads per FMA, fewer indices).
// Tiles: BH·NT ≤ 8 accumulators keep everything in the x86-64 XMM registers V8 and Cranelift
// leave free. Columns are processed in blocks of ~128 KiB of X, rows blocks inside, so a
// column block of X stays in cache while every row block passes over it. Column tails: a
// 4-column tile, then scalars (scalar activation, as the dense GEMM's tail).
//
// f32_spmv (Gemm with one row of activations): lanes along the output rows for BH×1 blocks
// (a block is one or two vectors of weights times a broadcast input), along the block's
// columns for 1×BW blocks (one vector FMA per block, a horizontal sum per row at the end).
#include "spmm_f32.h"
#include <stddef.h>

namespace sg {

// One tile: BH rows × 4·NT columns starting at x (X's column j, row 0). NT is 1 or even, and
// for an even NT, j is a multiple of 8: vector v then sits (v / 2) panels and 4·(v % 2) floats
// past x, so one base pointer addresses the whole tile (few live integer registers).
template <int BH, int BW, int NT>
static void spmm_tile(const int* rp, int rb, const int* x_off, const float* values,
                      const float* x, int ldx, int x_panel, float* const* yr, int mr,
                      const float* bias_r, const Act& act) {
  v128_t acc[BH][NT];
  for (int r = 0; r < BH; r++)
    for (int v = 0; v < NT; v++) acc[r][v] = wasm_f32x4_splat(bias_r[r]);
  for (int b = rp[rb], e = rp[rb + 1]; b < e; b++) {
    const float* w = values + (ptrdiff_t)b * (BH * BW);
    const float* xk = x + x_off[b];
    for (int c = 0; c < BW; c++, xk += ldx) {
      v128_t xv[NT];
      for (int v = 0; v < NT; v++) xv[v] = wasm_v128_load(xk + (v >> 1) * x_panel + (v & 1) * 4);
      for (int r = 0; r < BH; r++) {
        v128_t ws = wasm_v128_load32_splat(w + r * BW + c);
        for (int v = 0; v < NT; v++) acc[r][v] = wasm_f32x4_add(acc[r][v], wasm_f32x4_mul(ws, xv[v]));
      }
    }
  }
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < NT; v++) wasm_v128_store(yr[r] + 4 * v, act_f32x4(acc[r][v], act));
}

template <int BH, int BW>
static void spmm_col(const int* rp, int rb, const int* x_off, const float* values,
                     const float* xb, int ldx, float* const* yr, int mr, const float* bias_r,
                     const Act& act) {
  float acc[BH];
  for (int r = 0; r < BH; r++) acc[r] = bias_r[r];
  for (int b = rp[rb], e = rp[rb + 1]; b < e; b++) {
    const float* w = values + (ptrdiff_t)b * (BH * BW);
    const float* x = xb + x_off[b];
    for (int c = 0; c < BW; c++)
      for (int r = 0; r < BH; r++) acc[r] += w[r * BW + c] * x[(ptrdiff_t)c * ldx];
  }
  for (int r = 0; r < mr; r++) yr[r][0] = act_f32(acc[r], act);
}

template <int BH, int BW, int NT>
static void spmm(int M, int N, int K, const int* rp, const int* x_off, const float* values,
                 const float* X, int ldx, int x_panel, float* Y, int ldy, const float* bias,
                 const Act& act) {
  if (M <= 0 || N <= 0) return;
  const int nrb = (M + BH - 1) / BH;
  // ~128 KiB of X per column block (a multiple of 8 columns, at least 8).
  int nc = K > 0 ? (32768 / K) & ~7 : N;
  if (nc < 8) nc = 8;
  static_assert(NT == 1 || NT % 2 == 0, "tiles of 4·NT columns: NT is 1 or even");
  float* yr[BH];
  for (int j0 = 0; j0 < N; j0 += nc) {
    const int j1 = N - j0 < nc ? N : j0 + nc;
    for (int rb = 0; rb < nrb; rb++) {
      const int r0 = rb * BH, mr = M - r0 < BH ? M - r0 : BH;
      float bias_r[BH];
      float* yrow[BH];
      for (int r = 0; r < BH; r++) {
        bias_r[r] = bias && r < mr ? bias[r0 + r] : 0.0f;
        yrow[r] = Y + (ptrdiff_t)(r0 + (r < mr ? r : 0)) * ldy; // rows past M are never stored
      }
      int j = j0;
      for (; j + 4 * NT <= j1; j += 4 * NT) { // j0 and nc are multiples of 8
        for (int r = 0; r < BH; r++) yr[r] = yrow[r] + j;
        spmm_tile<BH, BW, NT>(rp, rb, x_off, values, X + (ptrdiff_t)(j >> 3) * x_panel + (j & 7), ldx,
                              x_panel, yr, mr, bias_r, act);
      }
      for (; j + 4 <= j1; j += 4) {
        for (int r = 0; r < BH; r++) yr[r] = yrow[r] + j;
        spmm_tile<BH, BW, 1>(rp, rb, x_off, values, X + (ptrdiff_t)(j >> 3) * x_panel + (j & 7),
                             ldx, x_panel, yr, mr, bias_r, act);
      }
      for (; j < j1; j++) {
        for (int r = 0; r < BH; r++) yr[r] = yrow[r] + j;
        spmm_col<BH, BW>(rp, rb, x_off, values, X + (ptrdiff_t)(j >> 3) * x_panel + (j & 7),
                         ldx, yr, mr, bias_r, act);
      }
    }
  }
}

bool f32_spmm_supported(int bh, int bw) {
  return (bh == 1 && bw == 1) || (bh == 1 && bw == 4) || (bh == 4 && bw == 1) ||
         (bh == 8 && bw == 1);
}

void f32_spmm_simd128(int bh, int bw, int M, int N, int K, const int* row_ptr, const int* x_off,
                      const float* values, const float* X, int ldx, int x_panel, float* Y,
                      int ldy, const float* bias, const Act& act) {
  if (bh == 1 && bw == 1) spmm<1, 1, 8>(M, N, K, row_ptr, x_off, values, X, ldx, x_panel, Y, ldy, bias, act);
  else if (bh == 1 && bw == 4) spmm<1, 4, 4>(M, N, K, row_ptr, x_off, values, X, ldx, x_panel, Y, ldy, bias, act);
  else if (bh == 4 && bw == 1) spmm<4, 1, 2>(M, N, K, row_ptr, x_off, values, X, ldx, x_panel, Y, ldy, bias, act);
  else if (bh == 8 && bw == 1) spmm<8, 1, 1>(M, N, K, row_ptr, x_off, values, X, ldx, x_panel, Y, ldy, bias, act);
}

// ---- sparse matrix × vector ----

template <int BH, int BW>
static void spmv(int M, const int* rp, const int* col0, const float* values, const float* a,
                 float* y) {
  const int nrb = (M + BH - 1) / BH;
  for (int rb = 0; rb < nrb; rb++) {
    const int r0 = rb * BH, mr = M - r0 < BH ? M - r0 : BH;
    if (BW == 1 && BH % 4 == 0) { // lanes along the block's rows
      v128_t acc[BH / 4];
      for (int q = 0; q < BH / 4; q++) acc[q] = wasm_f32x4_splat(0.0f);
      for (int b = rp[rb], e = rp[rb + 1]; b < e; b++) {
        v128_t s = wasm_v128_load32_splat(a + col0[b]);
        const float* w = values + (ptrdiff_t)b * BH;
        for (int q = 0; q < BH / 4; q++)
          acc[q] = wasm_f32x4_add(acc[q], wasm_f32x4_mul(wasm_v128_load(w + 4 * q), s));
      }
      float out[BH];
      for (int q = 0; q < BH / 4; q++) wasm_v128_store(out + 4 * q, acc[q]);
      for (int r = 0; r < mr; r++) y[r0 + r] = out[r];
    } else if (BH == 1 && BW % 4 == 0) { // lanes along the block's columns
      v128_t acc = wasm_f32x4_splat(0.0f);
      for (int b = rp[rb], e = rp[rb + 1]; b < e; b++) {
        const float* w = values + (ptrdiff_t)b * BW;
        const float* x = a + col0[b];
        for (int q = 0; q < BW / 4; q++)
          acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(w + 4 * q), wasm_v128_load(x + 4 * q)));
      }
      y[r0] = (wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) +
              (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3));
    } else {
      float acc[BH];
      for (int r = 0; r < BH; r++) acc[r] = 0;
      for (int b = rp[rb], e = rp[rb + 1]; b < e; b++) {
        const float* w = values + (ptrdiff_t)b * BH * BW;
        const float* x = a + col0[b];
        for (int r = 0; r < BH; r++)
          for (int c = 0; c < BW; c++) acc[r] += w[r * BW + c] * x[c];
      }
      for (int r = 0; r < mr; r++) y[r0 + r] = acc[r];
    }
  }
}

void f32_spmv_simd128(int bh, int bw, int M, const int* row_ptr, const int* col0,
                      const float* values, const float* a, float* y) {
  if (bh == 1 && bw == 1) spmv<1, 1>(M, row_ptr, col0, values, a, y);
  else if (bh == 1 && bw == 4) spmv<1, 4>(M, row_ptr, col0, values, a, y);
  else if (bh == 4 && bw == 1) spmv<4, 1>(M, row_ptr, col0, values, a, y);
  else if (bh == 8 && bw == 1) spmv<8, 1>(M, row_ptr, col0, values, a, y);
}

} // namespace sg
