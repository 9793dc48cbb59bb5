// Conv (2-D, NCHW, groups, dilations, asymmetric pads, fused bias + activation).
//
// Three paths, chosen once in prepare:
// - depthwise (group == C == M): f32_dwconv_simd128 per channel, lanes along the output row;
// - pointwise (1×1, stride 1, no pads): the GEMM W[M/g, C/g] · X[C/g, H·W] straight on the input;
// - general: im2col of a tile of output columns into scratch (packed in 8-column panels, so
//   the microkernel streams it), then the same GEMM.
// W [M, C/g, kH, kW] is already the row-major [M, C/g·kH·kW] matrix the GEMM reads (its rows
// are output channels, so a gated run passes the list of channels it computes), hence no
// repacking for f32 weights.
//
// Gating (docs/ir.md, "Gated Conv and Gemm"; conv_gate.cpp decides): per sample, only the kept
// output channels are computed (GEMM rows, depthwise channels); skipped ones are written as
// constant planes (learned gates: 0, and kept channels scaled by their gate value). A group-1
// conv whose input has constant planes from a gated producer (directly or through MaxPool)
// folds them into its bias and reduces over the other input channels only: any plane when the
// conv has no pads, zero planes always (zero padding keeps them zero). A depthwise conv
// computes a constant input channel without convolving it; with a zero plane or no pads its
// output is a constant plane too, which it records for its own readers: savings compound.
#include <string.h>
#include "compute_attrs.h"
#include "../kernels/conv_f32.h"
#include "../kernels/gate_f32.h"
#include "../kernels/gemm_f32.h"
#include "conv_gate.h"
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
  const float* b_or_zero = nullptr;
  ConvGate gate;
  // Folding constant input planes (group 1, not depthwise):
  bool no_pads = false;          // every window inside the input: a constant plane stays constant
  bool folds = false;
  std::vector<float> bias_fold; // [M] bias plus folded constant input planes
  std::vector<int> kidx;        // [C] input channels reduced over (not folded)
  std::vector<float> wsum;      // [M, C] Σ over the kernel window of W[j, c] (kernels > 1×1; on first use)
  std::vector<float> fold_w;    // W's rows computed, compacted to the kept input channels [M, nk·kH·kW]
  std::vector<float> fold_x;    // the input planes reduced over [nk, HW]
  std::vector<float> fold_v;    // [C] folded planes' values, 0 elsewhere
  // 1×1 folding of PLANE_INTERIOR planes: the ring outside the rectangle is corrected by
  // ring_w [M, nr] · (x − value)[nr, ring pixels] (ring_d), computed into ring_t [M, ring].
  std::vector<int> ridx, ring_pix;
  int ring_key[4] = {-1, -1, -1, -1};
  std::vector<float> ring_w, ring_d, ring_t;
  std::vector<int> dw_chans;    // [C] depthwise: channels to convolve (the others are constant)
  ChannelFill dw_out;           // ungated depthwise: its constant output planes this run
  std::vector<float> zeros;     // [M] the bias of a conv without one, when gated or folding
};

// Limits that keep every index computation of the kernels inside int.

