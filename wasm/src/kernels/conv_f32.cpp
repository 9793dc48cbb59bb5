#include "conv_f32.h"
#include "gemm_f32.h"
#include "parallel.h"
#include "scratch.h"
#include <string.h>

namespace sg {

void f32_im2col_tile(const float* x, int C, const Conv2dGeom& g, int j0, int nb, float* buf) {
  const int oy0 = j0 / g.Wo, ox0 = j0 % g.Wo;
  const ptrdiff_t panel = (ptrdiff_t)8 * C * g.kH * g.kW; // floats per 8-column panel
  float* row = buf;                                       // row r starts at buf + 8·r
  for (int c = 0; c < C; c++) {
    const float* xc = x + (ptrdiff_t)c * g.H * g.W;
    for (int ky = 0; ky < g.kH; ky++) {
      for (int kx = 0; kx < g.kW; kx++, row += 8) {
        // Walk the tile one output row at a time: within a row the input column advances by
        // sW, so the valid (inside the input) part is one contiguous range of output columns.
        int oy = oy0, ox = ox0;
        for (int t = 0; t < nb;) {
          int n = g.Wo - ox < nb - t ? g.Wo - ox : nb - t;
          int iy = oy * g.sH - g.pT + ky * g.dH;
          int lo = n, hi = n; // outputs [lo, hi) of this run read the input
          const float* src = xc;
          int ix = ox * g.sW - g.pL + kx * g.dW; // input column of the run's first output
          if (iy >= 0 && iy < g.H) {
            src = xc + (ptrdiff_t)iy * g.W;
            lo = ix >= 0 ? 0 : (-ix + g.sW - 1) / g.sW;
            hi = ix < g.W ? (g.W - 1 - ix) / g.sW + 1 : 0;
            if (hi > n) hi = n;
            if (lo > hi) lo = hi;
          }
          int i = 0;
          for (; i < lo; i++) row[((t + i) >> 3) * panel + ((t + i) & 7)] = 0.0f;
          if (g.sW <= 2) {
            // Strides 1 and 2: 4 columns per store once the local column is a multiple of 4
            // (such a group never straddles two 8-column panels). Stride 2 loads 8 floats and
            // keeps the even ones, so it stops while the 8th is still inside the row.
            for (; i < hi && ((t + i) & 3); i++) row[((t + i) >> 3) * panel + ((t + i) & 7)] = src[ix + i * g.sW];
            float* dst = row + ((t + i) >> 3) * panel + ((t + i) & 7);
            if (g.sW == 1) {
              for (; i + 4 <= hi; i += 4) {
                wasm_v128_store(dst, wasm_v128_load(src + ix + i));
                dst += (t + i + 4) & 7 ? 4 : panel - 4;
              }
            } else {
              for (; i + 4 <= hi && ix + 2 * i + 8 <= g.W; i += 4) {
                const float* p = src + ix + 2 * i;
                wasm_v128_store(dst, wasm_i32x4_shuffle(wasm_v128_load(p), wasm_v128_load(p + 4), 0, 2, 4, 6));
                dst += (t + i + 4) & 7 ? 4 : panel - 4;
              }
            }
          }
          for (; i < hi; i++) row[((t + i) >> 3) * panel + ((t + i) & 7)] = src[ix + i * g.sW];
          for (; i < n; i++) row[((t + i) >> 3) * panel + ((t + i) & 7)] = 0.0f;
          t += n;
          ox = 0;
          oy++;
        }
      }
    }
  }
}

// Short copies and fills inline: depthwise planes at 8×8 or 16×16 copy rows of 8–18 floats, where
// a libc memcpy/memset call per row cost more than the convolution itself.
static inline void copy_f32(float* dst, const float* src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
  for (; i < n; i++) dst[i] = src[i];
}
static inline void zero_f32(float* dst, int n) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, z);
  for (; i < n; i++) dst[i] = 0.0f;
}

