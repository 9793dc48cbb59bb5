// GemmInt8 (docs/ir.md, "Quantized ops"): Y[…, n] = act(x_scale · w_scale[n] · Σ_k W[n, k] ·
// (q(A[…, k]) − zp) + B[n]) — a Gemm (transA = 0, constant B stored as [N, K]) or a MatMul
// with a constant 2-D right operand, with int8 weights per output column. Each row of A is
// quantized into int16 scratch and multiplied by i8_gemv_dotk_simd128, whose lanes run along
// K (batch 1 is the common case, so lanes along the rows of A would sit idle).
#include <stdlib.h>
#include "int8_attrs.h"
#include "../kernels/scratch.h"

namespace sg {

struct GemmInt8State : NodeState {
  int64_t rows = 0;
  int N = 0, K = 0, Kp = 0; // Kp: K rounded up to a multiple of 8
  QuantParams q;
  Act act;
  int16_t* w = nullptr;   // [N, Kp]
  float* scale = nullptr; // [N]
  float* bias = nullptr;  // [N]
  ~GemmInt8State() { free(w); free(scale); free(bias); }
};

bool prepare_GemmInt8(OpCtx& ctx) {
  if (!check_arity(ctx, 3, 4, 1)) return false;
  const Tensor& A = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Tensor& Y = ctx.output(0);
  const int8_t* wq;
  if (!check_f32(ctx, A) || !check_f32(ctx, Y) || !check_int8_constant(ctx, 1, &wq)) return false;
  if (!check_rank(ctx, W, 2) || !check_numel(ctx, A) || !check_numel(ctx, W) || !check_numel(ctx, Y)) return false;
  if (A.shape.rank < 1) return ctx.fail("A '%s' must have rank >= 1, got %s", A.name.c_str(), A.shape.str().c_str());
  Act act;
  QuantParams q;
  float x_scale;
  if (!attr_activation(ctx, &act) || !attr_input_quant(ctx, &q, &x_scale)) return false;
  const int64_t N = W.shape.dims[0], K = W.shape.dims[1];
  if (A.shape.dims[A.shape.rank - 1] != K)
    return ctx.fail("inner dimensions differ: A '%s' %s and W '%s' %s (W is [N, K])", A.name.c_str(),
                    A.shape.str().c_str(), W.name.c_str(), W.shape.str().c_str());
  if (K < 1 || K > kI8MaxK) return ctx.fail("reduction length %lld must be 1..%d", (long long)K, kI8MaxK);
  Shape want = A.shape;
  want.dims[want.rank - 1] = N;
  if (!check_shape(ctx, Y, want)) return false;

  GemmInt8State* s = new GemmInt8State();
  ctx.set_state(s);
  const float *w_scale, *b = nullptr;
  if (!check_vector_constant(ctx, 2, N, &w_scale)) return false;
  if (ctx.has_input(3) && !check_vector_constant(ctx, 3, N, &b)) return false;
  if (!epilogue_vectors(ctx, N, w_scale, x_scale, b, &s->scale, &s->bias)) return false;
  s->rows = A.shape.numel() / K;
  s->N = (int)N, s->K = (int)K, s->Kp = (int)((K + 7) & ~(int64_t)7);
  s->q = q, s->act = act;
  if (!ctx.reserve((double)N * s->Kp * sizeof(int16_t), "widened W")) return false;
  s->w = (int16_t*)calloc((size_t)(N > 0 ? N : 1) * s->Kp, sizeof(int16_t));
  if (!s->w) return ctx.fail("out of memory widening W '%s'", W.name.c_str());
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) s->w[n * s->Kp + k] = wq[n * K + k];
  ctx.macs = (double)s->rows * N * K;
  if (!ctx.reserve_scratch((double)(s->Kp / 2))) return false; // one quantized row of A, in floats
  return true;
}

void run_GemmInt8(OpCtx& ctx) {
  const GemmInt8State& s = *(const GemmInt8State*)ctx.state;
  int16_t* xq = (int16_t*)scratch_f32();
  for (int64_t r = 0; r < s.rows; r++) {
    i8_quantize_row_simd128(ctx.in[0] + r * s.K, s.K, s.q, xq);
    i8_gemv_dotk_simd128(s.N, s.Kp, s.w, xq, ctx.out[0] + r * s.N, s.scale, s.bias, s.act);
  }
}

} // namespace sg
