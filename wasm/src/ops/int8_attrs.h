// Checks shared by the int8 compute ops (conv_int8.cpp, gemm_int8.cpp): the activation
// quantization attributes, the int8 weights and their per-output-channel scales, the bias.
#pragma once
#include <math.h>
#include <stdlib.h>
#include "compute_attrs.h"
#include "../kernels/gemm_i8.h"

namespace sg {

// x_scale (finite, > 0) and x_zero_point (0..255): the calibrated uint8 quantization of input 0.
static inline bool attr_input_quant(OpCtx& ctx, QuantParams* q, float* x_scale) {
  float scale;
  int64_t zp;
  if (!attr_float1(ctx, "x_scale", &scale) || !attr_int_in(ctx, "x_zero_point", 0, 255, &zp)) return false;
  if (!(scale > 0) || !isfinite(scale) || !isfinite(1.0f / scale))
    return ctx.fail("attribute 'x_scale' = %g, expected a finite value > 0", (double)scale);
  *q = quant_params(scale, (int)zp);
  *x_scale = scale;
  return true;
}

// Input `i` must be an int8 constant (the weights).
static inline bool check_int8_constant(OpCtx& ctx, int i, const int8_t** out) {
  const Tensor& t = ctx.input(i);
  if (t.kind != TK_CONSTANT || t.dtype != DT_I8)
    return ctx.fail("tensor '%s' must be an int8 constant (kind %d, %s)", t.name.c_str(), (int)t.kind,
                    dtype_name(t.dtype));
  *out = (const int8_t*)t.data;
  return true;
}

// Input `i`: a float32 constant of shape [n] (per-output-channel scales or the bias).
static inline bool check_vector_constant(OpCtx& ctx, int i, int64_t n, const float** out) {
  const Tensor& t = ctx.input(i);
  int64_t want[1] = {n};
  return check_f32(ctx, t) && check_shape(ctx, t, make_shape(1, want)) && constant_input(ctx, i, out);
}

// The epilogue's per-row scale (w_scale[r] · x_scale, rounded to float32 as the reference does)
// and bias (0 when absent), both [n]. False when out of memory.
static inline bool epilogue_vectors(OpCtx& ctx, int64_t n, const float* w_scale, float x_scale,
                                    const float* bias, float** scale_out, float** bias_out) {
  *scale_out = (float*)malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  *bias_out = (float*)malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  if (!*scale_out || !*bias_out) return ctx.fail("out of memory for %lld scales", (long long)n);
  for (int64_t r = 0; r < n; r++) {
    (*scale_out)[r] = w_scale[r] * x_scale;
    (*bias_out)[r] = bias ? bias[r] : 0.0f;
  }
  return true;
}

} // namespace sg