// Padded plane: every row that some output reads. Row-wise path: every column plus 4 floats of
// slack for the stride-2 pair of loads at the end of a row. Flat path (stride 1, short rows):
// exactly the columns read, plus a zero tail for the reads of the last (rounded-up) vectors.
static inline int dw_rows(const Conv2dGeom& g) { return (g.Ho - 1) * g.sH + (g.kH - 1) * g.dH + 1; }
// Flat path for short rows only: on long rows the row-wise path has no tails to lose, and the
// flat path's extra copy-out pass would cost more than it saves (measured on MobileNetV2).
static inline bool dw_flat(const Conv2dGeom& g) { return g.sH == 1 && g.sW == 1 && g.Wo < 32; }
static inline int dw_cols(const Conv2dGeom& g) {
  return (g.Wo - 1) * g.sW + (g.kW - 1) * g.dW + 1 + (dw_flat(g) ? 0 : 4);
}
static inline size_t dw_plane(const Conv2dGeom& g) {
  return (size_t)dw_rows(g) * dw_cols(g) + (dw_flat(g) ? (size_t)(g.kW - 1) * g.dW + 8 : 0);
}
static inline size_t dw_wide(const Conv2dGeom& g) { // flat path: outputs on the padded width
  return dw_flat(g) ? (((size_t)g.Ho * dw_cols(g) + 7) & ~(size_t)7) : 0;
}

size_t f32_dwconv_scratch(const Conv2dGeom& g) { return dw_plane(g) + dw_wide(g); }

// Four output columns' worth of input at p, p + S, p + 2S, p + 3S.
template <int S>
static inline v128_t load_strided(const float* p, int s) {
  if (S == 1) return wasm_v128_load(p);
  if (S == 2) return wasm_i32x4_shuffle(wasm_v128_load(p), wasm_v128_load(p + 4), 0, 2, 4, 6);
  return wasm_f32x4_make(p[0], p[s], p[2 * s], p[3 * s]);
}

// One output row from the padded plane. S is the column stride when it is 1 or 2 (0: any,
// read from g.sW). K = 3 is the 3×3 kernel without dilation, with the tap loops unrolled at
// compile time (0: any kernel, read from g).
template <int S, int K>
static void dw_row(const float* const* prow, const float* w, const v128_t* wv, float bias,
                   const Conv2dGeom& g, const Act& act, float* yr) {
  const int s = S ? S : g.sW;
  const int kH = K ? K : g.kH, kW = K ? K : g.kW, dW = K ? 1 : g.dW;
  const v128_t vb = wasm_f32x4_splat(bias);
  int x = 0;
  for (; x + 8 <= g.Wo; x += 8) {
    v128_t acc0 = vb, acc1 = vb;
    for (int ky = 0, t = 0; ky < kH; ky++) {
      const float* p = prow[ky] + x * s;
      for (int kx = 0; kx < kW; kx++, t++, p += dW) {
        v128_t wk = wv ? wv[t] : wasm_v128_load32_splat(w + t);
        acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wk, load_strided<S>(p, s)));
        acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(wk, load_strided<S>(p + 4 * s, s)));
      }
    }
    wasm_v128_store(yr + x, act_f32x4(acc0, act));
    wasm_v128_store(yr + x + 4, act_f32x4(acc1, act));
  }
  for (; x + 4 <= g.Wo; x += 4) {
    v128_t acc = vb;
    for (int ky = 0, t = 0; ky < kH; ky++) {
      const float* p = prow[ky] + x * s;
      for (int kx = 0; kx < kW; kx++, t++, p += dW)
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wv ? wv[t] : wasm_v128_load32_splat(w + t),
                                                 load_strided<S>(p, s)));
    }
    wasm_v128_store(yr + x, act_f32x4(acc, act));
  }
  for (; x < g.Wo; x++) {
    float acc = bias;
    for (int ky = 0, t = 0; ky < kH; ky++) {
      const float* p = prow[ky] + x * s;
      for (int kx = 0; kx < kW; kx++, t++) acc += w[t] * p[kx * dW];
    }
    yr[x] = act_f32(acc, act);
  }
}