bool prepare_Conv(OpCtx& ctx) {
  if (!check_arity(ctx, 2, 5, 1)) return false;
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, X) || !check_f32(ctx, W) || !check_f32(ctx, Y)) return false;
  if (!check_rank(ctx, X, 4) || !check_rank(ctx, W, 4)) return false;
  if (!check_numel(ctx, X) || !check_numel(ctx, W) || !check_numel(ctx, Y)) return false;

  ConvWindow win;
  int64_t group;
  if (!attr_conv_window(ctx, &win) || !attr_int_in(ctx, "group", 1, kMaxDim, &group)) return false;
  const int64_t *strides = win.strides, *pads = win.pads, *dil = win.dil;
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
  int64_t Ho, Wo;
  if (!check_conv_output(ctx, win, Y, N, M, H, Wd, kH, kW, &Ho, &Wo)) return false;

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

  if (!conv_gate_prepare(ctx, &s->gate, (int)N, (int)C, (int)M, (int)group)) return false;
  if (s->gate.kind != GATE_NONE && group != 1 && !(group == C && M == C))
    return ctx.fail("a gated Conv needs group 1 or a depthwise conv (group = C = M), got group %lld", (long long)group);
  // The per-channel tables below and the constant-plane record (N·C), counted before any is
  // allocated: with an empty plane, N·C is not bounded by any tensor's size.
  if (!ctx.reserve(4.0 * (2 * (double)M + 2 * (double)C) + 5.0 * N * C, "channel tables")) return false;
  s->zeros.assign(M, 0.0f);
  if (!s->b) s->b_or_zero = s->zeros.data();
  else s->b_or_zero = s->b;

  size_t scratch = 0;
  // The depthwise path copies each channel into a padded plane; with huge strides or pads that
  // plane would be far larger than the output, so such (odd) convs take the im2col path.
  int64_t span_h = dil[0] * (kH - 1) + 1, span_w = dil[1] * (kW - 1) + 1;
  int64_t plane_rows = (Ho - 1) * strides[0] + span_h, plane_cols = (Wo - 1) * strides[1] + span_w + 16;
  bool dw_ok = plane_rows * plane_cols <= ((int64_t)1 << 24);
  const bool no_pads = pads[0] == 0 && pads[1] == 0 && pads[2] == 0 && pads[3] == 0;
  s->no_pads = no_pads;
  if (group == C && M == C && kH <= 64 && dw_ok) {
    s->path = CONV_DEPTHWISE;
    scratch = f32_dwconv_scratch(s->g);
    s->dw_chans.assign(C, 0);
    ctx.folds_fill_in = true; // constant input channels: f32_dwconv_const_plane from the value
    if (s->gate.kind == GATE_NONE) {
      ChannelFill& f = s->dw_out;
      f.N = (int)N, f.C = (int)C;
      f.count.assign(N, 0);
      f.is_const.assign((size_t)N * C, 0);
      f.value.assign((size_t)N * C, 0.0f);
      // The outputs whose window lies inside the input: there a constant input plane v gives
      // act(B + v·Σ taps) (the interior rectangle of a PLANE_INTERIOR record).
      f.H = (int)Ho, f.W = (int)Wo;
      f.y0 = f.y1 = f.x0 = f.x1 = 0;
      for (int64_t o = 0; o < Ho; o++)
        if (o * strides[0] - pads[0] >= 0 && o * strides[0] - pads[0] + (kH - 1) * dil[0] < H) {
          if (f.y1 == f.y0) f.y0 = (int)o;
          f.y1 = (int)o + 1;
        }
      for (int64_t o = 0; o < Wo; o++)
        if (o * strides[1] - pads[1] >= 0 && o * strides[1] - pads[1] + (kW - 1) * dil[1] < Wd) {
          if (f.x1 == f.x0) f.x0 = (int)o;
          f.x1 = (int)o + 1;
        }
      f.may_have_interior = !no_pads && f.y1 > f.y0 && f.x1 > f.x0;
      ctx.fill_out = &f;
    }
  } else if (kH == 1 && kW == 1 && strides[0] == 1 && strides[1] == 1 && no_pads && Ho == H && Wo == Wd) {
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
  if (group == 1 && s->path != CONV_DEPTHWISE) {
    s->folds = true;
    s->bias_fold.assign(M, 0.0f);
    s->kidx.assign(C, 0);
    ctx.folds_fill_in = no_pads; // else a nonzero constant plane is convolved as it is
  }
  if (!ctx.reserve_scratch((double)scratch)) return false;
  return true;
}

// The pixels of an H×W plane outside [y0, y1) × [x0, x1), cached per rectangle.
static const std::vector<int>& ring_pixels(ConvState& s, const ChannelFill& f) {
  const int key[4] = {f.y0, f.y1, f.x0, f.x1};
  if (memcmp(key, s.ring_key, sizeof key) != 0) {
    s.ring_pix.clear();
    for (int y = 0; y < f.H; y++)
      for (int x = 0; x < f.W; x++)
        if (y < f.y0 || y >= f.y1 || x < f.x0 || x >= f.x1) s.ring_pix.push_back(y * f.W + x);
    memcpy(s.ring_key, key, sizeof key);
  }
  return s.ring_pix;
}

