// Elementwise activations as standalone ops. The math is kernels/activation.h, the same code
// the conv and GEMM epilogues run for fused activations.
#include "compute_attrs.h"

namespace sg {

struct UnaryState : NodeState {
  Act act;
};

// Shared prepare: one float32 input, one output of the same shape, then the op's parameters.
static bool prepare_unary(OpCtx& ctx, int kind) {
  if (!check_arity(ctx, 1, 1, 1)) return false;
  const Tensor& X = ctx.input(0);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, X) || !check_f32(ctx, Y) || !check_shape(ctx, Y, X.shape)) return false;
  Act act;
  act.kind = kind;
  switch (kind) {
    case ACT_LEAKYRELU:
      if (!attr_float1(ctx, "alpha", &act.p0)) return false;
      break;
    case ACT_HARDSIGMOID:
      if (!attr_float1(ctx, "alpha", &act.p0) || !attr_float1(ctx, "beta", &act.p1)) return false;
      break;
    case ACT_CLIP:
      if (!attr_float1(ctx, "min", &act.p0) || !attr_float1(ctx, "max", &act.p1)) return false;
      break;
    default: break;
  }
  UnaryState* s = new UnaryState();
  s->act = act;
  ctx.set_state(s);
  return true;
}

static void run_unary(OpCtx& ctx) {
  const UnaryState& s = *(const UnaryState*)ctx.state;
  f32_act_simd128(ctx.input(0).shape.numel(), ctx.in[0], ctx.out[0], s.act);
}

#define SG_UNARY(Name, KIND)                                            \
  bool prepare_##Name(OpCtx& ctx) { return prepare_unary(ctx, KIND); } \
  void run_##Name(OpCtx& ctx) { run_unary(ctx); }

SG_UNARY(Relu, ACT_RELU)
SG_UNARY(Sigmoid, ACT_SIGMOID)
SG_UNARY(Tanh, ACT_TANH)
SG_UNARY(HardSwish, ACT_HARDSWISH)
SG_UNARY(Silu, ACT_SILU)
SG_UNARY(LeakyRelu, ACT_LEAKYRELU)
SG_UNARY(HardSigmoid, ACT_HARDSIGMOID)
SG_UNARY(Clip, ACT_CLIP)

#undef SG_UNARY

} // namespace sg
