// int8 GEMM / GEMV and the quantizing packers, WASM SIMD128 (see gemm_i8.h).
//
// Microkernel i8_gemm_4x8: MR (≤ 4) rows × 8 columns in 2·MR i32x4 accumulators. Per pair of
// reduction rows it loads 16 int16 of B (8 columns × 2 rows, two v128), splats one (a[2t],
// a[2t+1]) int16 pair per A row (v128.load32_splat) and does 2·MR i32x4.dot_i16x8_s + add: 64
// multiply-adds for 4×8 (the f32 kernel does 32 in as many instructions), with half the bytes of
// B. 11 live vectors, as in the f32 kernel. Everything in int32 is exact; the float epilogue
// (convert, × scale, + bias, activation) is the one place that rounds.
#include "gemm_i8.h"
#include <math.h>
#include <stddef.h>
#include <string.h>

namespace sg {

QuantParams quant_params(float x_scale, int zero_point) {
  QuantParams q;
  q.inv_scale = 1.0f / x_scale;
  q.lo = (float)-zero_point;
  q.hi = (float)(255 - zero_point);
  return q;
}

static inline int16_t quant1(float x, const QuantParams& q) {
  float v = nearbyintf(x * q.inv_scale);
  if (v != v) return 0; // NaN (the SIMD path gives 0 too)
  v = v < q.lo ? q.lo : v;
  v = v > q.hi ? q.hi : v;
  return (int16_t)v;
}

static inline v128_t quant4(v128_t x, v128_t inv, v128_t lo, v128_t hi) {
  v128_t v = wasm_f32x4_nearest(wasm_f32x4_mul(x, inv));
  v = wasm_f32x4_min(wasm_f32x4_max(v, lo), hi); // NaN stays NaN, trunc_sat makes it 0
  return wasm_i32x4_trunc_sat_f32x4(v);
}

static inline v128_t quant8(const float* p, v128_t inv, v128_t lo, v128_t hi) {
  return wasm_i16x8_narrow_i32x4(quant4(wasm_v128_load(p), inv, lo, hi),
                                 quant4(wasm_v128_load(p + 4), inv, lo, hi));
}

void i8_quantize_row_simd128(const float* x, int n, const QuantParams& q, int16_t* dst) {
  const v128_t inv = wasm_f32x4_splat(q.inv_scale), lo = wasm_f32x4_splat(q.lo), hi = wasm_f32x4_splat(q.hi);
  int i = 0;
  for (; i + 8 <= n; i += 8) wasm_v128_store(dst + i, quant8(x + i, inv, lo, hi));
  for (; i < n; i++) dst[i] = quant1(x[i], q);
  for (; i & 7; i++) dst[i] = 0;
}

void i8_pack_rows_simd128(const float* x, int ldx, int K, int j0, int nb, const QuantParams& q, int16_t* buf) {
  const int Kp = K + (K & 1), pairs = Kp / 2;
  const v128_t inv = wasm_f32x4_splat(q.inv_scale), lo = wasm_f32x4_splat(q.lo), hi = wasm_f32x4_splat(q.hi);
  const v128_t zero = wasm_i16x8_splat(0);
  int t = 0;
  for (; t + 8 <= nb; t += 8) {
    int16_t* panel = buf + (ptrdiff_t)(t / 8) * 8 * Kp;
    const float* col = x + j0 + t;
    for (int p = 0; p < pairs; p++) {
      v128_t a = quant8(col + (ptrdiff_t)(2 * p) * ldx, inv, lo, hi);
      v128_t b = 2 * p + 1 < K ? quant8(col + (ptrdiff_t)(2 * p + 1) * ldx, inv, lo, hi) : zero;
      wasm_v128_store(panel + 16 * p, wasm_i16x8_shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11));
      wasm_v128_store(panel + 16 * p + 8, wasm_i16x8_shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15));
    }
  }
  if (t < nb) { // last, partial panel
    int16_t* panel = buf + (ptrdiff_t)(t / 8) * 8 * Kp;
    memset(panel, 0, sizeof(int16_t) * 8 * Kp);
    for (int k = 0; k < K; k++)
      for (int c = 0; c < nb - t; c++)
        panel[(k / 2) * 16 + c * 2 + (k & 1)] = quant1(x[(ptrdiff_t)k * ldx + j0 + t + c], q);
  }
}

void i8_im2col_tile(const float* x, int C, const Conv2dGeom& g, int j0, int nb, const QuantParams& q, int16_t* buf) {
  const int K = C * g.kH * g.kW, Kp = K + (K & 1);
  memset(buf, 0, sizeof(int16_t) * (size_t)((nb + 7) / 8) * 8 * Kp);
  int k = 0;
  for (int c = 0; c < C; c++) {
    const float* plane = x + (ptrdiff_t)c * g.H * g.W;
    for (int ky = 0; ky < g.kH; ky++) {
      for (int kx = 0; kx < g.kW; kx++, k++) {
        int16_t* row = buf + (k / 2) * 16 + (k & 1);
        int oy = j0 / g.Wo, ox = j0 % g.Wo;
        for (int t = 0; t < nb; t++) {
          int iy = oy * g.sH - g.pT + ky * g.dH, ix = ox * g.sW - g.pL + kx * g.dW;
          if (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W)
            row[(ptrdiff_t)(t / 8) * 8 * Kp + (t & 7) * 2] = quant1(plane[(ptrdiff_t)iy * g.W + ix], q);
          if (++ox == g.Wo) ox = 0, oy++;
        }
      }
    }
  }
}

