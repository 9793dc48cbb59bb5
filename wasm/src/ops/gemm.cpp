// Gemm (Y = act(alpha·A'·B' + beta·C), C broadcast to [M, N]) and MatMul (numpy matmul,
// ranks 1…8, batch broadcasting), both on f32_gemm_4x8_simd128: rows of A, lanes along N.
// A gated Gemm (learned gate only, docs/ir.md "Gated Conv and Gemm"; conv_gate.cpp decides,
// with each row of A as a 1×1 "image" of K channels) computes per row only the kept output
// columns, as dot products with rows of alpha·B', and writes 0 in the others.
#include <stdlib.h>
#include <string.h>
#include "compute_attrs.h"
#include "conv_gate.h"
#include "../kernels/gate_f32.h"
#include "../kernels/gemm_f32.h"
#include "../kernels/scratch.h"

namespace sg {

// ---- Gemm ----

struct GemmState : NodeState {
  int M = 0, N = 0, K = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1, beta = 1;
  Act act;
  float* packed_b = nullptr; // alpha·B' as [K, N] when B is a constant, packed once
  int c_rows = 0, c_cols = 0; // C broadcast: its dims as [rows, cols] (1 = broadcast); 0 = none
  ConvGate gate;
  // A row or two of A (a classifier at batch 1) or a gate: alpha·B' as [N, K] rows and beta·C
  // as [N], one dot product per output (the GEMM's 4-row blocks would idle); no packed_b.
  std::vector<float> w_rows;
  std::vector<float> bias;
  ~GemmState() { free(packed_b); }
};

bool prepare_Gemm(OpCtx& ctx) {
  if (!check_arity(ctx, 2, ctx.node->attr("gate_kind") ? 5 : 3, 1)) return false;
  const Tensor& A = ctx.input(0);
  const Tensor& B = ctx.input(1);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, A) || !check_f32(ctx, B) || !check_f32(ctx, Y)) return false;
  if (!check_rank(ctx, A, 2) || !check_rank(ctx, B, 2)) return false;
  if (!check_numel(ctx, A) || !check_numel(ctx, B) || !check_numel(ctx, Y)) return false;
  int64_t ta, tb;
  float alpha, beta;
  Act act;
  if (!attr_int_in(ctx, "transA", 0, 1, &ta) || !attr_int_in(ctx, "transB", 0, 1, &tb) ||
      !attr_float1(ctx, "alpha", &alpha) || !attr_float1(ctx, "beta", &beta) ||
      !attr_activation(ctx, &act))
    return false;
  int64_t M = A.shape.dims[ta ? 1 : 0], K = A.shape.dims[ta ? 0 : 1];
  int64_t Kb = B.shape.dims[tb ? 1 : 0], N = B.shape.dims[tb ? 0 : 1];
  if (K != Kb)
    return ctx.fail("inner dimensions differ: A '%s' %s (transA=%d) and B '%s' %s (transB=%d)",
                    A.name.c_str(), A.shape.str().c_str(), (int)ta, B.name.c_str(),
                    B.shape.str().c_str(), (int)tb);
  int64_t want[2] = {M, N};
  if (!check_shape(ctx, Y, make_shape(2, want))) return false;

  GemmState* s = new GemmState();
  ctx.set_state(s);
  s->M = (int)M, s->N = (int)N, s->K = (int)K;
  s->trans_a = ta, s->trans_b = tb, s->alpha = alpha, s->beta = beta, s->act = act;
  if (ctx.has_input(2)) {
    const Tensor& Ct = ctx.input(2);
    if (!check_f32(ctx, Ct)) return false;
    // Unidirectional broadcast to [M, N]: rank ≤ 2, each dim 1 or equal.
    int64_t rows = 1, cols = 1;
    if (Ct.shape.rank == 2) rows = Ct.shape.dims[0], cols = Ct.shape.dims[1];
    else if (Ct.shape.rank == 1) cols = Ct.shape.dims[0];
    if (Ct.shape.rank > 2 || (rows != 1 && rows != M) || (cols != 1 && cols != N))
      return ctx.fail("C '%s' has shape %s, which does not broadcast to [%lld, %lld]",
                      Ct.name.c_str(), Ct.shape.str().c_str(), (long long)M, (long long)N);
    s->c_rows = (int)rows, s->c_cols = (int)cols;
  }
  ctx.macs = (double)M * N * K;

  const float* bc = ctx.constant_f32(1);
  const float* cc = ctx.has_input(2) ? ctx.constant_f32(2) : nullptr;
  if (ctx.node->attr("gate_kind")) {
    // The gate reads inputs 3, 4 and needs a constant B and a bias C of [N] (the Linear case).
    if (!conv_gate_prepare(ctx, &s->gate, (int)M, (int)K, (int)N, 1)) return false;
    if (s->gate.kind != GATE_LEARNED)
      return ctx.fail("a gated Gemm takes a learned gate only (a heuristic one would cost as much as the Gemm)");
    if (ta || !bc || !cc || s->c_rows != 1)
      return ctx.fail("a gated Gemm needs transA = 0, a constant B and a constant C of shape [N]");
    ctx.fill_out = nullptr; // no reader folds a 2-D output: keep no constant-plane record
  }
  const bool by_rows = bc && !ta && s->c_rows <= 1 && (s->c_rows == 0 || cc) &&
                       (M <= 2 || s->gate.kind != GATE_NONE);
  if (by_rows) {
    if (!ctx.reserve(4.0 * ((double)N * K + N), "rows of B")) return false;
    s->w_rows.resize((size_t)N * K);
    s->bias.assign(N, 0.0f);
    for (int64_t n = 0; n < N; n++) {
      if (cc) s->bias[n] = beta * cc[s->c_cols == 1 ? 0 : n];
      for (int64_t k = 0; k < K; k++) s->w_rows[n * K + k] = alpha * (tb ? bc[n * K + k] : bc[k * N + n]);
    }
    return true;
  }
  if (bc) {
    if (!ctx.reserve(4.0 * K * N, "packed B")) return false;
    s->packed_b = (float*)malloc((size_t)K * N * sizeof(float) + 1);
    if (!s->packed_b) return ctx.fail("out of memory packing B '%s'", B.name.c_str());
    for (int64_t k = 0; k < K; k++)
      for (int64_t n = 0; n < N; n++)
        s->packed_b[k * N + n] = alpha * (tb ? bc[n * K + k] : bc[k * N + n]);
  }
  // Scratch: A' (transposed and/or scaled by alpha) and B' (transposed activation).
  double need = 0;
  if (ta || (alpha != 1.0f && !bc)) need += (double)M * K;
  if (!bc && tb) need += (double)K * N;
  if (!ctx.reserve_scratch(need)) return false;
  return true;
}