// One sample of a group-1 conv whose input x has constant planes (from a gated producer):
// y = act(W * x + B) with the foldable constant channels added to the bias as value·Σ window
// of W, and the reduction over the other channels only. A PLANE_CONST plane folds when the
// conv has no pads or the plane is 0 (zero padding keeps it 0); a PLANE_INTERIOR plane folds
// into a 1×1 conv, which then adds W·(x − value) on the ring outside the rectangle before the
// activation. Returns the MACs done, or -1 when no channel folds (the caller runs dense).
static double conv_folded(ConvState& s, const ChannelFill& f, int n, const float* x, float* y,
                          int nrows, const int* rows) {
  const Conv2dGeom& g = s.g;
  const int HW = g.H * g.W, HWo = g.Ho * g.Wo, kk = g.kH * g.kW;
  const unsigned char* is_const = f.is_const.data() + (size_t)n * s.C;
  const float* value = f.value.data() + (size_t)n * s.C;
  const bool pointwise = s.path == CONV_POINTWISE && f.H == g.H && f.W == g.W;
  if (s.fold_v.size() < (size_t)s.C) s.fold_v.resize(s.C);
  if (s.ridx.size() < (size_t)s.C) s.ridx.resize(s.C);
  int nk = 0, nr = 0;
  for (int c = 0; c < s.C; c++) {
    bool fold = (is_const[c] == PLANE_CONST && (s.no_pads || value[c] == 0.0f)) ||
                (is_const[c] == PLANE_INTERIOR && pointwise);
    s.fold_v[c] = fold ? value[c] : 0.0f;
    if (!fold) s.kidx[nk++] = c;
    else if (is_const[c] == PLANE_INTERIOR) s.ridx[nr++] = c;
  }
  const int nfold = s.C - nk;
  if (nfold == 0) return -1;
  // bias_fold[j] = B[j] + Σ_c wsum[j, c]·v[c]: one SIMD dot product per row (no branches).
  if (kk > 1 && s.wsum.empty()) {
    s.wsum.assign((size_t)s.M * s.C, 0.0f);
    for (size_t j = 0; j < s.wsum.size(); j++)
      for (int t = 0; t < kk; t++) s.wsum[j] += s.w[j * kk + t];
  }
  const float* wsum = kk == 1 ? s.w : s.wsum.data();
  for (int t = 0; t < nrows; t++) {
    int j = rows ? rows[t] : t;
    f32_matvec_simd128(1, s.C, wsum + (ptrdiff_t)j * s.C, s.C, s.fold_v.data(), s.b_or_zero + j,
                       s.bias_fold.data() + j);
  }
  // Compact the reduction (the planes reduced over, and those channels of W's computed rows),
  // then the dense kernels: the copies cost 1/nrows of the multiply-adds.
  if (s.fold_x.size() < (size_t)nk * HW) s.fold_x.resize((size_t)s.C * HW);
  if (s.fold_w.size() < (size_t)s.M * s.C * kk) s.fold_w.resize((size_t)s.M * s.C * kk);
  float* xc = s.fold_x.data();
  float* wc = s.fold_w.data();
  const int K = nk * kk;
  for (int t = 0; t < nk; t++)
    memcpy(xc + (size_t)t * HW, x + (size_t)s.kidx[t] * HW, sizeof(float) * (size_t)HW);
  for (int t = 0; t < nrows; t++) {
    int j = rows ? rows[t] : t;
    const float* w = s.w + (ptrdiff_t)j * s.C * kk;
    float* d = wc + (ptrdiff_t)j * K;
    // Plain loops: a memcpy call per window (or per float for 1×1) costs more than the GEMM
    // at small spatial sizes.
    if (kk == 1)
      for (int i = 0; i < nk; i++) d[i] = w[s.kidx[i]];
    else
      for (int i = 0; i < nk; i++)
        for (int t = 0; t < kk; t++) d[(size_t)i * kk + t] = w[(size_t)s.kidx[i] * kk + t];
  }
  const Act none;
  const Act& act = nr > 0 ? none : s.act; // with a ring to correct, the activation comes last
  if (s.path == CONV_POINTWISE || nk == 0)
    // nk == 0: every output is act(bias_fold), which the GEMM writes with an empty reduction.
    f32_gemm_4x8_simd128(nrows, rows, HWo, K, wc, K, xc, HWo, 8, y, HWo, s.bias_fold.data(), false, act);
  else
    f32_conv_im2col_gemm(xc, nk, g, nrows, rows, wc, K, s.bias_fold.data(), act, y, s.tile);
  double macs = (double)nrows * ((double)HWo * K + nfold);
  if (nr == 0) return macs;
  const std::vector<int>& ring = ring_pixels(s, f);
  const int nring = (int)ring.size();
  s.ring_d.resize((size_t)nr * nring);
  s.ring_w.resize((size_t)s.M * nr);
  s.ring_t.resize((size_t)s.M * nring);
  for (int t = 0; t < nr; t++) {
    const float* xp = x + (size_t)s.ridx[t] * HW;
    const float v = value[s.ridx[t]];
    float* d = s.ring_d.data() + (size_t)t * nring;
    for (int p = 0; p < nring; p++) d[p] = xp[ring[p]] - v;
  }
  for (int t = 0; t < nrows; t++) {
    int j = rows ? rows[t] : t;
    for (int i = 0; i < nr; i++) s.ring_w[(size_t)j * nr + i] = s.w[(size_t)j * s.C + s.ridx[i]];
  }
  f32_gemm_4x8_simd128(nrows, rows, nring, nr, s.ring_w.data(), nr, s.ring_d.data(), nring, 8,
                       s.ring_t.data(), nring, s.zeros.data(), false, none);
  for (int t = 0; t < nrows; t++) {
    int j = rows ? rows[t] : t;
    float* yr = y + (size_t)j * HWo;
    const float* tr = s.ring_t.data() + (size_t)j * nring;
    for (int p = 0; p < nring; p++) yr[ring[p]] += tr[p];
    if (s.act.kind != ACT_NONE) f32_act_simd128(HWo, yr, yr, s.act);
  }
  return macs + (double)nrows * nr * nring;
}