template <int MR>
static void i8_rows(const int16_t* const* a, float* const* c, const float* sc, const float* bi, int N,
                    int Kp, const int16_t* B, const Act& act) {
  const int pairs = Kp / 2;
  for (int j = 0; j < N; j += 8) {
    const int16_t* b = B + (ptrdiff_t)(j / 8) * 8 * Kp;
    v128_t acc0[MR], acc1[MR];
    for (int r = 0; r < MR; r++) acc0[r] = acc1[r] = wasm_i32x4_splat(0);
    for (int p = 0; p < pairs; p++, b += 16) {
      v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 8);
      for (int r = 0; r < MR; r++) {
        v128_t av = wasm_v128_load32_splat(a[r] + 2 * p);
        acc0[r] = wasm_i32x4_add(acc0[r], wasm_i32x4_dot_i16x8(av, b0));
        acc1[r] = wasm_i32x4_add(acc1[r], wasm_i32x4_dot_i16x8(av, b1));
      }
    }
    for (int r = 0; r < MR; r++) {
      v128_t s = wasm_f32x4_splat(sc[r]), o = wasm_f32x4_splat(bi[r]);
      v128_t y0 = act_f32x4(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc0[r]), s), o), act);
      v128_t y1 = act_f32x4(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc1[r]), s), o), act);
      if (j + 8 <= N) {
        wasm_v128_store(c[r] + j, y0);
        wasm_v128_store(c[r] + j + 4, y1);
      } else {
        float tmp[8];
        wasm_v128_store(tmp, y0);
        wasm_v128_store(tmp + 4, y1);
        for (int t = 0; t < N - j; t++) c[r][j + t] = tmp[t];
      }
    }
  }
}

void i8_gemm_4x8_simd128(int nrows, int N, int Kp, const int16_t* A, const int16_t* B, float* C,
                         int ldc, const float* scale, const float* bias, const Act& act) {
  for (int i = 0; i < nrows; i += 4) {
    int mr = nrows - i < 4 ? nrows - i : 4;
    const int16_t* a[4];
    float* c[4];
    for (int r = 0; r < mr; r++) {
      a[r] = A + (ptrdiff_t)(i + r) * Kp;
      c[r] = C + (ptrdiff_t)(i + r) * ldc;
    }
    switch (mr) {
      case 4: i8_rows<4>(a, c, scale + i, bias + i, N, Kp, B, act); break;
      case 3: i8_rows<3>(a, c, scale + i, bias + i, N, Kp, B, act); break;
      case 2: i8_rows<2>(a, c, scale + i, bias + i, N, Kp, B, act); break;
      default: i8_rows<1>(a, c, scale + i, bias + i, N, Kp, B, act); break;
    }
  }
}

static inline int32_t hsum(v128_t v) {
  return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) +
         wasm_i32x4_extract_lane(v, 2) + wasm_i32x4_extract_lane(v, 3);
}

void i8_gemv_dotk_simd128(int N, int Kp, const int16_t* W, const int16_t* x, float* y,
                          const float* scale, const float* bias, const Act& act) {
  int n = 0;
  for (; n + 4 <= N; n += 4) {
    const int16_t* w = W + (ptrdiff_t)n * Kp;
    v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (int k = 0; k < Kp; k += 8) {
      v128_t xv = wasm_v128_load(x + k);
      a0 = wasm_i32x4_add(a0, wasm_i32x4_dot_i16x8(wasm_v128_load(w + k), xv));
      a1 = wasm_i32x4_add(a1, wasm_i32x4_dot_i16x8(wasm_v128_load(w + Kp + k), xv));
      a2 = wasm_i32x4_add(a2, wasm_i32x4_dot_i16x8(wasm_v128_load(w + 2 * Kp + k), xv));
      a3 = wasm_i32x4_add(a3, wasm_i32x4_dot_i16x8(wasm_v128_load(w + 3 * Kp + k), xv));
    }
    int32_t s[4] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3)};
    for (int r = 0; r < 4; r++) y[n + r] = act_f32((float)s[r] * scale[n + r] + bias[n + r], act);
  }
  for (; n < N; n++) {
    const int16_t* w = W + (ptrdiff_t)n * Kp;
    v128_t a = wasm_i32x4_splat(0);
    for (int k = 0; k < Kp; k += 8) a = wasm_i32x4_add(a, wasm_i32x4_dot_i16x8(wasm_v128_load(w + k), wasm_v128_load(x + k)));
    y[n] = act_f32((float)hsum(a) * scale[n] + bias[n], act);
  }
}

} // namespace sg
