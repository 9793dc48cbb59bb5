// f32 convolution helpers for NCHW: im2col tiles feeding f32_gemm_4x8_simd128, and a direct
// depthwise kernel. Pointers and sizes only.
#pragma once
#include "activation.h"

namespace sg {

// 2-D geometry of one convolution or pooling window (pads: top, left; the bottom/right pads
// are implied by the output size).
struct Conv2dGeom {
  int H, W;     // input plane
  int kH, kW;   // kernel
  int sH, sW;   // strides
  int dH, dW;   // dilations
  int pT, pL;   // top and left pads
  int Ho, Wo;   // output plane
};

// Columns [j0, j0 + nb) of the im2col matrix of x (C planes of H×W): row r = (c, ky, kx),
// column j = oy·Wo + ox holds x[c, oy·sH - pT + ky·dH, ox·sW - pL + kx·dW], 0 outside the
// input. buf is packed in panels of 8 columns for f32_gemm_4x8_simd128 (b_panel = 8·K, ldb = 8):
// local column t of row r is at buf[(t / 8)·8·K + r·8 + t % 8], K = C·kH·kW, so it needs
// ceil(nb / 8)·8·K floats.
void f32_im2col_tile(const float* x, int C, const Conv2dGeom& g, int j0, int nb, float* buf);

// Floats of scratch f32_dwconv_simd128 needs for geometry g.
size_t f32_dwconv_scratch(const Conv2dGeom& g);

// One channel of a depthwise convolution: y[Ho, Wo] = act(bias + x[H, W] ⋆ w[kH, kW]). The
// input is first copied into a zero-padded plane (scratch), so the inner loops have no bounds
// checks; lanes run along the output row (stride 1: plain loads; stride 2: two loads and an
// even-lane shuffle; other strides: gathered lanes).
void f32_dwconv_simd128(const float* x, const float* w, float bias, const Conv2dGeom& g,
                        const Act& act, float* y, float* scratch);

// Depthwise convolution of the channels c = chans[0..n) (0..n-1 when chans is null) of x
// [C, H·W] into y [C, Ho·Wo]: f32_dwconv_simd128 per channel, channels split over threads,
// each thread with its own scratch (scratch.h; reserve f32_dwconv_scratch(g) floats).
// bias may be null (0).
void f32_dwconv_channels_simd128(const float* x, const float* w, const float* bias, int n,
                                 const int* chans, const Conv2dGeom& g, const Act& act, float* y);

// A convolution (one group) by im2col tiles and the GEMM: for rows r = rows[0..nrows) (0..
// nrows-1 when rows is null), y[r, j] = act(bias[r] + W[r, :] · im2col(x)[:, j]) over all
// Ho·Wo columns j; W is [*, K] row-major (K = C·kH·kW), bias may be null, y rows Ho·Wo apart.
// Tiles of `tile` columns (a multiple of 8, or all columns) are im2col'ed into the calling
// thread's scratch (reserve K·round8(tile) floats); with threads, whole tiles go to threads
// when there are enough of them, else each tile's GEMM is split.
void f32_conv_im2col_gemm(const float* x, int C, const Conv2dGeom& g, int nrows, const int* rows,
                          const float* W, int K, const float* bias, const Act& act, float* y,
                          int tile);

} // namespace sg
