// Gated-convolution kernels, WASM SIMD128. See gate_f32.h.
#include "gate_f32.h"
#include "conv_f32.h"
#include <stddef.h>
#include <algorithm>

namespace sg {

void f32_channel_means_simd128(const float* x, int C, int HW, float* mean_abs, float* mean) {
  const float inv = HW > 0 ? 1.0f / (float)HW : 0.0f;
  for (int c = 0; c < C; c++) {
    const float* p = x + (ptrdiff_t)c * HW;
    v128_t sa = wasm_f32x4_splat(0), s = wasm_f32x4_splat(0);
    int i = 0;
    for (; i + 4 <= HW; i += 4) {
      v128_t v = wasm_v128_load(p + i);
      sa = wasm_f32x4_add(sa, wasm_f32x4_abs(v));
      s = wasm_f32x4_add(s, v);
    }
    float ta = wasm_f32x4_extract_lane(sa, 0) + wasm_f32x4_extract_lane(sa, 1) +
               wasm_f32x4_extract_lane(sa, 2) + wasm_f32x4_extract_lane(sa, 3);
    float t = wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) +
              wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3);
    for (; i < HW; i++) {
      ta += fabsf(p[i]);
      t += p[i];
    }
    mean_abs[c] = ta * inv;
    if (mean) mean[c] = t * inv;
  }
}

void f32_matvec_simd128(int M, int K, const float* A, int lda, const float* v,
                        const float* bias, float* y) {
  for (int j = 0; j < M; j++) {
    const float* a = A + (ptrdiff_t)j * lda;
    v128_t acc = wasm_f32x4_splat(0);
    int k = 0;
    for (; k + 4 <= K; k += 4)
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(a + k), wasm_v128_load(v + k)));
    float t = wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) +
              wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
    for (; k < K; k++) t += a[k] * v[k];
    y[j] = (bias ? bias[j] : 0.0f) + t;
  }
}

int gate_select_topk(const float* score, int M, int keep, bool use_threshold, float threshold,
                     int* order, int* kept, unsigned char* is_kept) {
  if (keep > M) keep = M;
  if (keep < 0) keep = 0;
  for (int j = 0; j < M; j++) order[j] = j;
  // A strict weak order also with NaN (NaN ranks below everything, like -inf, then by index).
  auto key = [&](int j) { float s = score[j]; return s == s ? s : -INFINITY; };
  auto before = [&](int a, int b) {
    float sa = key(a), sb = key(b);
    return sa > sb || (sa == sb && a < b);
  };
  if (keep < M) std::nth_element(order, order + keep, order + M, before);
  int n = 0;
  for (int j = 0; j < M; j++) is_kept[j] = 0;
  for (int t = 0; t < keep; t++) {
    int j = order[t];
    if (use_threshold && !(score[j] > threshold)) continue;
    is_kept[j] = 1;
  }
  for (int j = 0; j < M; j++)
    if (is_kept[j]) kept[n++] = j;
  return n;
}

void f32_fill_skipped_planes(float* y, int C, int HW, const unsigned char* is_kept,
                             const float* value) {
  for (int c = 0; c < C; c++) {
    if (is_kept[c]) continue;
    float* p = y + (ptrdiff_t)c * HW;
    v128_t v = wasm_f32x4_splat(value[c]);
    int i = 0;
    for (; i + 4 <= HW; i += 4) wasm_v128_store(p + i, v);
    for (; i < HW; i++) p[i] = value[c];
  }
}

void f32_scale_rows_simd128(float* y, int HW, const int* rows, int n, const float* scale) {
  for (int t = 0; t < n; t++) {
    float* p = y + (ptrdiff_t)rows[t] * HW;
    const float s = scale[rows[t]];
    v128_t v = wasm_f32x4_splat(s);
    int i = 0;
    for (; i + 4 <= HW; i += 4) wasm_v128_store(p + i, wasm_f32x4_mul(wasm_v128_load(p + i), v));
    for (; i < HW; i++) p[i] *= s;
  }
}

void f32_dwconv_const_plane(float v, const float* w, float bias, const Conv2dGeom& g,
                            const Act& act, float* y) {
  float rowsum[64]; // kW ≤ 64 on the depthwise path (conv.cpp)
  // Interior columns: every kx lands inside the input.
  int ox_lo = 0, ox_hi = g.Wo;
  while (ox_lo < g.Wo && ox_lo * g.sW - g.pL < 0) ox_lo++;
  while (ox_hi > ox_lo && (ox_hi - 1) * g.sW - g.pL + (g.kW - 1) * g.dW > g.W - 1) ox_hi--;
  for (int oy = 0; oy < g.Ho; oy++) {
    for (int kx = 0; kx < g.kW; kx++) rowsum[kx] = 0.0f;
    for (int ky = 0; ky < g.kH; ky++) {
      int iy = oy * g.sH - g.pT + ky * g.dH;
      if (iy < 0 || iy >= g.H) continue;
      for (int kx = 0; kx < g.kW; kx++) rowsum[kx] += w[ky * g.kW + kx];
    }
    float full = 0.0f;
    for (int kx = 0; kx < g.kW; kx++) full += rowsum[kx];
    float* yr = y + (ptrdiff_t)oy * g.Wo;
    for (int ox = 0; ox < g.Wo; ox++) {
      if (ox == ox_lo && ox_hi > ox_lo) {
        float val = act_f32(bias + v * full, act);
        v128_t vv = wasm_f32x4_splat(val);
        int i = ox_lo;
        for (; i + 4 <= ox_hi; i += 4) wasm_v128_store(yr + i, vv);
        for (; i < ox_hi; i++) yr[i] = val;
        ox = ox_hi - 1;
        continue;
      }
      float sum = 0.0f;
      for (int kx = 0; kx < g.kW; kx++) {
        int ix = ox * g.sW - g.pL + kx * g.dW;
        if (ix >= 0 && ix < g.W) sum += rowsum[kx];
      }
      yr[ox] = act_f32(bias + v * sum, act);
    }
  }
}

} // namespace sg