// Stride 1: output (oy, x) reads plane[(oy + ky·dH)·Wp + x + kx·dW], which is linear in the
// flat index t = oy·Wp + x. So the whole plane is one 1-D convolution over t, in long 8-wide
// runs whatever the row width (7×7 planes included); the Wp - Wo columns per row computed past
// the output are dropped when the rows are copied out.
template <int K>
static void dw_flat_s1(const float* plane, int Wp, const float* w, const v128_t* wv, float bias,
                       const Conv2dGeom& g, const Act& act, float* wide, float* y) {
  const int kH = K ? K : g.kH, kW = K ? K : g.kW, dH = K ? 1 : g.dH, dW = K ? 1 : g.dW;
  const int n = g.Ho * Wp;
  const v128_t vb = wasm_f32x4_splat(bias);
  for (int t = 0; t < n; t += 8) {
    v128_t acc0 = vb, acc1 = vb;
    for (int ky = 0, q = 0; ky < kH; ky++) {
      const float* p = plane + t + (ptrdiff_t)ky * dH * Wp;
      for (int kx = 0; kx < kW; kx++, q++, p += dW) {
        v128_t wk = wv ? wv[q] : wasm_v128_load32_splat(w + q);
        acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wk, wasm_v128_load(p)));
        acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(wk, wasm_v128_load(p + 4)));
      }
    }
    wasm_v128_store(wide + t, act_f32x4(acc0, act));
    wasm_v128_store(wide + t + 4, act_f32x4(acc1, act));
  }
  for (int oy = 0; oy < g.Ho; oy++) copy_f32(y + (ptrdiff_t)oy * g.Wo, wide + (ptrdiff_t)oy * Wp, g.Wo);
}

void f32_dwconv_simd128(const float* x, const float* w, float bias, const Conv2dGeom& g,
                        const Act& act, float* y, float* scratch) {
  const int Hp = dw_rows(g), Wp = dw_cols(g);
  // Zero-padded copy of the input rows and columns that the outputs read.
  for (int py = 0; py < Hp; py++) {
    float* dst = scratch + (ptrdiff_t)py * Wp;
    int iy = py - g.pT;
    if (iy < 0 || iy >= g.H) {
      zero_f32(dst, Wp);
      continue;
    }
    int left = g.pL < Wp ? g.pL : Wp;
    int ncopy = g.W < Wp - left ? g.W : Wp - left;
    zero_f32(dst, left);
    copy_f32(dst + left, x + (ptrdiff_t)iy * g.W, ncopy);
    zero_f32(dst + left + ncopy, Wp - left - ncopy);
  }
  const size_t plane = dw_plane(g);
  zero_f32(scratch + (size_t)Hp * Wp, (int)(plane - (size_t)Hp * Wp));
  // Weight splats hoisted out of the loops for kernels up to 7×7.
  v128_t wbuf[49];
  const v128_t* wv = nullptr;
  if (g.kH * g.kW <= 49) {
    for (int t = 0; t < g.kH * g.kW; t++) wbuf[t] = wasm_f32x4_splat(w[t]);
    wv = wbuf;
  }
  const bool k3 = g.kH == 3 && g.kW == 3 && g.dH == 1 && g.dW == 1 && wv;
  if (dw_flat(g)) {
    if (k3) dw_flat_s1<3>(scratch, Wp, w, wv, bias, g, act, scratch + plane, y);
    else dw_flat_s1<0>(scratch, Wp, w, wv, bias, g, act, scratch + plane, y);
    return;
  }
  const float* prow_buf[64];
  const float** prow = prow_buf; // the op sends kernels with kH > 64 down the im2col path
  for (int oy = 0; oy < g.Ho; oy++) {
    for (int ky = 0; ky < g.kH; ky++)
      prow[ky] = scratch + (ptrdiff_t)(oy * g.sH + ky * g.dH) * Wp;
    float* yr = y + (ptrdiff_t)oy * g.Wo;
    if (k3 && g.sW == 1) dw_row<1, 3>(prow, w, wv, bias, g, act, yr);
    else if (k3 && g.sW == 2) dw_row<2, 3>(prow, w, wv, bias, g, act, yr);
    else if (g.sW == 1) dw_row<1, 0>(prow, w, wv, bias, g, act, yr);
    else if (g.sW == 2) dw_row<2, 0>(prow, w, wv, bias, g, act, yr);
    else dw_row<0, 0>(prow, w, wv, bias, g, act, yr);
  }
}

