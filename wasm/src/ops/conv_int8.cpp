// ConvInt8 (docs/ir.md, "Quantized ops"): a Conv whose weights are int8 per output channel and
// whose float32 input is quantized to uint8 with the calibrated x_scale / x_zero_point:
//   Y[m] = act(x_scale · w_scale[m] · Σ W[m, …] · (q(X) − zp) + B[m])
// Weights are widened to int16 rows (reduction length padded to even) once in prepare. Run
// quantizes and packs a tile of output columns (1×1 stride-1 convs read the input rows
// directly; everything else through a quantizing im2col) and calls i8_gemm_4x8_simd128.
#include <stdlib.h>
#include "int8_attrs.h"
#include "../kernels/scratch.h"

namespace sg {

struct ConvInt8State : NodeState {
  Conv2dGeom g;
  int N = 0, C = 0, M = 0, group = 1, K = 0, Kp = 0, tile = 0;
  bool pointwise = false;
  QuantParams q;
  Act act;
  int16_t* w = nullptr; // [M, Kp]
  float* scale = nullptr; // [M]: w_scale · x_scale
  float* bias = nullptr;  // [M]
  ~ConvInt8State() { free(w); free(scale); free(bias); }
};


bool prepare_ConvInt8(OpCtx& ctx) {
  if (!check_arity(ctx, 3, 4, 1)) return false;
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Tensor& Y = ctx.output(0);
  const int8_t* wq;
  if (!check_f32(ctx, X) || !check_f32(ctx, Y) || !check_int8_constant(ctx, 1, &wq)) return false;
  if (!check_rank(ctx, X, 4) || !check_rank(ctx, W, 4)) return false;
  if (!check_numel(ctx, X) || !check_numel(ctx, W) || !check_numel(ctx, Y)) return false;
  ConvWindow win;
  int64_t group;
  if (!attr_conv_window(ctx, &win) || !attr_int_in(ctx, "group", 1, kMaxDim, &group)) return false;
  const int64_t *strides = win.strides, *pads = win.pads, *dil = win.dil;
  Act act;
  QuantParams q;
  float x_scale;
  if (!attr_activation(ctx, &act) || !attr_input_quant(ctx, &q, &x_scale)) return false;

  const int64_t N = X.shape.dims[0], C = X.shape.dims[1], H = X.shape.dims[2], Wd = X.shape.dims[3];
  const int64_t M = W.shape.dims[0], Cg = W.shape.dims[1], kH = W.shape.dims[2], kW = W.shape.dims[3];
  if (C % group != 0 || M % group != 0)
    return ctx.fail("group %lld must divide input channels %lld (X %s) and output channels %lld (W %s)",
                    (long long)group, (long long)C, X.shape.str().c_str(), (long long)M, W.shape.str().c_str());
  if (Cg != C / group)
    return ctx.fail("W '%s' has shape %s: dim 1 must be C/group = %lld/%lld = %lld", W.name.c_str(),
                    W.shape.str().c_str(), (long long)C, (long long)group, (long long)(C / group));
  if (kH < 1 || kW < 1 || kH > kMaxGeom || kW > kMaxGeom || H > kMaxGeom || Wd > kMaxGeom)
    return ctx.fail("kernel %s or input %s out of range", W.shape.str().c_str(), X.shape.str().c_str());
  const int64_t K = Cg * kH * kW;
  if (K < 1) return ctx.fail("W '%s' has shape %s: empty reduction", W.name.c_str(), W.shape.str().c_str());
  if (K > kI8MaxK)
    return ctx.fail("reduction length C/group·kH·kW = %lld exceeds %d (int32 accumulators could overflow)",
                    (long long)K, kI8MaxK);
  int64_t Ho, Wo;
  if (!check_conv_output(ctx, win, Y, N, M, H, Wd, kH, kW, &Ho, &Wo)) return false;

  ConvInt8State* s = new ConvInt8State();
  ctx.set_state(s);
  const float *w_scale, *b = nullptr;
  if (!check_vector_constant(ctx, 2, M, &w_scale)) return false;
  if (ctx.has_input(3) && !check_vector_constant(ctx, 3, M, &b)) return false;
  if (!epilogue_vectors(ctx, M, w_scale, x_scale, b, &s->scale, &s->bias)) return false;
  s->g = {(int)H, (int)Wd, (int)kH, (int)kW, (int)strides[0], (int)strides[1], (int)dil[0],
          (int)dil[1], (int)pads[0], (int)pads[1], (int)Ho, (int)Wo};
  s->N = (int)N, s->C = (int)C, s->M = (int)M, s->group = (int)group;
  s->K = (int)K, s->Kp = (int)(K + (K & 1));
  s->q = q, s->act = act;
  if (!ctx.reserve((double)M * s->Kp * sizeof(int16_t), "widened W")) return false;
  s->w = (int16_t*)calloc((size_t)(M > 0 ? M : 1) * s->Kp, sizeof(int16_t));
  if (!s->w) return ctx.fail("out of memory widening W '%s'", W.name.c_str());
  for (int64_t m = 0; m < M; m++)
    for (int64_t k = 0; k < K; k++) s->w[m * s->Kp + k] = wq[m * K + k];
  s->pointwise = kH == 1 && kW == 1 && strides[0] == 1 && strides[1] == 1 && pads[0] == 0 &&
                 pads[1] == 0 && Ho == H && Wo == Wd;
  ctx.macs = (double)N * M * Ho * Wo * K;
  // ~256 KiB of packed int16 per tile, whole 8-column panels, at least one panel.
  int64_t HWo = Ho * Wo, tile = (((int64_t)1 << 17) / s->Kp) & ~(int64_t)7;
  if (tile < 8) tile = 8;
  if (tile > ((HWo + 7) & ~(int64_t)7)) tile = (HWo + 7) & ~(int64_t)7;
  s->tile = (int)tile;
  if (!ctx.reserve_scratch(((double)tile * s->Kp + 1) / 2)) return false; // in floats
  return true;
}

void run_ConvInt8(OpCtx& ctx) {
  const ConvInt8State& s = *(const ConvInt8State*)ctx.state;
  const Conv2dGeom& g = s.g;
  const int Cg = s.C / s.group, Mg = s.M / s.group;
  const int HW = g.H * g.W, HWo = g.Ho * g.Wo;
  int16_t* buf = (int16_t*)scratch_f32();
  for (int n = 0; n < s.N; n++) {
    const float* x = ctx.in[0] + (ptrdiff_t)n * s.C * HW;
    float* y = ctx.out[0] + (ptrdiff_t)n * s.M * HWo;
    for (int gi = 0; gi < s.group; gi++) {
      const float* xg = x + (ptrdiff_t)gi * Cg * HW;
      const int16_t* wg = s.w + (ptrdiff_t)gi * Mg * s.Kp;
      float* yg = y + (ptrdiff_t)gi * Mg * HWo;
      for (int j0 = 0; j0 < HWo; j0 += s.tile) {
        int nb = HWo - j0 < s.tile ? HWo - j0 : s.tile;
        if (s.pointwise) i8_pack_rows_simd128(xg, HW, Cg, j0, nb, s.q, buf);
        else i8_im2col_tile(xg, Cg, g, j0, nb, s.q, buf);
        i8_gemm_4x8_simd128(Mg, nb, s.Kp, wg, buf, yg + j0, HWo, s.scale + (ptrdiff_t)gi * Mg,
                            s.bias + (ptrdiff_t)gi * Mg, s.act);
      }
    }
  }
}

} // namespace sg
