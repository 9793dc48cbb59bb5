// Resize, nearest and linear, any rank. Per axis, prepare turns the coordinate transform and
// rounding into tables (nearest: one source index per output index; linear: two indices and a
// weight), so run is a gather with no floating-point coordinate math.
#include <math.h>
#include <string.h>
#include <string>
#include <vector>
#include "compute_attrs.h"

namespace sg {

enum CoordMode { CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC,
                 CT_TF_HALF_PIXEL_FOR_NN, CT_HALF_PIXEL_SYMMETRIC };
enum NearestMode { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL };

struct ResizeState : NodeState {
  bool linear = false;
  int rank = 0;
  int64_t in_dims[kMaxRank] = {}, out_dims[kMaxRank] = {};
  bool interp[kMaxRank] = {};       // linear: this axis interpolates
  std::vector<int> idx0[kMaxRank];  // source index (nearest) or lower neighbour (linear)
  std::vector<int> idx1[kMaxRank];  // linear: upper neighbour
  std::vector<float> w1[kMaxRank];  // linear: weight of the upper neighbour
};

// Source coordinate of output index x (ONNX Resize, coordinate_transformation_mode).
static double resize_coord(int mode, double x, double scale, int64_t in, int64_t out) {
  switch (mode) {
    case CT_HALF_PIXEL: return (x + 0.5) / scale - 0.5;
    case CT_PYTORCH_HALF_PIXEL: return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case CT_ALIGN_CORNERS: return out == 1 ? 0.0 : x * (double)(in - 1) / (double)(out - 1);
    case CT_ASYMMETRIC: return x / scale;
    case CT_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / scale;
    default: { // half_pixel_symmetric
      double adjustment = (double)out / (scale * (double)in);
      double center = (double)in / 2;
      return center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
    }
  }
}

static int64_t nearest_round(int mode, double x) {
  switch (mode) {
    case NM_ROUND_PREFER_FLOOR: return (int64_t)ceil(x - 0.5);
    case NM_ROUND_PREFER_CEIL: return (int64_t)floor(x + 0.5);
    case NM_FLOOR: return (int64_t)floor(x);
    default: return (int64_t)ceil(x);
  }
}

static int lookup(const char* value, const char* const* names, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(value, names[i]) == 0) return i;
  return -1;
}

bool prepare_Resize(OpCtx& ctx) {
  if (ctx.input_count() < 1 || !ctx.has_input(0))
    return ctx.fail("expects input X");
  for (int i = 1; i < ctx.input_count(); i++)
    if (ctx.has_input(i))
      return ctx.fail("input %d is present; roi, scales and sizes must be attributes", i);
  if (ctx.output_count() != 1) return ctx.fail("expects 1 output, got %d", ctx.output_count());
  const Tensor& X = ctx.input(0);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, X) || !check_f32(ctx, Y) || !check_numel(ctx, X) || !check_numel(ctx, Y))
    return false;
  if (Y.shape.rank != X.shape.rank || X.shape.rank < 1)
    return ctx.fail("output '%s' %s must have the rank of input '%s' %s", Y.name.c_str(),
                    Y.shape.str().c_str(), X.name.c_str(), X.shape.str().c_str());
  // Index tables are sized by the output dims; the arena caps activations at 1 GiB anyway.
  if (Y.shape.numel() > ((int64_t)1 << 28))
    return ctx.fail("output '%s' %s is too large", Y.name.c_str(), Y.shape.str().c_str());
  std::string mode, ct, nm;
  std::vector<float> scales;
  if (!attr_str(ctx, "mode", &mode) || !attr_str(ctx, "coordinate_transformation_mode", &ct) ||
      !attr_str(ctx, "nearest_mode", &nm) || !attr_floats_any(ctx, "scales", &scales))
    return false;
  static const char* const kModes[] = {"nearest", "linear"};
  static const char* const kCoord[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                       "asymmetric", "tf_half_pixel_for_nn", "half_pixel_symmetric"};
  static const char* const kNearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  int m = lookup(mode.c_str(), kModes, 2);
  int c = lookup(ct.c_str(), kCoord, 6);
  int n = lookup(nm.c_str(), kNearest, 4);
  if (m < 0) return ctx.fail("mode '%s' is not supported (nearest, linear)", mode.c_str());
  if (c < 0)
    return ctx.fail("coordinate_transformation_mode '%s' is not supported (half_pixel, "
                    "pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn, "
                    "half_pixel_symmetric)", ct.c_str());
  if (m == 0 && n < 0)
    return ctx.fail("nearest_mode '%s' is not supported (round_prefer_floor, round_prefer_ceil, "
                    "floor, ceil)", nm.c_str());
  const int rank = X.shape.rank;
  if ((int)scales.size() != rank)
    return ctx.fail("attribute 'scales' needs %d values (one per axis), got %d", rank, (int)scales.size());
  for (int a = 0; a < rank; a++) {
    if (!(scales[a] > 0) || isinf(scales[a]))
      return ctx.fail("scales[%d] = %g must be positive and finite", a, (double)scales[a]);
    if (X.shape.dims[a] == 0 && Y.shape.dims[a] > 0)
      return ctx.fail("axis %d: cannot resize an empty input '%s' %s to %s", a, X.name.c_str(),
                      X.shape.str().c_str(), Y.shape.str().c_str());
    // ONNX gives floor(in · scale) (sizes: the size itself, whose float32 scale may round
    // either way): within one of in · scale, or the tables describe another resize.
    double want = (double)X.shape.dims[a] * (double)scales[a];
    if (fabs((double)Y.shape.dims[a] - want) > 1.0 + 1e-6 * want)
      return ctx.fail("axis %d: output '%s' %s does not match input '%s' %s at scale %g", a,
                      Y.name.c_str(), Y.shape.str().c_str(), X.name.c_str(), X.shape.str().c_str(),
                      (double)scales[a]);
  }
  double table_bytes = 0; // per axis and output index: an index, and for linear another and a weight
  for (int a = 0; a < rank; a++) table_bytes += (m == 1 ? 12.0 : 4.0) * (double)Y.shape.dims[a];
  if (!ctx.reserve(table_bytes, "index tables")) return false;

  ResizeState* s = new ResizeState();
  ctx.set_state(s);
  s->linear = m == 1;
  s->rank = rank;
  for (int a = 0; a < rank; a++) {
    const int64_t in = X.shape.dims[a], out = Y.shape.dims[a];
    s->in_dims[a] = in, s->out_dims[a] = out;
    // An axis that keeps its size at scale 1 maps every index to itself in every coordinate
    // mode: copy it. Any other axis goes through the transform (as ONNX and the reference).
    bool identity = in == out && scales[a] == 1.0f;
    s->interp[a] = s->linear && !identity;
    s->idx0[a].resize((size_t)out);
    if (s->interp[a]) s->idx1[a].resize((size_t)out), s->w1[a].resize((size_t)out);
    for (int64_t o = 0; o < out; o++) {
      if (identity) { s->idx0[a][o] = (int)o; continue; }
      double x = resize_coord(c, (double)o, (double)scales[a], in, out);
      if (!s->linear) {
        x = x < -1 ? -1 : (x > (double)in ? (double)in : x); // keeps the int conversion defined
        int64_t i = nearest_round(n, x);
        s->idx0[a][o] = (int)(i < 0 ? 0 : (i >= in ? in - 1 : i));
        continue;
      }
      // Clamp to the input, then the two neighbours (edge-replicated past the last index).
      x = x < 0 ? 0 : (x > (double)(in - 1) ? (double)(in - 1) : x);
      int64_t i0 = (int64_t)floor(x);
      s->idx0[a][o] = (int)i0;
      s->idx1[a][o] = (int)(i0 + 1 < in ? i0 + 1 : in - 1);
      s->w1[a][o] = (float)(x - (double)i0);
    }
  }
  return true;
}

