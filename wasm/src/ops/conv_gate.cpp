#include "conv_gate.h"
#include <math.h>
#include <string.h>
#include "compute_attrs.h"
#include "../kernels/gate_f32.h"

namespace sg {

static bool gate_const_input(OpCtx& ctx, int i, int rank, const int64_t* dims, const char* what,
                             const float** out) {
  if (!ctx.has_input(i)) return ctx.fail("gate: input %d (%s) is required", i, what);
  const Tensor& t = ctx.input(i);
  if (!check_f32(ctx, t) || !check_shape(ctx, t, make_shape(rank, dims))) return false;
  return constant_input(ctx, i, out);
}

bool conv_gate_prepare(OpCtx& ctx, ConvGate* g, int N, int C, int M, int group) {
  if (!ctx.node->attr("gate_kind")) {
    if (ctx.input_count() > 3)
      return ctx.fail("expects 2 to 3 inputs without a gate (gate_kind absent), got %d", ctx.input_count());
    return true;
  }
  std::string kind, fill;
  if (!ctx.need_string("gate_kind", &kind) || !ctx.need_float("gate_sparsity", &g->sparsity) ||
      !ctx.need_string("gate_fill", &fill))
    return false;
  if (kind == "heuristic") g->kind = GATE_HEURISTIC;
  else if (kind == "learned") g->kind = GATE_LEARNED;
  else return ctx.fail("gate_kind '%s' is not 'heuristic' or 'learned'", kind.c_str());
  if (!(g->sparsity >= 0.0f && g->sparsity <= 1.0f))
    return ctx.fail("gate_sparsity = %g, expected 0..1", (double)g->sparsity);
  if (fill == "expected") g->fill = GATE_FILL_EXPECTED;
  else if (fill == "bias") g->fill = GATE_FILL_BIAS;
  else if (fill == "zero") g->fill = GATE_FILL_ZERO;
  else return ctx.fail("gate_fill '%s' is not 'expected', 'bias' or 'zero'", fill.c_str());
  if (g->kind == GATE_LEARNED && g->fill != GATE_FILL_ZERO)
    return ctx.fail("a learned gate fills skipped channels with 'zero', got gate_fill '%s'", fill.c_str());
  if (ctx.input_count() != 5)
    return ctx.fail("a gated node expects 5 inputs (X, W, B, two gate tensors), got %d", ctx.input_count());
  if (!ctx.has_input(2)) return ctx.fail("a gated node needs its bias B (input 2)");
  const int Cg = C / group;
  if (g->kind == GATE_HEURISTIC) {
    int64_t d[2] = {M, Cg};
    if (!gate_const_input(ctx, 3, 2, d, "gate_norms", &g->p3) ||
        !gate_const_input(ctx, 4, 2, d, "gate_sums", &g->p4))
      return false;
  } else {
    if (!ctx.need_float("gate_threshold", &g->threshold)) return false;
    int64_t dw[2] = {M, C}, db[1] = {M};
    if (!gate_const_input(ctx, 3, 2, dw, "gate_fc_w", &g->p3) ||
        !gate_const_input(ctx, 4, 1, db, "gate_fc_b", &g->p4))
      return false;
  }
  if (!ctx.reserve(4.0 * (2 * (double)C + 8 * (double)M) + 5.0 * N * M, "gate tables")) return false;
  g->mean_abs.assign(C, 0);
  g->mean.assign(C, 0);
  g->score.assign(M, 0);
  g->fillv.assign(M, 0);
  g->order.assign(M, 0);
  g->kept.assign(M, 0);
  g->local.assign(M, 0);
  g->is_kept.assign(M, 1);
  g->out.N = N;
  g->out.C = M;
  g->out.count.assign(N, 0);
  g->out.is_const.assign((size_t)N * M, 0);
  g->out.value.assign((size_t)N * M, 0);
  ctx.fill_out = &g->out;
  return true;
}

// Per-channel mean |x| and mean x; constant input planes from their value.
static void input_means(ConvGate* g, const float* x, int C, int HW, bool want_mean,
                        const unsigned char* in_const, const float* in_value) {
  float* mean = want_mean ? g->mean.data() : nullptr;
  if (!in_const) {
    f32_channel_means_simd128(x, C, HW, g->mean_abs.data(), mean);
    return;
  }
  for (int c = 0; c < C; c++) {
    if (in_const[c] == PLANE_CONST) {
      g->mean_abs[c] = fabsf(in_value[c]);
      if (mean) mean[c] = in_value[c];
    } else {
      f32_channel_means_simd128(x + (ptrdiff_t)c * HW, 1, HW, g->mean_abs.data() + c, mean ? mean + c : nullptr);
    }
  }
}

int conv_gate_decide(ConvGate* g, const float* x, int C, int HW, int M, int group, float knob,
                     const float* bias, const Act& act, double* gate_macs,
                     const unsigned char* in_const, const float* in_value) {
  *gate_macs = 0;
  int skip = (int)floorf(knob * g->sparsity * (float)M);
  if (skip < 0) skip = 0;
  if (skip > M) skip = M;
  const int Cg = C / group, Mg = M / group;
  if (g->kind == GATE_HEURISTIC) {
    if (skip == 0) return M; // dense, bit-identical to an ungated run
    bool expected = g->fill == GATE_FILL_EXPECTED;
    input_means(g, x, C, HW, expected, in_const, in_value);
    for (int gi = 0; gi < group; gi++)
      f32_matvec_simd128(Mg, Cg, g->p3 + (ptrdiff_t)gi * Mg * Cg, Cg, g->mean_abs.data() + gi * Cg,
                         nullptr, g->score.data() + gi * Mg);
    *gate_macs += (double)M * Cg;
    int n = gate_select_topk(g->score.data(), M, M - skip, false, 0.0f, g->order.data(),
                             g->kept.data(), g->is_kept.data());
    for (int j = 0; j < M; j++) {
      if (g->is_kept[j]) continue;
      float v = bias[j];
      if (expected) {
        const float* s = g->p4 + (ptrdiff_t)j * Cg;
        const float* mu = g->mean.data() + (j / Mg) * Cg;
        f32_matvec_simd128(1, Cg, s, Cg, mu, bias + j, &v);
        *gate_macs += Cg;
      } else if (g->fill == GATE_FILL_ZERO) {
        g->fillv[j] = 0.0f;
        continue;
      }
      g->fillv[j] = act_f32(v, act);
    }
    return n;
  }
  // learned (FBS): s = relu(fc_w · GAP(x) + fc_b)
  input_means(g, x, C, HW, true, in_const, in_value);
  f32_matvec_simd128(M, C, g->p3, C, g->mean.data(), g->p4, g->score.data());
  *gate_macs += (double)M * C;
  for (int j = 0; j < M; j++) {
    float s = g->score[j];
    g->score[j] = s > 0.0f ? s : 0.0f; // NaN becomes 0 as well
    g->fillv[j] = 0.0f;
  }
  return gate_select_topk(g->score.data(), M, M - skip, true, g->threshold,
                          g->order.data(), g->kept.data(), g->is_kept.data());
}

} // namespace sg
