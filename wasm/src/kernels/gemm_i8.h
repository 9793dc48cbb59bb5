// int8 kernels for quantized convolutions and Gemm (docs/architecture.md, "Quantized kernels").
// Weights are int8 (widened once to int16 when a session is created); activations arrive as
// float32 and are quantized to asymmetric uint8 while being packed, stored minus their zero
// point as int16 in [-255, 255]. Products are summed exactly in int32 with i32x4.dot_i16x8_s
// (two products per lane per instruction); the epilogue converts to float32, multiplies by a
// per-row scale, adds the bias and applies the fused activation. Pointers and sizes only.
#pragma once
#include <stdint.h>
#include "activation.h"
#include "conv_f32.h"

namespace sg {

// Quantization of one activation tensor: q = clamp(nearest(x · inv_scale) + zp, 0, 255) with
// nearest = round half to even; kernels keep q − zp = clamp(nearest(x · inv_scale), lo, hi)
// with lo = −zp, hi = 255 − zp (the same number).
struct QuantParams {
  float inv_scale; // 1 / x_scale, rounded to float32 once (the reference does the same)
  float lo, hi;
};
QuantParams quant_params(float x_scale, int zero_point);

// Largest reduction length the int32 accumulators hold without overflow:
// 65536 · 128 · 255 < 2^31.
constexpr int kI8MaxK = 65536;

// Activations packed for i8_gemm_4x8_simd128: panels of 8 columns; inside a panel, for each pair
// of reduction rows t (rows 2t and 2t+1) 16 int16 (x[2t][j], x[2t+1][j]) for the 8 columns j, so
// element (k, j) is at buf[(j / 8)·8·Kp + (k / 2)·16 + (j % 8)·2 + k % 2]. Kp = K rounded up to
// even; the pad row and the columns past nb are 0. A tile of nb columns needs ceil(nb/8)·8·Kp int16.

// Columns [j0, j0 + nb) of the K rows of x (row stride ldx floats), quantized (1×1 convolution).
void i8_pack_rows_simd128(const float* x, int ldx, int K, int j0, int nb, const QuantParams& q, int16_t* buf);

// Columns [j0, j0 + nb) of the im2col matrix of x (C planes of H×W, rows (c, ky, kx)),
// quantized; padding is the real value 0 (q − zp = 0).
void i8_im2col_tile(const float* x, int C, const Conv2dGeom& g, int j0, int nb, const QuantParams& q, int16_t* buf);

// For each row r in [0, nrows):  C[r, j] = act(float(Σ_k A[r, k]·B[k, j]) · scale[r] + bias[r])
// for j in [0, N). A: nrows rows of Kp int16 (row-major, the pad column 0); B: packed as above.
// Only columns j < N are written.
void i8_gemm_4x8_simd128(int nrows, int N, int Kp, const int16_t* A, const int16_t* B, float* C,
                         int ldc, const float* scale, const float* bias, const Act& act);

// Quantizes n floats into int16 q − zp (dst needs round_up(n, 8) entries; the tail is 0).
void i8_quantize_row_simd128(const float* x, int n, const QuantParams& q, int16_t* dst);

// Y[n] = act(float(Σ_k W[n, k]·x[k]) · scale[n] + bias[n]) for n in [0, N): one row of a Gemm.
// W: N rows of Kp int16 (Kp a multiple of 8, pad columns 0); x: Kp int16 (quantized, pad 0).
void i8_gemv_dotk_simd128(int N, int Kp, const int16_t* W, const int16_t* x, float* y,
                          const float* scale, const float* bias, const Act& act);

} // namespace sg