void run_Resize(OpCtx& ctx) {
  const ResizeState& s = *(const ResizeState*)ctx.state;
  const int rank = s.rank, last = rank - 1;
  int64_t in_stride[kMaxRank];
  in_stride[last] = 1;
  for (int a = last - 1; a >= 0; a--) in_stride[a] = in_stride[a + 1] * s.in_dims[a + 1];
  int64_t outer = 1;
  for (int a = 0; a < last; a++) outer *= s.out_dims[a];
  const int64_t width = s.out_dims[last];
  if (width == 0) return;
  const float* x = ctx.in[0];
  float* y = ctx.out[0];
  int64_t pos[kMaxRank] = {}; // odometer over the outer output axes
  // Corners of the interpolated outer axes: offsets and weights (up to 2^(rank-1)).
  int64_t off[1 << (kMaxRank - 1)];
  float wt[1 << (kMaxRank - 1)];
  const int* i0 = s.idx0[last].data();
  const int* i1 = s.interp[last] ? s.idx1[last].data() : nullptr;
  const float* w1 = s.interp[last] ? s.w1[last].data() : nullptr;
  for (int64_t t = 0; t < outer; t++, y += width) {
    int nc = 1;
    off[0] = 0, wt[0] = 1.0f;
    for (int a = 0; a < last; a++) {
      int64_t o = pos[a];
      if (!s.interp[a]) {
        for (int q = 0; q < nc; q++) off[q] += s.idx0[a][o] * in_stride[a];
        continue;
      }
      float l = s.w1[a][o];
      int64_t d0 = s.idx0[a][o] * in_stride[a], d1 = s.idx1[a][o] * in_stride[a];
      for (int q = 0; q < nc; q++) {
        off[nc + q] = off[q] + d1, wt[nc + q] = wt[q] * l;
        off[q] += d0, wt[q] *= 1.0f - l;
      }
      nc *= 2;
    }
    if (!s.linear) {
      const float* xr = x + off[0];
      for (int64_t o = 0; o < width; o++) y[o] = xr[i0[o]];
    } else if (!i1) {
      for (int64_t o = 0; o < width; o++) {
        float v = 0;
        for (int q = 0; q < nc; q++) v += wt[q] * x[off[q] + i0[o]];
        y[o] = v;
      }
    } else {
      for (int64_t o = 0; o < width; o++) {
        float v = 0, l = w1[o];
        for (int q = 0; q < nc; q++) {
          const float* xr = x + off[q];
          v += wt[q] * (xr[i0[o]] + l * (xr[i1[o]] - xr[i0[o]]));
        }
        y[o] = v;
      }
    }
    for (int a = last - 1; a >= 0; a--) { // advance the odometer
      if (++pos[a] < s.out_dims[a]) break;
      pos[a] = 0;
    }
  }
}

} // namespace sg
