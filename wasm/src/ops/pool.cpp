// MaxPool, AveragePool (2-D, NCHW) and the global pools (any spatial rank).
// The importer resolves auto_pad and ceil_mode into pads and the output shape; prepare checks
// that the stored output size is one that floor or ceil rounding could give.
#include "compute_attrs.h"
#include "../kernels/pool_f32.h"

namespace sg {

struct PoolState : NodeState {
  Conv2dGeom g;
  int planes = 0;        // N·C
  int pB = 0, pR = 0;    // bottom and right pads (the average divisor needs them)
  bool count_include_pad = false;
};

// Output size along one axis: between floor and ceil rounding, where ceil drops a last window
// that would start past the input and the leading pad (ONNX and PyTorch rule).
static bool pool_out_ok(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1,
                        int64_t out, int64_t* lo, int64_t* hi) {
  int64_t span = d * (k - 1) + 1, full = in + p0 + p1;
  if (full < span) { *lo = *hi = 0; return false; }
  *lo = (full - span) / s + 1;
  *hi = (full - span + s - 1) / s + 1;
  if ((*hi - 1) * s >= in + p0) (*hi)--;
  if (*hi < *lo) *hi = *lo;
  return out >= *lo && out <= *hi;
}

static bool prepare_pool2d(OpCtx& ctx, bool is_max) {
  if (!check_arity(ctx, 1, 1, 1)) return false;
  const Tensor& X = ctx.input(0);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, X) || !check_f32(ctx, Y) || !check_rank(ctx, X, 4) || !check_rank(ctx, Y, 4))
    return false;
  if (!check_numel(ctx, X) || !check_numel(ctx, Y)) return false;
  int64_t k[2], st[2], pads[4], dil[2] = {1, 1}, cip = 0;
  if (!attr_ints_n(ctx, "kernel_shape", 2, k) || !attr_ints_n(ctx, "strides", 2, st) ||
      !attr_ints_n(ctx, "pads", 4, pads))
    return false;
  // AveragePool has no dilations in the IR; accept them when present (ONNX opset 19 has them).
  if ((is_max || ctx.node->attr("dilations")) && !attr_ints_n(ctx, "dilations", 2, dil)) return false;
  if (!is_max && !attr_int_in(ctx, "count_include_pad", 0, 1, &cip)) return false;
  for (int i = 0; i < 2; i++) {
    if (k[i] < 1 || k[i] > kMaxGeom || st[i] < 1 || st[i] > kMaxGeom || dil[i] < 1 || dil[i] > kMaxGeom)
      return ctx.fail("kernel_shape, strides and dilations must be 1..%lld, got axis %d: %lld, %lld, %lld",
                      (long long)kMaxGeom, i, (long long)k[i], (long long)st[i], (long long)dil[i]);
  }
  for (int i = 0; i < 4; i++)
    if (pads[i] < 0 || pads[i] > kMaxGeom)
      return ctx.fail("pads[%d] = %lld, expected 0..%lld", i, (long long)pads[i], (long long)kMaxGeom);
  const int64_t* xd = X.shape.dims;
  const int64_t* yd = Y.shape.dims;
  if (yd[0] != xd[0] || yd[1] != xd[1] || xd[2] > kMaxGeom || xd[3] > kMaxGeom)
    return ctx.fail("output '%s' %s does not match input '%s' %s", Y.name.c_str(),
                    Y.shape.str().c_str(), X.name.c_str(), X.shape.str().c_str());
  for (int a = 0; a < 2; a++) {
    int64_t lo, hi;
    if (!pool_out_ok(xd[2 + a], k[a], st[a], dil[a], pads[a], pads[a + 2], yd[2 + a], &lo, &hi))
      return ctx.fail("output '%s' %s: axis %d has %lld, but input %s with kernel %lld, stride %lld, "
                      "dilation %lld, pads %lld+%lld gives %lld..%lld",
                      Y.name.c_str(), Y.shape.str().c_str(), 2 + a, (long long)yd[2 + a],
                      X.shape.str().c_str(), (long long)k[a], (long long)st[a], (long long)dil[a],
                      (long long)pads[a], (long long)pads[a + 2], (long long)lo, (long long)hi);
  }
  PoolState* s = new PoolState();
  ctx.set_state(s);
  s->g = {(int)xd[2], (int)xd[3], (int)k[0], (int)k[1], (int)st[0], (int)st[1], (int)dil[0],
          (int)dil[1], (int)pads[0], (int)pads[1], (int)yd[2], (int)yd[3]};
  s->planes = (int)(xd[0] * xd[1]);
  s->pB = (int)pads[2], s->pR = (int)pads[3];
  s->count_include_pad = cip != 0;
  // Every window then holds an input element, so a constant input plane stays that constant.
  ctx.passes_fill_in = is_max && pads[0] < k[0] && pads[1] < k[1] && pads[2] < k[0] && pads[3] < k[1];
  return true;
}

