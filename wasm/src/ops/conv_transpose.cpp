// ConvTranspose (2-D; the importer lifts 1-D): Y[n, m, oy, ox] = B[m] + Σ X[n, c, iy, ix] ·
// W[c, m', ky, kx] over oy = iy·s − pad_top + ky·d (same for x), group by group.
// Per group and tile of input pixels, one GEMM computes every (m', ky, kx) contribution of the
// tile, cols[(m', ky, kx), j] = Σ_c Wᵀ[(m', ky, kx), c] · X[c, j] (the transposed weights are
// packed once in prepare), then col2im adds each contribution to the output pixel it lands on
// (those outside the output are dropped). output_padding extends the output at the end (those
// rows and columns receive the bias only); the importer resolves auto_pad and output_shape into
// pads and output_padding.
#include "compute_attrs.h"
#include "../kernels/gemm_f32.h"
#include "../kernels/scratch.h"

namespace sg {

struct ConvTransposeState : NodeState {
  int64_t N = 0, C = 0, H = 0, W = 0, M = 0, Ho = 0, Wo = 0, kH = 0, kW = 0, group = 1;
  ConvWindow win;
  int rows = 0, cg = 0, tile = 0;  // rows = M/group·kH·kW of each group's GEMM
  std::vector<float> wt;           // per group: Wᵀ [rows, C/group]
};

bool prepare_ConvTranspose(OpCtx& ctx) {
  if (!check_arity(ctx, 2, 3, 1)) return false;
  const Tensor& X = ctx.input(0);
  const Tensor& Wt = ctx.input(1);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, X) || !check_f32(ctx, Y) || !check_rank(ctx, X, 4) || !check_rank(ctx, Wt, 4))
    return false;
  const float* w;
  if (!constant_input(ctx, 1, &w)) return false;
  ConvWindow win;
  int64_t group, opad[2];
  if (!attr_conv_window(ctx, &win) || !attr_int_in(ctx, "group", 1, kMaxGeom, &group) ||
      !attr_ints_n(ctx, "output_padding", 2, opad))
    return false;
  for (int i = 0; i < 2; i++)
    if (opad[i] < 0 || opad[i] > kMaxGeom)
      return ctx.fail("output_padding[%d] = %lld, expected 0..%lld", i, (long long)opad[i], (long long)kMaxGeom);
  const int64_t N = X.shape.dims[0], C = X.shape.dims[1], H = X.shape.dims[2], Wd = X.shape.dims[3];
  const int64_t Mg = Wt.shape.dims[1], kH = Wt.shape.dims[2], kW = Wt.shape.dims[3];
  if (Wt.shape.dims[0] != C || C % group != 0)
    return ctx.fail("W '%s' %s does not fit input '%s' %s with group %lld (W is [C, M/group, kH, kW])",
                    Wt.name.c_str(), Wt.shape.str().c_str(), X.name.c_str(), X.shape.str().c_str(),
                    (long long)group);
  if (kH < 1 || kW < 1 || kH > kMaxGeom || kW > kMaxGeom || H > kMaxGeom || Wd > kMaxGeom)
    return ctx.fail("kernel %lldx%lld or input %lldx%lld out of range", (long long)kH, (long long)kW,
                    (long long)H, (long long)Wd);
  if ((double)Mg * (double)kH * (double)kW > 0x7FFFFFFF || Mg > kMaxGeom)
    return ctx.fail("W '%s' %s is too large", Wt.name.c_str(), Wt.shape.str().c_str());
  const int64_t M = Mg * group;
  if (ctx.has_input(2) && (!check_f32(ctx, ctx.input(2)) || !check_shape(ctx, ctx.input(2), make_shape(1, &M))))
    return false;
  int64_t Ho = (H - 1) * win.strides[0] + (kH - 1) * win.dil[0] + 1 + opad[0] - win.pads[0] - win.pads[2];
  int64_t Wo = (Wd - 1) * win.strides[1] + (kW - 1) * win.dil[1] + 1 + opad[1] - win.pads[1] - win.pads[3];
  if (H == 0 || Wd == 0) { Ho = Ho < 0 ? 0 : Ho; Wo = Wo < 0 ? 0 : Wo; }
  if (Ho < 0 || Wo < 0)
    return ctx.fail("pads %lld+%lld, %lld+%lld leave no output for input %lldx%lld", (long long)win.pads[0],
                    (long long)win.pads[2], (long long)win.pads[1], (long long)win.pads[3], (long long)H,
                    (long long)Wd);
  int64_t want[4] = {N, M, Ho, Wo};
  if (!check_shape(ctx, Y, make_shape(4, want)) || !check_numel(ctx, X) || !check_numel(ctx, Y) ||
      !check_numel(ctx, Wt))
    return false;
  ConvTransposeState* st = new ConvTransposeState;
  ctx.set_state(st);
  st->N = N; st->C = C; st->H = H; st->W = Wd; st->M = M; st->Ho = Ho; st->Wo = Wo;
  st->kH = kH; st->kW = kW; st->group = group; st->win = win;
  st->cg = (int)(C / group);
  st->rows = (int)(Mg * kH * kW);
  const int64_t hw = H * Wd;
  int64_t tile = st->rows > 0 ? (262144 / st->rows) / 8 * 8 : 8;
  if (tile < 8) tile = 8;
  if (tile > hw) tile = hw;
  st->tile = (int)tile;
  ctx.macs = (double)X.shape.numel() * (double)st->rows;
  if (!ctx.reserve(4.0 * (double)Wt.shape.numel(), "transposed weights") ||
      !ctx.reserve_scratch((double)st->rows * (double)(tile > 0 ? tile : 1)))
    return false;
  st->wt.resize((size_t)Wt.shape.numel());
  for (int64_t g = 0; g < group; g++)   // W[g·cg + c, r] → wt[g][r, c]
    for (int64_t c = 0; c < st->cg; c++)
      for (int64_t r = 0; r < st->rows; r++)
        st->wt[(size_t)(g * st->rows * st->cg + r * st->cg + c)] = w[(g * st->cg + c) * st->rows + r];
  return true;
}

