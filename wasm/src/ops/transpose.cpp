// Transpose: output dim i is input dim perm[i]. A gather over the output in order; when
// the last axis stays last, whole rows are copied.
#include <string.h>
#include "op.h"

namespace sg {

struct TransposeState : NodeState {
  int rank = 0;
  int64_t dims[kMaxRank] = {};       // output dims
  int64_t in_stride[kMaxRank] = {};  // input element stride per output axis
  int64_t numel = 0;
};

bool prepare_Transpose(OpCtx& ctx) {
  if (!ctx.need_io(1, 1, 1)) return false;
  const Tensor& x = ctx.input(0);
  int r = x.shape.rank;
  std::vector<int64_t> perm;
  if (!ctx.need_ints("perm", &perm, r)) return false;
  bool seen[kMaxRank] = {};
  Shape want;
  want.rank = r;
  for (int i = 0; i < r; i++) {
    if (perm[i] < 0 || perm[i] >= r || seen[perm[i]])
      return ctx.fail("perm is not a permutation of 0..%d for input '%s' %s", r - 1, x.name.c_str(), x.shape.str().c_str());
    seen[perm[i]] = true;
    want.dims[i] = x.shape.dims[perm[i]];
  }
  if (!ctx.need_output_shape(0, want)) return false;
  TransposeState* st = new TransposeState;
  ctx.set_state(st);
  int64_t stride[kMaxRank];
  int64_t s = 1;
  for (int d = r - 1; d >= 0; d--) {
    stride[d] = s;
    s *= x.shape.dims[d];
  }
  // Drop output axes of size 1: they do not move anything.
  for (int i = 0; i < r; i++) {
    if (want.dims[i] == 1) continue;
    st->dims[st->rank] = want.dims[i];
    st->in_stride[st->rank] = stride[perm[i]];
    st->rank++;
  }
  st->numel = want.numel();
  return true;
}

void run_Transpose(OpCtx& ctx) {
  const TransposeState* st = (const TransposeState*)ctx.state;
  if (st->numel == 0) return;
  const float* x = ctx.in[0];
  float* y = ctx.out[0];
  int r = st->rank;
  if (r == 0) {
    y[0] = x[0];
    return;
  }
  int64_t inner = st->dims[r - 1], istep = st->in_stride[r - 1];
  int64_t idx[kMaxRank] = {};
  int64_t off = 0;
  for (int64_t done = 0; done < st->numel; done += inner) {
    const float* src = x + off;
    float* dst = y + done;
    if (istep == 1) {
      memcpy(dst, src, (size_t)inner * sizeof(float));
    } else {
      for (int64_t i = 0; i < inner; i++) dst[i] = src[i * istep];
    }
    for (int d = r - 2; d >= 0; d--) {
      off += st->in_stride[d];
      if (++idx[d] < st->dims[d]) break;
      off -= st->in_stride[d] * st->dims[d];
      idx[d] = 0;
    }
  }
}

} // namespace sg