namespace {
struct DwArgs {
  const float *x, *w, *bias;
  const int* chans;
  const Conv2dGeom* g;
  const Act* act;
  float* y;
};
struct Im2colArgs {
  const float* x;
  int C;
  const Conv2dGeom* g;
  int nrows;
  const int* rows;
  const float *W, *bias;
  int K;
  const Act* act;
  float* y;
  int tile;
};
} // namespace

static void dw_channels(void* p, int t0, int t1) {
  const DwArgs& a = *(const DwArgs*)p;
  const Conv2dGeom& g = *a.g;
  float* scratch = scratch_f32();
  for (int t = t0; t < t1; t++) {
    int c = a.chans ? a.chans[t] : t;
    f32_dwconv_simd128(a.x + (ptrdiff_t)c * g.H * g.W, a.w + (ptrdiff_t)c * g.kH * g.kW,
                       a.bias ? a.bias[c] : 0.0f, g, *a.act, a.y + (ptrdiff_t)c * g.Ho * g.Wo,
                       scratch);
  }
}

void f32_dwconv_channels_simd128(const float* x, const float* w, const float* bias, int n,
                                 const int* chans, const Conv2dGeom& g, const Act& act, float* y) {
  DwArgs a = {x, w, bias, chans, &g, &act, y};
  // Chunks of at least ~16 K MACs.
  int per = g.Ho * g.Wo * g.kH * g.kW;
  parallel_for(n, 16384 / (per > 0 ? per : 1) + 1, dw_channels, &a);
}

static void im2col_tiles(void* p, int t0, int t1) {
  const Im2colArgs& a = *(const Im2colArgs*)p;
  const int HWo = a.g->Ho * a.g->Wo;
  float* buf = scratch_f32();
  for (int t = t0; t < t1; t++) {
    int j0 = t * a.tile, nb = HWo - j0 < a.tile ? HWo - j0 : a.tile;
    f32_im2col_tile(a.x, a.C, *a.g, j0, nb, buf);
    f32_gemm_4x8_simd128(a.nrows, a.rows, nb, a.K, a.W, a.K, buf, 8, 8 * a.K, a.y + j0, HWo,
                         a.bias, false, *a.act);
  }
}

void f32_conv_im2col_gemm(const float* x, int C, const Conv2dGeom& g, int nrows, const int* rows,
                          const float* W, int K, const float* bias, const Act& act, float* y,
                          int tile) {
  const int HWo = g.Ho * g.Wo;
  if (nrows <= 0 || HWo <= 0) return;
  if (tile < 1) tile = HWo;
  const int ntiles = (HWo + tile - 1) / tile;
  Im2colArgs a = {x, C, &g, nrows, rows, W, bias, K, &act, y, tile};
  // Whole tiles per thread when there are enough (im2col is then parallel too); otherwise
  // tile by tile on this thread, the GEMM splitting its rows and columns over threads.
  if (threads() > 1 && ntiles >= 2 * threads()) parallel_for(ntiles, 1, im2col_tiles, &a);
  else im2col_tiles(&a, 0, ntiles);
}

} // namespace sg