// Per row of A: the gate's decision, then the kept columns only, scaled by their gate value.
static void run_gated_gemm(OpCtx& ctx, GemmState& s) {
  ConvGate& g = s.gate;
  const Act none;
  double executed = 0;
  for (int m = 0; m < s.M; m++) {
    const float* a = ctx.in[0] + (ptrdiff_t)m * s.K;
    float* y = ctx.out[0] + (ptrdiff_t)m * s.N;
    double gate_macs = 0;
    int nkept = conv_gate_decide(&g, a, s.K, 1, s.N, 1, ctx.gate, s.bias.data(), none, &gate_macs);
    memset(y, 0, sizeof(float) * (size_t)s.N);
    for (int t = 0; t < nkept; t++) {
      int j = g.kept[t];
      float v;
      f32_matvec_simd128(1, s.K, s.w_rows.data() + (ptrdiff_t)j * s.K, s.K, a, s.bias.data() + j, &v);
      y[j] = act_f32(v, s.act) * g.score[j];
    }
    executed += gate_macs + (double)nkept * s.K;
  }
  ctx.macs_executed = executed;
}

void run_Gemm(OpCtx& ctx) {
  GemmState& st = *(GemmState*)ctx.state;
  if (st.gate.kind != GATE_NONE) return run_gated_gemm(ctx, st);
  const GemmState& s = st;
  const int M = s.M, N = s.N, K = s.K;
  if (!s.w_rows.empty()) {
    for (int m = 0; m < M; m++) {
      float* y = ctx.out[0] + (ptrdiff_t)m * N;
      f32_matvec_simd128(N, K, s.w_rows.data(), K, ctx.in[0] + (ptrdiff_t)m * K, s.bias.data(), y);
      if (s.act.kind != ACT_NONE) f32_act_simd128(N, y, y, s.act);
    }
    return;
  }
  const float* a = ctx.in[0];
  const float* b = s.packed_b ? s.packed_b : ctx.in[1];
  float* scratch = scratch_f32();
  float* y = ctx.out[0];
  float a_scale = s.packed_b ? 1.0f : s.alpha; // alpha is folded into packed B
  if (s.trans_a || a_scale != 1.0f) {
    float* at = scratch;
    scratch += (size_t)M * K;
    for (int m = 0; m < M; m++)
      for (int k = 0; k < K; k++)
        at[(ptrdiff_t)m * K + k] = a_scale * (s.trans_a ? a[(ptrdiff_t)k * M + m] : a[(ptrdiff_t)m * K + k]);
    a = at;
  }
  if (!s.packed_b && s.trans_b) {
    float* bt = scratch;
    for (int k = 0; k < K; k++)
      for (int n = 0; n < N; n++) bt[(ptrdiff_t)k * N + n] = b[(ptrdiff_t)n * K + k];
    b = bt;
  }
  bool accumulate = s.c_rows > 0 && s.beta != 0.0f;
  if (accumulate) {
    const float* c = ctx.in[2];
    for (int m = 0; m < M; m++)
      for (int n = 0; n < N; n++)
        y[(ptrdiff_t)m * N + n] =
            s.beta * c[(ptrdiff_t)(s.c_rows == 1 ? 0 : m) * s.c_cols + (s.c_cols == 1 ? 0 : n)];
  }
  f32_gemm_4x8_simd128(M, nullptr, N, K, a, K, b, N, 8, y, N, nullptr, accumulate, s.act);
}

