#include "pool_f32.h"
#include <math.h>

namespace sg {

// Kernel taps [*k0, *k1) whose position start + k·d lies in [lo, hi).
static inline void tap_range(int start, int k, int d, int lo, int hi, int* k0, int* k1) {
  int a = start >= lo ? 0 : (lo - start + d - 1) / d;
  int b = start < hi ? (hi - 1 - start) / d + 1 : 0;
  if (b > k) b = k;
  if (a > b) a = b;
  *k0 = a;
  *k1 = b;
}

// 2×2 windows, stride 2, no padding, every window inside the input (BlazeFace's and most
// CNNs' downsampling pools): 4 outputs per step from two rows, the even and odd columns split
// by shuffles. The maximum is taken in the scalar loop's order with its comparison
// (`v > m ? v : m`, so a NaN never replaces a number), hence identical results.
static inline v128_t max_step(v128_t m, v128_t v) { return wasm_v128_bitselect(v, m, wasm_f32x4_gt(v, m)); }

static void maxpool_2x2s2(const float* x, const Conv2dGeom& g, float* y) {
  const v128_t ninf = wasm_f32x4_splat(-INFINITY);
  for (int oy = 0; oy < g.Ho; oy++) {
    const float* r0 = x + (ptrdiff_t)(2 * oy) * g.W;
    const float* r1 = r0 + g.W;
    float* yr = y + (ptrdiff_t)oy * g.Wo;
    int ox = 0;
    for (; ox + 4 <= g.Wo; ox += 4) {
      v128_t a = wasm_v128_load(r0 + 2 * ox), b = wasm_v128_load(r0 + 2 * ox + 4);
      v128_t c = wasm_v128_load(r1 + 2 * ox), d = wasm_v128_load(r1 + 2 * ox + 4);
      v128_t m = max_step(ninf, wasm_i32x4_shuffle(a, b, 0, 2, 4, 6));
      m = max_step(m, wasm_i32x4_shuffle(a, b, 1, 3, 5, 7));
      m = max_step(m, wasm_i32x4_shuffle(c, d, 0, 2, 4, 6));
      m = max_step(m, wasm_i32x4_shuffle(c, d, 1, 3, 5, 7));
      wasm_v128_store(yr + ox, m);
    }
    for (; ox < g.Wo; ox++) {
      float m = -INFINITY;
      const float v[4] = {r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]};
      for (int i = 0; i < 4; i++) m = v[i] > m ? v[i] : m;
      yr[ox] = m;
    }
  }
}

void f32_maxpool2d(const float* x, const Conv2dGeom& g, float* y) {
  if (g.kH == 2 && g.kW == 2 && g.sH == 2 && g.sW == 2 && g.dH == 1 && g.dW == 1 && g.pT == 0 &&
      g.pL == 0 && 2 * g.Ho <= g.H && 2 * g.Wo <= g.W) {
    maxpool_2x2s2(x, g, y);
    return;
  }
  for (int oy = 0; oy < g.Ho; oy++) {
    int iy0 = oy * g.sH - g.pT, ky0, ky1;
    tap_range(iy0, g.kH, g.dH, 0, g.H, &ky0, &ky1);
    // Stride 1 (YOLOv8's SPPF pools): 4 outputs at a time where the whole window row is inside
    // the input, taps in the scalar order with its comparison, so results are identical.
    int vx0 = g.Wo, vx1 = g.Wo;
    if (g.sW == 1) {
      vx0 = g.pL < g.Wo ? g.pL : g.Wo;
      vx1 = g.W + g.pL - (g.kW - 1) * g.dW; // first ox whose window passes the right edge
      if (vx1 < vx0) vx1 = vx0;
      if (vx1 > g.Wo) vx1 = g.Wo;
    }
    for (int ox = 0; ox < g.Wo; ox++) {
      if (ox == vx0) {
        const v128_t ninf = wasm_f32x4_splat(-INFINITY);
        for (; ox + 4 <= vx1; ox += 4) {
          v128_t m = ninf;
          for (int ky = ky0; ky < ky1; ky++) {
            const float* row = x + (ptrdiff_t)(iy0 + ky * g.dH) * g.W + ox - g.pL;
            for (int kx = 0; kx < g.kW; kx++) m = max_step(m, wasm_v128_load(row + kx * g.dW));
          }
          wasm_v128_store(y + (ptrdiff_t)oy * g.Wo + ox, m);
        }
        if (ox >= g.Wo) break;
      }
      int ix0 = ox * g.sW - g.pL, kx0, kx1;
      tap_range(ix0, g.kW, g.dW, 0, g.W, &kx0, &kx1);
      float m = -INFINITY;
      for (int ky = ky0; ky < ky1; ky++) {
        const float* row = x + (ptrdiff_t)(iy0 + ky * g.dH) * g.W + ix0;
        for (int kx = kx0; kx < kx1; kx++) {
          float v = row[kx * g.dW];
          m = v > m ? v : m;
        }
      }
      y[(ptrdiff_t)oy * g.Wo + ox] = m;
    }
  }
}

