// Conv (2-D, NCHW, groups, dilations, asymmetric pads, fused bias + activation).
//
// Three paths, chosen once in prepare:
// - depthwise (group == C == M): f32_dwconv_simd128 per channel, lanes along the output row;
// - pointwise (1×1, stride 1, no pads): the GEMM W[M/g, C/g] · X[C/g, H·W] straight on the input;
// - general: im2col of a tile of output columns into scratch (packed in 8-column panels, so
//   the microkernel streams it), then the same GEMM.
// W [M, C/g, kH, kW] is already the row-major [M, C/g·kH·kW] matrix the GEMM reads (its rows
// are output channels, so a gated run later passes the list of channels it computes), hence no
// repacking for f32 weights.
#include <string.h>
#include "compute_attrs.h"
#include "../kernels/conv_f32.h"
#include "../kernels/gemm_f32.h"
#include "../kernels/scratch.h"

namespace sg {

enum ConvPath { CONV_DEPTHWISE, CONV_POINTWISE, CONV_IM2COL };

struct ConvState : NodeState {
  Conv2dGeom g;
  int N = 0, C = 0, M = 0, group = 1;
  int path = CONV_IM2COL;
  int tile = 0; // im2col: output columns per tile
  Act act;
  const float* w = nullptr;
  const float* b = nullptr; // null when absent
};

// Limits that keep every index computation of the kernels inside int.
static const int64_t kMaxGeom = 1 << 24;

bool prepare_Conv(OpCtx& ctx) {
  if (!check_arity(ctx, 2, 3, 1)) return false;
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, X) || !check_f32(ctx, W) || !check_f32(ctx, Y)) return false;
  if (!check_rank(ctx, X, 4) || !check_rank(ctx, W, 4)) return false;
  if (!check_numel(ctx, X) || !check_numel(ctx, W) || !check_numel(ctx, Y)) return false;

  int64_t strides[2], pads[4], dil[2], group;
  if (!attr_ints_n(ctx, "strides", 2, strides) || !attr_ints_n(ctx, "pads", 4, pads) ||
      !attr_ints_n(ctx, "dilations", 2, dil) || !attr_int_in(ctx, "group", 1, kMaxDim, &group))
    return false;
  for (int i = 0; i < 2; i++) {
    if (strides[i] < 1 || strides[i] > kMaxGeom)
      return ctx.fail("strides[%d] = %lld, expected 1..%lld", i, (long long)strides[i], (long long)kMaxGeom);
    if (dil[i] < 1 || dil[i] > kMaxGeom)
      return ctx.fail("dilations[%d] = %lld, expected 1..%lld", i, (long long)dil[i], (long long)kMaxGeom);
  }
  for (int i = 0; i < 4; i++)
    if (pads[i] < 0 || pads[i] > kMaxGeom)
      return ctx.fail("pads[%d] = %lld, expected 0..%lld", i, (long long)pads[i], (long long)kMaxGeom);
  Act act;
  if (!attr_activation(ctx, &act)) return false;

  const int64_t N = X.shape.dims[0], C = X.shape.dims[1], H = X.shape.dims[2], Wd = X.shape.dims[3];
  const int64_t M = W.shape.dims[0], Cg = W.shape.dims[1], kH = W.shape.dims[2], kW = W.shape.dims[3];
  if (C % group != 0 || M % group != 0)
    return ctx.fail("group %lld must divide input channels %lld (X %s) and output channels %lld (W %s)",
                    (long long)group, (long long)C, X.shape.str().c_str(), (long long)M,
                    W.shape.str().c_str());
  if (Cg != C / group)
    return ctx.fail("W '%s' has shape %s: dim 1 must be C/group = %lld/%lld = %lld", W.name.c_str(),
                    W.shape.str().c_str(), (long long)C, (long long)group, (long long)(C / group));
  if (kH < 1 || kW < 1 || kH > kMaxGeom || kW > kMaxGeom || H > kMaxGeom || Wd > kMaxGeom)
    return ctx.fail("kernel %s or input %s out of range", W.shape.str().c_str(), X.shape.str().c_str());
  // Output size implied by the attributes (floor, as ONNX's explicit-pads formula).
  int64_t span_h = dil[0] * (kH - 1) + 1, span_w = dil[1] * (kW - 1) + 1;
  int64_t full_h = H + pads[0] + pads[2], full_w = Wd + pads[1] + pads[3];
  if (full_h < span_h || full_w < span_w)
    return ctx.fail("kernel extent %lldx%lld (dilated) exceeds padded input %lldx%lld",
                    (long long)span_h, (long long)span_w, (long long)full_h, (long long)full_w);
  int64_t Ho = (full_h - span_h) / strides[0] + 1, Wo = (full_w - span_w) / strides[1] + 1;
  int64_t want[4] = {N, M, Ho, Wo};
  if (!check_shape(ctx, Y, make_shape(4, want))) return false;

  ConvState* s = new ConvState();
  ctx.set_state(s); // owned by the session from here, also when prepare fails below
  if (!constant_input(ctx, 1, &s->w)) return false;
  if (ctx.has_input(2)) {
    const Tensor& B = ctx.input(2);
    int64_t bshape[1] = {M};
    if (!check_f32(ctx, B) || !check_shape(ctx, B, make_shape(1, bshape)) ||
        !constant_input(ctx, 2, &s->b))
      return false;
  }
  s->g = {(int)H, (int)Wd, (int)kH, (int)kW, (int)strides[0], (int)strides[1], (int)dil[0],
          (int)dil[1], (int)pads[0], (int)pads[1], (int)Ho, (int)Wo};
  s->N = (int)N, s->C = (int)C, s->M = (int)M, s->group = (int)group;
  s->act = act;
  ctx.macs = (double)N * M * Ho * Wo * Cg * kH * kW;

  size_t scratch = 0;
  // The depthwise path copies each channel into a padded plane; with huge strides or pads that
  // plane would be far larger than the output, so such (odd) convs take the im2col path.
  int64_t plane_rows = (Ho - 1) * strides[0] + span_h, plane_cols = (Wo - 1) * strides[1] + span_w + 16;
  bool dw_ok = plane_rows * plane_cols <= ((int64_t)1 << 24);
  if (group == C && M == C && kH <= 64 && dw_ok) {
    s->path = CONV_DEPTHWISE;
    scratch = f32_dwconv_scratch(s->g);
  } else if (kH == 1 && kW == 1 && strides[0] == 1 && strides[1] == 1 && pads[0] == 0 &&
             pads[1] == 0 && Ho == H && Wo == Wd) {
    s->path = CONV_POINTWISE;
  } else {
    s->path = CONV_IM2COL;
    // ~1 MiB of im2col per tile, whole 8-column blocks, at least 8 columns.
    int64_t K = Cg * kH * kW, tile = ((int64_t)1 << 18) / K;
    tile = tile < 8 ? 8 : tile & ~(int64_t)7;
    if (tile > Ho * Wo) tile = Ho * Wo;
    s->tile = (int)tile;
    scratch = (size_t)(K * ((tile + 7) & ~(int64_t)7)); // whole 8-column panels
  }
  if (!scratch_reserve(scratch)) return ctx.fail("out of memory for %zu floats of scratch", scratch);
  return true;
}

