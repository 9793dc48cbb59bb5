// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL2, ReduceLogSumExp over any
// set of axes (the importer resolves ONNX's axes input and noop_with_empty_axes into `axes`).
// prepare collapses neighbouring dims that are both reduced or both kept, so the shape becomes
// alternating kept/reduced groups; run walks the input once in memory order and folds each
// innermost run into the output: a kept innermost group combines whole rows elementwise, a
// reduced one folds a contiguous run into one value (four partial sums). LogSumExp takes the
// max in a first pass (scratch) and sums exp(x − max). An empty reduction gives the identity
// (0, 1, ±inf; Mean 0/0 = NaN, LogSumExp −inf), as numpy and ONNX do.
#include <math.h>
#include "compute_attrs.h"
#include "../kernels/scratch.h"

namespace sg {

enum ReduceKind { RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_PROD, RED_L2, RED_LOGSUMEXP };
enum FoldKind { FOLD_SUM, FOLD_SUMSQ, FOLD_PROD, FOLD_MAX, FOLD_MIN, FOLD_SUMEXP };

struct ReduceState : NodeState {
  int kind = RED_SUM;
  int rank = 0;                       // collapsed rank (≥ 1)
  int64_t dims[kMaxRank] = {};
  bool red[kMaxRank] = {};
  int64_t is[kMaxRank] = {}, os[kMaxRank] = {}; // input and output strides (0: reduced)
  int64_t in_numel = 0, out_numel = 0, count = 1; // count: values per output
};

static inline float fold_max(float a, float x) { return (x > a || x != x) ? x : a; }
static inline float fold_min(float a, float x) { return (x < a || x != x) ? x : a; }

template <int F>
static inline float fold1(float a, float x, float m) {
  switch (F) {
    case FOLD_SUM: return a + x;
    case FOLD_SUMSQ: return a + x * x;
    case FOLD_PROD: return a * x;
    case FOLD_MAX: return fold_max(a, x);
    case FOLD_MIN: return fold_min(a, x);
    default: return a + expf(x - m);
  }
}

// Folds n contiguous values into *y (aux: the max for FOLD_SUMEXP).
template <int F>
static void fold_run(float* y, const float* x, int64_t n, float m) {
  if (F == FOLD_SUM || F == FOLD_SUMSQ || F == FOLD_SUMEXP) { // four partial sums
    float p[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
      for (int l = 0; l < 4; l++) p[l] = fold1<F>(p[l], x[i + l], m);
    for (; i < n; i++) p[0] = fold1<F>(p[0], x[i], m);
    *y += (p[0] + p[1]) + (p[2] + p[3]);
    return;
  }
  float a = *y;
  for (int64_t i = 0; i < n; i++) a = fold1<F>(a, x[i], m);
  *y = a;
}

// Combines n contiguous values into n outputs.
template <int F>
static void fold_rows(float* y, const float* x, int64_t n, const float* m) {
  for (int64_t i = 0; i < n; i++) y[i] = fold1<F>(y[i], x[i], F == FOLD_SUMEXP ? m[i] : 0.0f);
}

template <int F>
static void reduce_walk(const ReduceState& st, const float* x, float* y, const float* aux) {
  int r = st.rank;
  int64_t len = st.dims[r - 1];
  if (len == 0 || st.in_numel == 0) return;
  bool inner_red = st.red[r - 1];
  int64_t blocks = st.in_numel / len;
  int64_t idx[kMaxRank] = {};
  int64_t io = 0, oo = 0;
  for (int64_t b = 0; b < blocks; b++) {
    if (inner_red) fold_run<F>(y + oo, x + io, len, F == FOLD_SUMEXP ? aux[oo] : 0.0f);
    else fold_rows<F>(y + oo, x + io, len, F == FOLD_SUMEXP ? aux + oo : nullptr);
    for (int d = r - 2; d >= 0; d--) {
      io += st.is[d];
      oo += st.os[d];
      if (++idx[d] < st.dims[d]) break;
      io -= st.is[d] * st.dims[d];
      oo -= st.os[d] * st.dims[d];
      idx[d] = 0;
    }
  }
}

static bool prepare_reduce(OpCtx& ctx, int kind) {
  if (!check_arity(ctx, 1, 1, 1)) return false;
  const Tensor& X = ctx.input(0);
  if (!check_f32(ctx, X) || !check_f32(ctx, ctx.output(0))) return false;
  std::vector<int64_t> axes;
  int64_t keepdims;
  if (!ctx.need_ints("axes", &axes, -1) || !attr_int_in(ctx, "keepdims", 0, 1, &keepdims)) return false;
  const int rank = X.shape.rank;
  bool reduced[kMaxRank] = {};
  for (size_t i = 0; i < axes.size(); i++) {
    if (axes[i] < 0 || axes[i] >= rank)
      return ctx.fail("axes[%d] = %lld is out of range for input '%s' %s", (int)i, (long long)axes[i],
                      X.name.c_str(), X.shape.str().c_str());
    if (reduced[axes[i]]) return ctx.fail("axes lists axis %lld twice", (long long)axes[i]);
    reduced[axes[i]] = true;
  }
  Shape out;
  int64_t count = 1;
  for (int d = 0; d < rank; d++) {
    if (!reduced[d]) out.dims[out.rank++] = X.shape.dims[d];
    else {
      count *= X.shape.dims[d];
      if (keepdims) out.dims[out.rank++] = 1;
    }
  }
  if (!ctx.need_output_shape(0, out)) return false;
  ReduceState* st = new ReduceState;
  ctx.set_state(st);
  st->kind = kind;
  st->in_numel = X.shape.numel();
  st->out_numel = out.numel();
  st->count = count;
  // Collapse: drop size-1 dims (they change no index), merge neighbours of the same kind.
  for (int d = 0; d < rank; d++) {
    if (X.shape.dims[d] == 1) continue;
    if (st->rank > 0 && st->red[st->rank - 1] == reduced[d]) {
      st->dims[st->rank - 1] *= X.shape.dims[d];
    } else {
      st->dims[st->rank] = X.shape.dims[d];
      st->red[st->rank] = reduced[d];
      st->rank++;
    }
  }
  if (st->rank == 0) { st->dims[0] = 1; st->red[0] = false; st->rank = 1; }
  int64_t ei = 1, eo = 1;
  for (int d = st->rank - 1; d >= 0; d--) {
    st->is[d] = ei;
    ei *= st->dims[d];
    st->os[d] = st->red[d] ? 0 : eo;
    if (!st->red[d]) eo *= st->dims[d];
  }
  if (kind == RED_LOGSUMEXP && !ctx.reserve_scratch((double)st->out_numel)) return false;
  return true;
}

static void fill(float* y, int64_t n, float v) {
  for (int64_t i = 0; i < n; i++) y[i] = v;
}

static void run_reduce(OpCtx& ctx) {
  const ReduceState& st = *(const ReduceState*)ctx.state;
  const float* x = ctx.in[0];
  float* y = ctx.out[0];
  const int64_t n = st.out_numel;
  switch (st.kind) {
    case RED_SUM: fill(y, n, 0.0f); reduce_walk<FOLD_SUM>(st, x, y, nullptr); break;
    case RED_MEAN: {
      fill(y, n, 0.0f);
      reduce_walk<FOLD_SUM>(st, x, y, nullptr);
      const float c = (float)st.count;
      for (int64_t i = 0; i < n; i++) y[i] = y[i] / c;
      break;
    }
    case RED_MAX: fill(y, n, -INFINITY); reduce_walk<FOLD_MAX>(st, x, y, nullptr); break;
    case RED_MIN: fill(y, n, INFINITY); reduce_walk<FOLD_MIN>(st, x, y, nullptr); break;
    case RED_PROD: fill(y, n, 1.0f); reduce_walk<FOLD_PROD>(st, x, y, nullptr); break;
    case RED_L2:
      fill(y, n, 0.0f);
      reduce_walk<FOLD_SUMSQ>(st, x, y, nullptr);
      for (int64_t i = 0; i < n; i++) y[i] = sqrtf(y[i]);
      break;
    default: { // LogSumExp: max + log(Σ exp(x − max)); an infinite or NaN max is the answer
      float* m = scratch_f32();
      fill(m, n, -INFINITY);
      reduce_walk<FOLD_MAX>(st, x, m, nullptr);
      fill(y, n, 0.0f);
      reduce_walk<FOLD_SUMEXP>(st, x, y, m);
      for (int64_t i = 0; i < n; i++) y[i] = isfinite(m[i]) ? m[i] + logf(y[i]) : m[i];
      break;
    }
  }
}

#define SG_REDUCE(Name, KIND)                                             \
  bool prepare_##Name(OpCtx& ctx) { return prepare_reduce(ctx, KIND); } \
  void run_##Name(OpCtx& ctx) { run_reduce(ctx); }

SG_REDUCE(ReduceSum, RED_SUM)
SG_REDUCE(ReduceMean, RED_MEAN)
SG_REDUCE(ReduceMax, RED_MAX)
SG_REDUCE(ReduceMin, RED_MIN)
SG_REDUCE(ReduceProd, RED_PROD)
SG_REDUCE(ReduceL2, RED_L2)
SG_REDUCE(ReduceLogSumExp, RED_LOGSUMEXP)

#undef SG_REDUCE

} // namespace sg