void run_ConvTranspose(OpCtx& ctx) {
  const ConvTransposeState& s = *(const ConvTransposeState*)ctx.state;
  const float* x = ctx.in[0];
  const float* bias = ctx.in.size() > 2 ? ctx.in[2] : nullptr;
  float* y = ctx.out[0];
  const int64_t hw = s.H * s.W, ohw = s.Ho * s.Wo, Mg = s.M / s.group, kk = s.kH * s.kW;
  for (int64_t n = 0; n < s.N; n++)
    for (int64_t m = 0; m < s.M; m++) {
      float b = bias ? bias[m] : 0.0f;
      float* ym = y + (n * s.M + m) * ohw;
      for (int64_t i = 0; i < ohw; i++) ym[i] = b;
    }
  if (hw == 0 || ohw == 0 || s.cg == 0 || s.rows == 0) return;
  static const Act kNone;
  float* cols = scratch_f32();
  for (int64_t n = 0; n < s.N; n++)
    for (int64_t g = 0; g < s.group; g++) {
      const float* xg = x + (n * s.C + g * s.cg) * hw;
      const float* wg = s.wt.data() + g * s.rows * s.cg;
      float* yg = y + (n * s.M + g * Mg) * ohw;
      for (int64_t j0 = 0; j0 < hw; j0 += s.tile) {
        const int t = (int)(hw - j0 < s.tile ? hw - j0 : s.tile);
        f32_gemm_4x8_simd128(s.rows, nullptr, t, s.cg, wg, s.cg, xg + j0, (int)hw, 8, cols, t,
                             nullptr, false, kNone);
        for (int64_t r = 0; r < s.rows; r++) {
          const int64_t m = r / kk, ky = (r % kk) / s.kW, kx = r % s.kW;
          const int64_t dy = ky * s.win.dil[0] - s.win.pads[0], dx = kx * s.win.dil[1] - s.win.pads[1];
          const float* cr = cols + r * t;
          float* ym = yg + m * ohw;
          for (int j = 0; j < t; j++) {
            const int64_t p = j0 + j, iy = p / s.W, ix = p % s.W;
            const int64_t oy = iy * s.win.strides[0] + dy, ox = ix * s.win.strides[1] + dx;
            if (oy >= 0 && oy < s.Ho && ox >= 0 && ox < s.Wo) ym[oy * s.Wo + ox] += cr[j];
          }
        }
      }
    }
}

} // namespace sg