void f32_avgpool2d(const float* x, const Conv2dGeom& g, int pB, int pR, bool count_include_pad,
                   float* y) {
  for (int oy = 0; oy < g.Ho; oy++) {
    int iy0 = oy * g.sH - g.pT, ky0, ky1, cy0, cy1;
    tap_range(iy0, g.kH, g.dH, 0, g.H, &ky0, &ky1);
    if (count_include_pad) tap_range(iy0, g.kH, g.dH, -g.pT, g.H + pB, &cy0, &cy1);
    else cy0 = ky0, cy1 = ky1;
    for (int ox = 0; ox < g.Wo; ox++) {
      int ix0 = ox * g.sW - g.pL, kx0, kx1, cx0, cx1;
      tap_range(ix0, g.kW, g.dW, 0, g.W, &kx0, &kx1);
      if (count_include_pad) tap_range(ix0, g.kW, g.dW, -g.pL, g.W + pR, &cx0, &cx1);
      else cx0 = kx0, cx1 = kx1;
      float s = 0;
      for (int ky = ky0; ky < ky1; ky++) {
        const float* row = x + (ptrdiff_t)(iy0 + ky * g.dH) * g.W + ix0;
        for (int kx = kx0; kx < kx1; kx++) s += row[kx * g.dW];
      }
      int count = (cy1 - cy0) * (cx1 - cx0);
      y[(ptrdiff_t)oy * g.Wo + ox] = count > 0 ? s / (float)count : 0.0f;
    }
  }
}

double f32_sum_simd128(const float* x, int64_t n) {
  double total = 0;
  for (int64_t i0 = 0; i0 < n; i0 += 1024) {
    int64_t i1 = n - i0 < 1024 ? n : i0 + 1024, i = i0;
    v128_t acc = wasm_f32x4_splat(0.0f);
    for (; i + 4 <= i1; i += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(x + i));
    float s = wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) +
              wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
    for (; i < i1; i++) s += x[i];
    total += s;
  }
  return total;
}

float f32_max_simd128(const float* x, int64_t n) {
  int64_t i = 0;
  float m = -INFINITY;
  if (n >= 4) {
    v128_t acc = wasm_v128_load(x);
    for (i = 4; i + 4 <= n; i += 4) acc = wasm_f32x4_max(acc, wasm_v128_load(x + i));
    for (int l = 0; l < 4; l++) {
      float v = wasm_f32x4_extract_lane(acc, 0);
      acc = wasm_i32x4_shuffle(acc, acc, 1, 2, 3, 0);
      m = v > m || v != v ? v : m;
    }
  }
  for (; i < n; i++) m = x[i] > m || x[i] != x[i] ? x[i] : m;
  return m;
}

} // namespace sg
