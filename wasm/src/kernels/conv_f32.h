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

} // namespace sg
