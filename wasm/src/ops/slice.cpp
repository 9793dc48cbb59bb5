// Slice: output index i on axis a reads input index starts[a] + i * steps[a] (docs/ir.md).
#include "op.h"

namespace sg {

struct SliceState : NodeState {
  int rank = 0;
  int64_t out_dims[kMaxRank] = {};
  int64_t in_stride[kMaxRank] = {};  // element stride of the input per output step
  int64_t base = 0;                  // input offset of output element 0
  int64_t numel = 0;
};

bool prepare_Slice(OpCtx& ctx) {
  if (!ctx.need_io(1, 1, 1)) return false;
  const Tensor& x = ctx.input(0);
  const Tensor& y = ctx.output(0);
  int r = x.shape.rank;
  std::vector<int64_t> starts, steps;
  if (!ctx.need_ints("starts", &starts, r) || !ctx.need_ints("steps", &steps, r)) return false;
  if (y.shape.rank != r)
    return ctx.fail("output '%s' %s must have the rank of input '%s' %s", y.name.c_str(), y.shape.str().c_str(),
                    x.name.c_str(), x.shape.str().c_str());
  SliceState* st = new SliceState;
  ctx.set_state(st);
  st->rank = r;
  st->numel = y.shape.numel();
  int64_t stride = 1;
  for (int a = r - 1; a >= 0; a--) {
    int64_t n = y.shape.dims[a], dim = x.shape.dims[a], s = starts[a], step = steps[a];
    if (step == 0) return ctx.fail("step 0 on axis %d", a);
    if (n == 1) step = 1;  // never advances; keeps the strides below small
    if (st->numel > 0) {
      if (s < 0 || s >= dim)
        return ctx.fail("axis %d: start %lld out of range of input '%s' %s", a, (long long)s, x.name.c_str(),
                        x.shape.str().c_str());
      if (n > 1 && (step > dim || step < -dim))
        return ctx.fail("step %lld on axis %d reads out of range of input '%s' %s", (long long)step, a,
                        x.name.c_str(), x.shape.str().c_str());
      int64_t last = s + (n - 1) * step;  // |step| <= dim <= 2^31 and n <= 2^31: no overflow
      if (last < 0 || last >= dim)
        return ctx.fail("axis %d: start %lld, step %lld, %lld elements read out of range of input '%s' %s", a,
                        (long long)s, (long long)step, (long long)n, x.name.c_str(), x.shape.str().c_str());
      // Only checked starts and steps form offsets: an empty output's are never read, and
      // multiplying them could overflow.
      st->in_stride[a] = step * stride;
      st->base += s * stride;
    }
    st->out_dims[a] = n;
    stride *= dim;
  }
  return true;
}

void run_Slice(OpCtx& ctx) {
  const SliceState* st = (const SliceState*)ctx.state;
  if (st->numel == 0) return;
  const float* x = ctx.in[0];
  float* y = ctx.out[0];
  if (st->rank == 0) {
    y[0] = x[0];
    return;
  }
  int r = st->rank;
  int64_t inner = st->out_dims[r - 1], istep = st->in_stride[r - 1];
  int64_t idx[kMaxRank] = {};
  int64_t off = st->base;
  for (int64_t done = 0; done < st->numel; done += inner) {
    const float* src = x + off;
    float* dst = y + done;
    if (istep == 1) {
      for (int64_t i = 0; i < inner; i++) dst[i] = src[i];
    } else {
      for (int64_t i = 0; i < inner; i++) dst[i] = src[i * istep];
    }
    for (int d = r - 2; d >= 0; d--) {
      off += st->in_stride[d];
      if (++idx[d] < st->out_dims[d]) break;
      off -= st->in_stride[d] * st->out_dims[d];
      idx[d] = 0;
    }
  }
}

} // namespace sg
