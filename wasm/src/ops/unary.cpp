// Elementwise activations as standalone ops. The math is kernels/activation.h, the same code
// the conv and GEMM epilogues run for fused activations; the math ops that never fuse (Exp,
// Log, Erf, Gelu, …) are kernels/math_f32.h, outside the epilogues.
#include "compute_attrs.h"
#include "../kernels/math_f32.h"

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

struct MathState : NodeState {
  MathOp op;
};

static bool prepare_math(OpCtx& ctx, int kind) {
  if (!check_arity(ctx, 1, 1, 1)) return false;
  const Tensor& X = ctx.input(0);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, X) || !check_f32(ctx, Y) || !check_shape(ctx, Y, X.shape)) return false;
  MathOp op;
  op.kind = kind;
  if (kind == MATH_ELU && !attr_float1(ctx, "alpha", &op.p0)) return false;
  if (kind == MATH_SELU && (!attr_float1(ctx, "alpha", &op.p0) || !attr_float1(ctx, "gamma", &op.p1)))
    return false;
  if (kind == MATH_GELU) {
    std::string approximate;
    if (!attr_str(ctx, "approximate", &approximate)) return false;
    if (approximate == "tanh") op.kind = MATH_GELU_TANH;
    else if (approximate != "none")
      return ctx.fail("attribute 'approximate' = '%s', expected 'none' or 'tanh'", approximate.c_str());
  }
  MathState* s = new MathState();
  s->op = op;
  ctx.set_state(s);
  return true;
}

static void run_math(OpCtx& ctx) {
  const MathState& s = *(const MathState*)ctx.state;
  f32_math_simd128(ctx.input(0).shape.numel(), ctx.in[0], ctx.out[0], s.op);
}

#define SG_MATH(Name, KIND)                                            \
  bool prepare_##Name(OpCtx& ctx) { return prepare_math(ctx, KIND); } \
  void run_##Name(OpCtx& ctx) { run_math(ctx); }

SG_MATH(Exp, MATH_EXP)
SG_MATH(Log, MATH_LOG)
SG_MATH(Sqrt, MATH_SQRT)
SG_MATH(Abs, MATH_ABS)
SG_MATH(Neg, MATH_NEG)
SG_MATH(Reciprocal, MATH_RECIPROCAL)
SG_MATH(Floor, MATH_FLOOR)
SG_MATH(Ceil, MATH_CEIL)
SG_MATH(Round, MATH_ROUND)
SG_MATH(Sign, MATH_SIGN)
SG_MATH(Erf, MATH_ERF)
SG_MATH(Softplus, MATH_SOFTPLUS)
SG_MATH(Elu, MATH_ELU)
SG_MATH(Selu, MATH_SELU)
SG_MATH(Mish, MATH_MISH)
SG_MATH(Gelu, MATH_GELU)

#undef SG_MATH

} // namespace sg
