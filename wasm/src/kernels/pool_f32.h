// f32 pooling on NCHW planes. Pointers and sizes only.
#pragma once
#include <stdint.h>
#include "conv_f32.h" // Conv2dGeom

namespace sg {

// MaxPool of one plane. Cells outside the input (padding, and the overhang ceil_mode adds)
// never win; a window with no cell inside the input gives -inf.
void f32_maxpool2d(const float* x, const Conv2dGeom& g, float* y);

// AveragePool of one plane. The divisor counts the window's cells inside the input, plus, when
// count_include_pad, its cells in the padding [-pT, H + pB) × [-pL, W + pR) — never cells past
// the padding, which only ceil_mode adds. A window with nothing to count gives 0.
void f32_avgpool2d(const float* x, const Conv2dGeom& g, int pB, int pR, bool count_include_pad,
                   float* y);

// Sum and maximum of n floats (n ≥ 1 for the max). The sum adds f32x4 partials of blocks of
// 1024 floats in double, so long planes keep float32 accuracy.
double f32_sum_simd128(const float* x, int64_t n);
float f32_max_simd128(const float* x, int64_t n);

} // namespace sg