void run_Conv(OpCtx& ctx) {
  const ConvState& s = *(const ConvState*)ctx.state;
  const Conv2dGeom& g = s.g;
  const int Cg = s.C / s.group, Mg = s.M / s.group, K = Cg * g.kH * g.kW;
  const int HW = g.H * g.W, HWo = g.Ho * g.Wo;
  float* scratch = scratch_f32();
  for (int n = 0; n < s.N; n++) {
    const float* x = ctx.in[0] + (ptrdiff_t)n * s.C * HW;
    float* y = ctx.out[0] + (ptrdiff_t)n * s.M * HWo;
    if (s.path == CONV_DEPTHWISE) {
      for (int c = 0; c < s.C; c++)
        f32_dwconv_simd128(x + (ptrdiff_t)c * HW, s.w + (ptrdiff_t)c * g.kH * g.kW,
                           s.b ? s.b[c] : 0.0f, g, s.act, y + (ptrdiff_t)c * HWo, scratch);
      continue;
    }
    for (int gi = 0; gi < s.group; gi++) {
      const float* xg = x + (ptrdiff_t)gi * Cg * HW;
      const float* wg = s.w + (ptrdiff_t)gi * Mg * K;
      const float* bg = s.b ? s.b + (ptrdiff_t)gi * Mg : nullptr;
      float* yg = y + (ptrdiff_t)gi * Mg * HWo;
      if (s.path == CONV_POINTWISE) {
        f32_gemm_4x8_simd128(Mg, nullptr, HWo, K, wg, K, xg, HW, 8, yg, HWo, bg, false, s.act);
        continue;
      }
      for (int j0 = 0; j0 < HWo; j0 += s.tile) {
        int nb = HWo - j0 < s.tile ? HWo - j0 : s.tile;
        f32_im2col_tile(xg, Cg, g, j0, nb, scratch);
        f32_gemm_4x8_simd128(Mg, nullptr, nb, K, wg, K, scratch, 8, 8 * K, yg + j0, HWo, bg, false,
                             s.act);
      }
    }
  }
}

} // namespace sg
