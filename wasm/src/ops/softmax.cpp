// Softmax over any axis (opset >= 13): exp(x - max) / sum, along `axis` only.
#include <math.h>
#include "op.h"

namespace sg {

struct SoftmaxState : NodeState {
  int64_t outer = 1, n = 1, inner = 1;
};

bool prepare_Softmax(OpCtx& ctx) {
  if (!ctx.need_io(1, 1, 1)) return false;
  const Tensor& x = ctx.input(0);
  int axis;
  if (!ctx.need_axis("axis", x.shape.rank, &axis)) return false;
  if (!ctx.need_output_shape(0, x.shape)) return false;
  SoftmaxState* st = new SoftmaxState;
  ctx.set_state(st);
  for (int d = 0; d < x.shape.rank; d++) {
    if (d < axis) st->outer *= x.shape.dims[d];
    else if (d == axis) st->n = x.shape.dims[d];
    else st->inner *= x.shape.dims[d];
  }
  return true;
}

void run_Softmax(OpCtx& ctx) {
  const SoftmaxState* st = (const SoftmaxState*)ctx.state;
  int64_t n = st->n, inner = st->inner;
  if (n == 0) return;
  for (int64_t o = 0; o < st->outer; o++) {
    for (int64_t j = 0; j < inner; j++) {
      const float* x = ctx.in[0] + o * n * inner + j;
      float* y = ctx.out[0] + o * n * inner + j;
      float mx = x[0];
      for (int64_t i = 1; i < n; i++) mx = x[i * inner] > mx ? x[i * inner] : mx;
      float sum = 0;
      for (int64_t i = 0; i < n; i++) {
        float e = expf(x[i * inner] - mx);
        y[i * inner] = e;
        sum += e;
      }
      float inv = 1.0f / sum;
      for (int64_t i = 0; i < n; i++) y[i * inner] *= inv;
    }
  }
}

} // namespace sg
