// LayerNormalization (opset 17, float32 statistics): each row of D = Π X.dims[axis:] values is
// normalized by its own mean and variance, then scaled and shifted elementwise:
//   y = (x − mean) / sqrt(var + epsilon) · Scale + B
// Scale and B (optional) have the normalized shape X.dims[axis:] exactly (the importer
// broadcasts constant ones); only output Y exists in the IR (Mean and InvStdDev are refused
// by the importer when a graph reads them). Two passes per row, four partial sums each.
#include <math.h>
#include "compute_attrs.h"

namespace sg {

struct LayerNormState : NodeState {
  int64_t rows = 0, d = 0;
  float epsilon = 0;
};

bool prepare_LayerNormalization(OpCtx& ctx) {
  if (!check_arity(ctx, 2, 3, 1)) return false;
  const Tensor& X = ctx.input(0);
  if (!check_f32(ctx, X) || !check_f32(ctx, ctx.input(1)) || !check_f32(ctx, ctx.output(0)))
    return false;
  int axis;
  float epsilon;
  if (!ctx.need_axis("axis", X.shape.rank, &axis) || !attr_float1(ctx, "epsilon", &epsilon)) return false;
  if (!(epsilon >= 0) || !isfinite(epsilon))
    return ctx.fail("attribute 'epsilon' = %g, expected a finite value >= 0", (double)epsilon);
  Shape norm;
  norm.rank = X.shape.rank - axis;
  for (int i = 0; i < norm.rank; i++) norm.dims[i] = X.shape.dims[axis + i];
  if (!check_shape(ctx, ctx.input(1), norm)) return false;
  if (ctx.has_input(2) && (!check_f32(ctx, ctx.input(2)) || !check_shape(ctx, ctx.input(2), norm)))
    return false;
  if (!ctx.need_output_shape(0, X.shape)) return false;
  LayerNormState* st = new LayerNormState;
  ctx.set_state(st);
  st->d = norm.numel();
  st->rows = st->d ? X.shape.numel() / st->d : 0;
  st->epsilon = epsilon;
  return true;
}

void run_LayerNormalization(OpCtx& ctx) {
  const LayerNormState& st = *(const LayerNormState*)ctx.state;
  const float* scale = ctx.in[1];
  const float* bias = ctx.in.size() > 2 ? ctx.in[2] : nullptr;
  const int64_t d = st.d;
  for (int64_t r = 0; r < st.rows; r++) {
    const float* x = ctx.in[0] + r * d;
    float* y = ctx.out[0] + r * d;
    float p[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= d; i += 4)
      for (int l = 0; l < 4; l++) p[l] += x[i + l];
    for (; i < d; i++) p[0] += x[i];
    const float mean = ((p[0] + p[1]) + (p[2] + p[3])) / (float)d;
    float q[4] = {0, 0, 0, 0};
    for (i = 0; i + 4 <= d; i += 4)
      for (int l = 0; l < 4; l++) {
        float c = x[i + l] - mean;
        q[l] += c * c;
      }
    for (; i < d; i++) q[0] += (x[i] - mean) * (x[i] - mean);
    const float var = ((q[0] + q[1]) + (q[2] + q[3])) / (float)d;
    const float inv = 1.0f / sqrtf(var + st.epsilon);
    if (bias)
      for (i = 0; i < d; i++) y[i] = (x[i] - mean) * inv * scale[i] + bias[i];
    else
      for (i = 0; i < d; i++) y[i] = (x[i] - mean) * inv * scale[i];
  }
}

} // namespace sg