void run_Conv(OpCtx& ctx) {
  ConvState& s = *(ConvState*)ctx.state;
  const Conv2dGeom& g = s.g;
  const int Cg = s.C / s.group, Mg = s.M / s.group, K = Cg * g.kH * g.kW;
  const int HW = g.H * g.W, HWo = g.Ho * g.Wo;
  const double macs_sample = s.N > 0 ? ctx.macs / s.N : 0;
  const ChannelFill* fin = ctx.fill_in;
  const bool can_fold = fin && fin->active && s.folds && fin->C == s.C && fin->N == s.N;
  ChannelFill* dw_out = ctx.fill_out == &s.dw_out ? &s.dw_out : nullptr;
  if (dw_out) dw_out->active = false;
  ConvGate& gt = s.gate;
  if (gt.kind != GATE_NONE) gt.out.active = false;
  double executed = 0;
  bool changed = false; // whether any sample ran other than dense
  for (int n = 0; n < s.N; n++) {
    const float* x = ctx.in[0] + (ptrdiff_t)n * s.C * HW;
    float* y = ctx.out[0] + (ptrdiff_t)n * s.M * HWo;
    // Which output channels to compute (all when ungated or the gate is off this run).
    int nkept = s.M;
    const int* kept = nullptr;
    double gate_macs = 0;
    if (gt.kind != GATE_NONE) {
      const bool in_fill = fin && fin->active && fin->C == s.C && fin->N == s.N && fin->count[n] > 0;
      nkept = conv_gate_decide(&gt, x, s.C, HW, s.M, s.group, ctx.gate, s.b_or_zero, s.act, &gate_macs,
                               in_fill ? fin->is_const.data() + (size_t)n * s.C : nullptr,
                               in_fill ? fin->value.data() + (size_t)n * s.C : nullptr);
      bool gated = gt.kind == GATE_LEARNED || nkept < s.M;
      if (gated) {
        kept = gt.kept.data();
        changed = true;
        gt.out.active = true;
        int nconst = 0;
        for (int j = 0; j < s.M; j++) {
          unsigned char c = !gt.is_kept[j];
          gt.out.is_const[(size_t)n * s.M + j] = c;
          gt.out.value[(size_t)n * s.M + j] = gt.fillv[j];
          nconst += c;
        }
        gt.out.count[n] = nconst;
        if (!gt.out.skip_writes) f32_fill_skipped_planes(y, s.M, HWo, gt.is_kept.data(), gt.fillv.data());
      } else if (gt.out.count.size() > (size_t)n) {
        gt.out.count[n] = 0;
        for (int j = 0; j < s.M; j++) gt.out.is_const[(size_t)n * s.M + j] = 0;
      }
    }
    executed += gate_macs + macs_sample * nkept / (s.M > 0 ? s.M : 1);
    if (s.path == CONV_DEPTHWISE) {
      // Input channels that are constant planes (from a gated producer) need no convolution.
      const bool dw_fold = fin && fin->active && fin->C == s.C && fin->N == s.N && fin->count[n] > 0;
      if (dw_out) {
        dw_out->count[n] = 0;
        memset(dw_out->is_const.data() + (size_t)n * s.C, 0, (size_t)s.C);
      }
      if (!dw_fold) {
        f32_dwconv_channels_simd128(x, s.w, s.b, nkept, kept, g, s.act, y);
      } else {
        const unsigned char* is_const = fin->is_const.data() + (size_t)n * s.C;
        int nconv = 0, nfold = 0;
        for (int t = 0; t < nkept; t++) {
          int c = kept ? kept[t] : t;
          if (is_const[c] != PLANE_CONST) {
            s.dw_chans[nconv++] = c;
            continue;
          }
          const float v = fin->value[(size_t)n * s.C + c];
          float* yc = y + (ptrdiff_t)c * HWo;
          f32_dwconv_const_plane(v, s.w + (ptrdiff_t)c * g.kH * g.kW, s.b ? s.b[c] : 0.0f, g, s.act, yc);
          nfold++;
          // A zero plane (or any plane without pads) gives a constant plane: act(B + v·Σ taps);
          // any other, that constant inside the rectangle where every tap lands in the input.
          if (dw_out && HWo > 0 && (v == 0.0f || s.no_pads || dw_out->may_have_interior)) {
            const bool whole = v == 0.0f || s.no_pads;
            dw_out->is_const[(size_t)n * s.C + c] = whole ? PLANE_CONST : PLANE_INTERIOR;
            dw_out->value[(size_t)n * s.C + c] = whole ? yc[0] : yc[dw_out->y0 * g.Wo + dw_out->x0];
            dw_out->count[n]++;
            dw_out->active = true;
          }
        }
        f32_dwconv_channels_simd128(x, s.w, s.b, nconv, s.dw_chans.data(), g, s.act, y);
        executed -= (macs_sample / (s.M > 0 ? s.M : 1)) * nfold;
        changed = true;
      }
    } else if (double done = can_fold && fin->count[n] > 0 ? conv_folded(s, *fin, n, x, y, nkept, kept) : -1;
               done >= 0) {
      executed += done - macs_sample * nkept / (s.M > 0 ? s.M : 1);
      changed = true;
    } else {
      for (int gi = 0; gi < s.group; gi++) {
        const float* xg = x + (ptrdiff_t)gi * Cg * HW;
        const float* wg = s.w + (ptrdiff_t)gi * Mg * K;
        const float* bg = s.b ? s.b + (ptrdiff_t)gi * Mg : nullptr;
        float* yg = y + (ptrdiff_t)gi * Mg * HWo;
        // Rows of this group to compute (local indices), or all of them.
        int nloc = Mg;
        const int* loc = nullptr;
        if (kept) {
          nloc = 0;
          for (int t = 0; t < nkept; t++)
            if (kept[t] >= gi * Mg && kept[t] < (gi + 1) * Mg) gt.local[nloc++] = kept[t] - gi * Mg;
          loc = gt.local.data();
          if (nloc == 0) continue;
        }
        if (s.path == CONV_POINTWISE) {
          f32_gemm_4x8_simd128(nloc, loc, HWo, K, wg, K, xg, HW, 8, yg, HWo, bg, false, s.act);
          continue;
        }
        f32_conv_im2col_gemm(xg, Cg, g, nloc, loc, wg, K, bg, s.act, yg, s.tile);
      }
    }
    if (gt.kind == GATE_LEARNED && kept)
      f32_scale_rows_simd128(y, HWo, kept, nkept, gt.score.data());
  }
  if (changed) ctx.macs_executed = executed;
}

} // namespace sg