bool prepare_MaxPool(OpCtx& ctx) { return prepare_pool2d(ctx, true); }
bool prepare_AveragePool(OpCtx& ctx) { return prepare_pool2d(ctx, false); }

void run_MaxPool(OpCtx& ctx) {
  const PoolState& s = *(const PoolState*)ctx.state;
  const ptrdiff_t in_plane = (ptrdiff_t)s.g.H * s.g.W, out_plane = (ptrdiff_t)s.g.Ho * s.g.Wo;
  for (int p = 0; p < s.planes; p++)
    f32_maxpool2d(ctx.in[0] + p * in_plane, s.g, ctx.out[0] + p * out_plane);
}

void run_AveragePool(OpCtx& ctx) {
  const PoolState& s = *(const PoolState*)ctx.state;
  const ptrdiff_t in_plane = (ptrdiff_t)s.g.H * s.g.W, out_plane = (ptrdiff_t)s.g.Ho * s.g.Wo;
  for (int p = 0; p < s.planes; p++)
    f32_avgpool2d(ctx.in[0] + p * in_plane, s.g, s.pB, s.pR, s.count_include_pad,
                  ctx.out[0] + p * out_plane);
}

// ---- global pools: X [N, C, spatial…] → [N, C, 1, …] ----

struct GlobalPoolState : NodeState {
  int64_t planes = 0, plane = 0;
};

static bool prepare_global(OpCtx& ctx) {
  if (!check_arity(ctx, 1, 1, 1)) return false;
  const Tensor& X = ctx.input(0);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, X) || !check_f32(ctx, Y) || !check_numel(ctx, X)) return false;
  if (X.shape.rank < 3)
    return ctx.fail("input '%s' %s must have rank ≥ 3 (N, C, spatial…)", X.name.c_str(),
                    X.shape.str().c_str());
  Shape want = X.shape;
  for (int i = 2; i < want.rank; i++) want.dims[i] = 1;
  if (!check_shape(ctx, Y, want)) return false;
  GlobalPoolState* s = new GlobalPoolState();
  ctx.set_state(s);
  s->planes = X.shape.dims[0] * X.shape.dims[1];
  s->plane = s->planes ? X.shape.numel() / s->planes : 0;
  if (s->planes > 0 && s->plane == 0)
    return ctx.fail("input '%s' %s has empty spatial dims", X.name.c_str(), X.shape.str().c_str());
  return true;
}

bool prepare_GlobalAveragePool(OpCtx& ctx) { return prepare_global(ctx); }
bool prepare_GlobalMaxPool(OpCtx& ctx) { return prepare_global(ctx); }

void run_GlobalAveragePool(OpCtx& ctx) {
  const GlobalPoolState& s = *(const GlobalPoolState*)ctx.state;
  for (int64_t p = 0; p < s.planes; p++)
    ctx.out[0][p] = (float)(f32_sum_simd128(ctx.in[0] + p * s.plane, s.plane) / (double)s.plane);
}

void run_GlobalMaxPool(OpCtx& ctx) {
  const GlobalPoolState& s = *(const GlobalPoolState*)ctx.state;
  for (int64_t p = 0; p < s.planes; p++)
    ctx.out[0][p] = f32_max_simd128(ctx.in[0] + p * s.plane, s.plane);
}

} // namespace sg