// ---- MatMul ----

struct MatMulState : NodeState {
  int M = 0, N = 0, K = 0;
  int nbatch = 0;                  // batch dims of the output (after broadcasting)
  int64_t out_batch[kMaxRank] = {};
  int64_t a_stride[kMaxRank] = {}; // per batch dim, in matrices; 0 where A broadcasts
  int64_t b_stride[kMaxRank] = {};
};

bool prepare_MatMul(OpCtx& ctx) {
  if (!check_arity(ctx, 2, 2, 1)) return false;
  const Tensor& A = ctx.input(0);
  const Tensor& B = ctx.input(1);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, A) || !check_f32(ctx, B) || !check_f32(ctx, Y)) return false;
  if (!check_numel(ctx, A) || !check_numel(ctx, B) || !check_numel(ctx, Y)) return false;
  const int ra = A.shape.rank, rb = B.shape.rank;
  if (ra < 1 || rb < 1)
    return ctx.fail("inputs must have rank ≥ 1, got A %s and B %s", A.shape.str().c_str(),
                    B.shape.str().c_str());
  // numpy: a 1-D A is a row [1, K] and a 1-D B a column [K, 1]; those dims are dropped after.
  int64_t M = ra >= 2 ? A.shape.dims[ra - 2] : 1, K = A.shape.dims[ra - 1];
  int64_t Kb = rb >= 2 ? B.shape.dims[rb - 2] : B.shape.dims[0], N = rb >= 2 ? B.shape.dims[rb - 1] : 1;
  if (K != Kb)
    return ctx.fail("inner dimensions differ: A '%s' %s and B '%s' %s", A.name.c_str(),
                    A.shape.str().c_str(), B.name.c_str(), B.shape.str().c_str());
  const int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0;
  const int nb = ba > bb ? ba : bb;
  MatMulState* s = new MatMulState();
  ctx.set_state(s);
  // Broadcast batch dims right-aligned; strides in whole matrices, 0 where a side broadcasts.
  int64_t sa = 1, sb = 1;
  int64_t want[kMaxRank];
  for (int i = nb - 1; i >= 0; i--) {
    int ia = i - (nb - ba), ib = i - (nb - bb);
    int64_t da = ia >= 0 ? A.shape.dims[ia] : 1, db = ib >= 0 ? B.shape.dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return ctx.fail("batch dims do not broadcast: A '%s' %s and B '%s' %s", A.name.c_str(),
                      A.shape.str().c_str(), B.name.c_str(), B.shape.str().c_str());
    s->out_batch[i] = da > db ? da : db;
    if (da == 0 || db == 0) s->out_batch[i] = 0;
    s->a_stride[i] = da == 1 ? 0 : sa;
    s->b_stride[i] = db == 1 ? 0 : sb;
    sa *= da, sb *= db;
    want[i] = s->out_batch[i];
  }
  int rank = nb;
  if (ra >= 2) want[rank++] = M;
  if (rb >= 2) want[rank++] = N;
  if (!check_shape(ctx, Y, make_shape(rank, want))) return false;
  s->M = (int)M, s->N = (int)N, s->K = (int)K, s->nbatch = nb;
  int64_t batches = 1;
  for (int i = 0; i < nb; i++) batches *= s->out_batch[i];
  ctx.macs = (double)batches * M * N * K;
  return true;
}

void run_MatMul(OpCtx& ctx) {
  const MatMulState& s = *(const MatMulState*)ctx.state;
  const ptrdiff_t a_mat = (ptrdiff_t)s.M * s.K, b_mat = (ptrdiff_t)s.K * s.N, y_mat = (ptrdiff_t)s.M * s.N;
  int64_t batches = 1;
  for (int i = 0; i < s.nbatch; i++) batches *= s.out_batch[i];
  const Act none;
  for (int64_t t = 0; t < batches; t++) {
    // Offsets of this output batch in A and B (row-major decomposition of t).
    int64_t rem = t, ia = 0, ib = 0;
    for (int i = s.nbatch - 1; i >= 0; i--) {
      int64_t idx = rem % s.out_batch[i];
      rem /= s.out_batch[i];
      ia += idx * s.a_stride[i];
      ib += idx * s.b_stride[i];
    }
    f32_gemm_4x8_simd128(s.M, nullptr, s.N, s.K, ctx.in[0] + ia * a_mat, s.K,
                         ctx.in[1] + ib * b_mat, s.N, 8, ctx.out[0] + t * y_mat, s.N, nullptr,
                         false, none);
  }
}

} // namespace sg
