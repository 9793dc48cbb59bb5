// Dequantize: a constant stored compactly becomes a float32 constant (docs/ir.md, "Quantized
// ops"). Y = float(X) · scale[index along axis] for int8/int32 X; Y = float(X) for float16 X.
//
// Every Dequantize reads constants only, so the loader evaluates each one once when the model
// loads (fold_dequantize, called by model_parse): the output tensor becomes a float32 constant
// owned by the Model and the node disappears. Conv, Gemm, MatMul and every other op then see
// an ordinary f32 constant, used in place, with no per-op code. prepare/run below are the same
// code the fold uses; a Dequantize whose output is a graph output stays a node and runs like
// any other; one whose input is not a constant is refused.
#include <stdlib.h>
#include <string.h>
#include "compute_attrs.h"
#include "../common.h"
#include "sparsegate.h"

namespace sg {

struct DequantizeState : NodeState {
  int64_t numel = 0, inner = 1, axis_dim = 1; // index along axis = (i / inner) % axis_dim
  uint8_t dtype = DT_I8;
  bool per_axis = false;
};

// IEEE half → float, exact (subnormals, infinities and NaN included).
static float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else { // subnormal half: normalize
    int e = -1;
    do { man <<= 1; e++; } while (!(man & 0x400));
    bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3FF) << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

bool prepare_Dequantize(OpCtx& ctx) {
  if (!check_arity(ctx, 1, 2, 1)) return false;
  const Tensor& X = ctx.input(0);
  const Tensor& Y = ctx.output(0);
  if (X.kind != TK_CONSTANT)
    return ctx.fail("input '%s' must be a constant (Dequantize is evaluated when the model loads)", X.name.c_str());
  if (X.dtype != DT_I8 && X.dtype != DT_I32 && X.dtype != DT_F16)
    return ctx.fail("input '%s' has dtype %s, expected int8, int32 or float16", X.name.c_str(), dtype_name(X.dtype));
  if (!check_f32(ctx, Y) || !check_shape(ctx, Y, X.shape) || !check_numel(ctx, X)) return false;
  int axis;
  if (!ctx.need_axis("axis", X.shape.rank > 0 ? X.shape.rank : 1, &axis)) return false;
  DequantizeState* s = new DequantizeState();
  ctx.set_state(s);
  s->numel = X.shape.numel();
  s->dtype = X.dtype;
  if (X.dtype == DT_F16) {
    if (ctx.has_input(1)) return ctx.fail("a float16 input takes no scale (got '%s')", ctx.input(1).name.c_str());
    return true;
  }
  if (!ctx.has_input(1)) return ctx.fail("an %s input needs a scale (input 1)", dtype_name(X.dtype));
  const Tensor& S = ctx.input(1);
  const float* sd;
  if (!check_f32(ctx, S) || !constant_input(ctx, 1, &sd)) return false;
  int64_t dim = X.shape.rank > 0 ? X.shape.dims[axis] : 1;
  int64_t n = S.shape.numel();
  if (S.shape.rank > 1 || (n != 1 && n != dim))
    return ctx.fail("scale '%s' has shape %s, expected [1] or [%lld] (dim %d of '%s' %s)", S.name.c_str(),
                    S.shape.str().c_str(), (long long)dim, axis, X.name.c_str(), X.shape.str().c_str());
  s->per_axis = n == dim && n != 1;
  s->axis_dim = dim;
  for (int i = axis + 1; i < X.shape.rank; i++) s->inner *= X.shape.dims[i];
  return true;
}

void run_Dequantize(OpCtx& ctx) {
  const DequantizeState& s = *(const DequantizeState*)ctx.state;
  float* y = ctx.out[0];
  const void* x = ctx.in[0];
  if (s.dtype == DT_F16) {
    const uint8_t* h = (const uint8_t*)x;
    for (int64_t i = 0; i < s.numel; i++) y[i] = f16_to_f32((uint16_t)(h[2 * i] | (h[2 * i + 1] << 8)));
    return;
  }
  const float* scale = ctx.in[1];
  for (int64_t i = 0; i < s.numel; i++) {
    float v;
    if (s.dtype == DT_I8) {
      v = (float)((const int8_t*)x)[i];
    } else {
      int32_t q;
      memcpy(&q, (const uint8_t*)x + 4 * i, 4);
      v = (float)q;
    }
    y[i] = v * scale[s.per_axis ? (i / s.inner) % s.axis_dim : 0];
  }
}

bool fold_dequantize(Model* m) {
  std::vector<Node> kept;
  kept.reserve(m->nodes.size());
  for (Node& n : m->nodes) {
    if (n.op != "Dequantize") {
      kept.push_back(std::move(n));
      continue;
    }
    std::string error;
    std::vector<NodeState*> states;
    OpCtx ctx;
    ctx.model = m;
    ctx.node = &n;
    ctx.error = &error;
    ctx.owned_states = &states;
    bool ok = prepare_Dequantize(ctx);
    int out = ok ? n.outputs[0] : -1;
    bool graph_output = false;
    for (int t : m->outputs) graph_output |= t == out;
    if (ok && graph_output) { // stays a node: the session gives graph outputs their own buffers
      for (NodeState* st : states) delete st;
      kept.push_back(std::move(n));
      continue;
    }
    float* buf = nullptr;
    if (ok) {
      int64_t numel = m->tensors[out].shape.numel();
      buf = (float*)malloc((size_t)(numel > 0 ? numel : 1) * sizeof(float));
      if (!buf) {
        for (NodeState* st : states) delete st;
        return set_error(SG_ERR_MEMORY, "Dequantize node '%s': out of memory for %lld floats", n.name.c_str(), (long long)numel);
      }
      m->folded.push_back(buf);
      ctx.in.assign(n.inputs.size(), nullptr);
      for (size_t i = 0; i < n.inputs.size(); i++)
        if (n.inputs[i] >= 0) ctx.in[i] = (const float*)m->tensors[n.inputs[i]].data;
      ctx.out.assign(1, buf);
      run_Dequantize(ctx);
      Tensor& t = m->tensors[out];
      t.kind = TK_CONSTANT;
      t.data = (const uint8_t*)buf;
      t.data_size = (uint64_t)numel * sizeof(float);
    }
    for (NodeState* st : states) delete st;
    if (!ok) {
      if (error.empty()) error = "Dequantize node '" + n.name + "': invalid";
      set_error_text(SG_ERR_FORMAT, error);
      return false;
    }
  }
  m->nodes.swap(kept);
  return true;
}

} // namespace sg
