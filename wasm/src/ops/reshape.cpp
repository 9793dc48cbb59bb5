// Reshape (also Flatten, Squeeze, Unsqueeze, Identity, Dropout after import): a copy.
#include <string.h>
#include "op.h"

namespace sg {

bool prepare_Reshape(OpCtx& ctx) {
  if (!ctx.need_io(1, 1, 1)) return false;
  const Tensor& x = ctx.input(0);
  const Tensor& y = ctx.output(0);
  if (x.shape.numel() != y.shape.numel())
    return ctx.fail("input '%s' %s and output '%s' %s differ in element count", x.name.c_str(),
                    x.shape.str().c_str(), y.name.c_str(), y.shape.str().c_str());
  return true;
}

void run_Reshape(OpCtx& ctx) {
  size_t n = (size_t)ctx.output(0).shape.numel();
  if (n && ctx.out[0] != ctx.in[0]) memmove(ctx.out[0], ctx.in[0], n * sizeof(float));
}

} // namespace sg
