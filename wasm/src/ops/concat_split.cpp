// Concat and Split along one axis: blocks of contiguous memory copied per outer index.
#include <string.h>
#include "op.h"

namespace sg {

struct AxisCopyState : NodeState {
  int64_t outer = 0;                // product of dims before the axis
  std::vector<int64_t> chunk;       // per input (Concat) or output (Split): elements per outer step
  int64_t total = 0;                // sum of chunks
};

// Shapes a and b agree everywhere except on `axis`.
static bool same_except(const Shape& a, const Shape& b, int axis) {
  if (a.rank != b.rank) return false;
  for (int d = 0; d < a.rank; d++)
    if (d != axis && a.dims[d] != b.dims[d]) return false;
  return true;
}

static AxisCopyState* axis_state(OpCtx& ctx, const Shape& s, int axis) {
  AxisCopyState* st = new AxisCopyState;
  ctx.set_state(st);
  st->outer = 1;
  for (int d = 0; d < axis; d++) st->outer *= s.dims[d];
  return st;
}

static int64_t inner_of(const Shape& s, int axis) {
  int64_t n = 1;
  for (int d = axis + 1; d < s.rank; d++) n *= s.dims[d];
  return n;
}

bool prepare_Concat(OpCtx& ctx) {
  if (!ctx.need_io(1, 1 << 16, 1)) return false;
  const Tensor& y = ctx.output(0);
  int axis;
  if (!ctx.need_axis("axis", y.shape.rank, &axis)) return false;
  int64_t sum = 0;
  for (int i = 0; i < ctx.input_count(); i++) {
    const Tensor& x = ctx.input(i);
    if (!same_except(x.shape, y.shape, axis))
      return ctx.fail("input '%s' %s does not match output '%s' %s outside axis %d", x.name.c_str(),
                      x.shape.str().c_str(), y.name.c_str(), y.shape.str().c_str(), axis);
    sum += x.shape.dims[axis];
  }
  if (sum != y.shape.dims[axis])
    return ctx.fail("inputs add up to %lld along axis %d but output '%s' has shape %s", (long long)sum, axis,
                    y.name.c_str(), y.shape.str().c_str());
  AxisCopyState* st = axis_state(ctx, y.shape, axis);
  int64_t inner = inner_of(y.shape, axis);
  for (int i = 0; i < ctx.input_count(); i++) st->chunk.push_back(ctx.input(i).shape.dims[axis] * inner);
  st->total = y.shape.dims[axis] * inner;
  return true;
}

void run_Concat(OpCtx& ctx) {
  const AxisCopyState* st = (const AxisCopyState*)ctx.state;
  float* y = ctx.out[0];
  for (int64_t o = 0; o < st->outer; o++) {
    float* dst = y + o * st->total;
    for (size_t i = 0; i < st->chunk.size(); i++) {
      int64_t n = st->chunk[i];
      if (n) memcpy(dst, ctx.in[i] + o * n, (size_t)n * sizeof(float));
      dst += n;
    }
  }
}

bool prepare_Split(OpCtx& ctx) {
  int n_out = ctx.output_count();
  if (n_out < 1) return ctx.fail("expects at least one output");
  if (!ctx.need_io(1, 1, n_out)) return false;
  const Tensor& x = ctx.input(0);
  int axis;
  std::vector<int64_t> split;
  if (!ctx.need_axis("axis", x.shape.rank, &axis)) return false;
  if (!ctx.need_ints("split", &split, n_out)) return false;
  int64_t sum = 0;
  for (int i = 0; i < n_out; i++) {
    if (split[i] < 0 || split[i] > x.shape.dims[axis])
      return ctx.fail("split size %lld out of range for input '%s' %s", (long long)split[i], x.name.c_str(),
                      x.shape.str().c_str());
    sum += split[i];
    Shape want = x.shape;
    want.dims[axis] = split[i];
    if (!ctx.need_output_shape(i, want)) return false;
  }
  if (sum != x.shape.dims[axis])
    return ctx.fail("split sizes add up to %lld, but input '%s' %s has %lld along axis %d", (long long)sum,
                    x.name.c_str(), x.shape.str().c_str(), (long long)x.shape.dims[axis], axis);
  AxisCopyState* st = axis_state(ctx, x.shape, axis);
  int64_t inner = inner_of(x.shape, axis);
  for (int i = 0; i < n_out; i++) st->chunk.push_back(split[i] * inner);
  st->total = x.shape.dims[axis] * inner;
  return true;
}

void run_Split(OpCtx& ctx) {
  const AxisCopyState* st = (const AxisCopyState*)ctx.state;
  const float* x = ctx.in[0];
  for (int64_t o = 0; o < st->outer; o++) {
    const float* src = x + o * st->total;
    for (size_t i = 0; i < st->chunk.size(); i++) {
      int64_t n = st->chunk[i];
      if (n) memcpy(ctx.out[i] + o * n, src, (size_t)n * sizeof(float));
      src += n;
    }
  }
}

} // namespace sg
