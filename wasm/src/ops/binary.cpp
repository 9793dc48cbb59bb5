// Add, Sub, Mul, Div, PRelu, Pow with numpy broadcasting (rank <= 8).
// prepare collapses the broadcast into at most 8 dims where each dim is "both operands
// full", "A broadcast" or "B broadcast"; run walks the outer dims and calls one inner loop
// (vector-vector, vector-scalar or scalar-vector), SIMD128 where available. An optional fused
// `activation` (Add+Relu of residual blocks) runs on each block of 1024 outputs while it is
// still in L1, with the same code as the standalone activation ops (kernels/activation.h).
#include "compute_attrs.h"
#include "op.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

namespace sg {

enum BinOp { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_PRELU, BIN_POW };

struct BinaryState : NodeState {
  BinOp op = BIN_ADD;
  int rank = 0;                      // collapsed rank (0: a single element)
  int64_t dims[kMaxRank] = {};
  int64_t sa[kMaxRank] = {}, sb[kMaxRank] = {}; // element strides, 0 = broadcast
  int64_t numel = 0;
  Act act;                           // fused activation (ACT_NONE when the attribute is absent)
};

static inline float bin_scalar(BinOp op, float a, float b) {
  switch (op) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    case BIN_DIV: return a / b;
    case BIN_POW: return powf(a, b);
    default: return a < 0 ? a * b : a;
  }
}

#ifdef __wasm_simd128__
static inline v128_t bin_vec(BinOp op, v128_t a, v128_t b) {
  switch (op) {
    case BIN_ADD: return wasm_f32x4_add(a, b);
    case BIN_SUB: return wasm_f32x4_sub(a, b);
    case BIN_MUL: return wasm_f32x4_mul(a, b);
    case BIN_DIV: return wasm_f32x4_div(a, b);
    case BIN_POW: // libm's powf per lane (no SIMD pow), as the scalar tail computes it
      return wasm_f32x4_make(powf(wasm_f32x4_extract_lane(a, 0), wasm_f32x4_extract_lane(b, 0)),
                             powf(wasm_f32x4_extract_lane(a, 1), wasm_f32x4_extract_lane(b, 1)),
                             powf(wasm_f32x4_extract_lane(a, 2), wasm_f32x4_extract_lane(b, 2)),
                             powf(wasm_f32x4_extract_lane(a, 3), wasm_f32x4_extract_lane(b, 3)));
    default: return wasm_v128_bitselect(wasm_f32x4_mul(a, b), a, wasm_f32x4_lt(a, wasm_f32x4_splat(0.0f)));
  }
}
#endif

// One inner loop per BinOp so that the switch is hoisted out of the loop.
#ifdef __wasm_simd128__
#define SG_BIN_SIMD_VV(OP)                                                                   \
  for (; i + 4 <= n; i += 4)                                                                 \
    wasm_v128_store(y + i, bin_vec(OP, wasm_v128_load(a + i), wasm_v128_load(b + i)));
#define SG_BIN_SIMD_VS(OP)                                                                   \
  { v128_t vb = wasm_f32x4_splat(*b);                                                        \
    for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, bin_vec(OP, wasm_v128_load(a + i), vb)); }
#define SG_BIN_SIMD_SV(OP)                                                                   \
  { v128_t va = wasm_f32x4_splat(*a);                                                        \
    for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, bin_vec(OP, va, wasm_v128_load(b + i))); }
#else
#define SG_BIN_SIMD_VV(OP)
#define SG_BIN_SIMD_VS(OP)
#define SG_BIN_SIMD_SV(OP)
#endif

#define SG_BIN_KERNELS(OP, NAME)                                                             \
  static void NAME##_vv(const float* a, const float* b, float* y, int64_t n) {               \
    int64_t i = 0;                                                                           \
    SG_BIN_SIMD_VV(OP)                                                                       \
    for (; i < n; i++) y[i] = bin_scalar(OP, a[i], b[i]);                                    \
  }                                                                                          \
  static void NAME##_vs(const float* a, const float* b, float* y, int64_t n) {               \
    int64_t i = 0;                                                                           \
    SG_BIN_SIMD_VS(OP)                                                                       \
    for (; i < n; i++) y[i] = bin_scalar(OP, a[i], *b);                                      \
  }                                                                                          \
  static void NAME##_sv(const float* a, const float* b, float* y, int64_t n) {               \
    int64_t i = 0;                                                                           \
    SG_BIN_SIMD_SV(OP)                                                                       \
    for (; i < n; i++) y[i] = bin_scalar(OP, *a, b[i]);                                      \
  }

SG_BIN_KERNELS(BIN_ADD, f32_add)
SG_BIN_KERNELS(BIN_SUB, f32_sub)
SG_BIN_KERNELS(BIN_MUL, f32_mul)
SG_BIN_KERNELS(BIN_DIV, f32_div)
SG_BIN_KERNELS(BIN_PRELU, f32_prelu)
SG_BIN_KERNELS(BIN_POW, f32_pow)

typedef void (*BinKernel)(const float*, const float*, float*, int64_t);

// Fused Relu in the same pass (residual Add+Relu). Every element, tail included, goes through
// f32x4.max as in f32_act_simd128, so results equal the unfused Add then Relu.
#ifdef __wasm_simd128__
static inline float relu_like_simd(float v) {
  return wasm_f32x4_extract_lane(wasm_f32x4_max(wasm_f32x4_splat(v), wasm_f32x4_splat(0.0f)), 0);
}
template <BinOp OP, int MODE> // MODE 0: vector-vector, 1: vector-scalar, 2: scalar-vector
static void bin_relu(const float* a, const float* b, float* y, int64_t n) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  int64_t i = 0;
  if (MODE == 0) {
    for (; i + 4 <= n; i += 4)
      wasm_v128_store(y + i, wasm_f32x4_max(bin_vec(OP, wasm_v128_load(a + i), wasm_v128_load(b + i)), z));
  } else if (MODE == 1) {
    const v128_t vb = wasm_f32x4_splat(*b);
    for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_max(bin_vec(OP, wasm_v128_load(a + i), vb), z));
  } else {
    const v128_t va = wasm_f32x4_splat(*a);
    for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_max(bin_vec(OP, va, wasm_v128_load(b + i)), z));
  }
  for (; i < n; i++)
    y[i] = relu_like_simd(bin_scalar(OP, MODE == 2 ? *a : a[i], MODE == 1 ? *b : b[i]));
}
#define SG_BIN_RELU(MODE)                                                                    \
  {bin_relu<BIN_ADD, MODE>, bin_relu<BIN_SUB, MODE>, bin_relu<BIN_MUL, MODE>,              \
   bin_relu<BIN_DIV, MODE>, bin_relu<BIN_PRELU, MODE>, bin_relu<BIN_POW, MODE>}
static const BinKernel kReluKernels[3][6] = {SG_BIN_RELU(0), SG_BIN_RELU(1), SG_BIN_RELU(2)};
#endif
static const BinKernel kBinVV[] = {f32_add_vv, f32_sub_vv, f32_mul_vv, f32_div_vv, f32_prelu_vv, f32_pow_vv};
static const BinKernel kBinVS[] = {f32_add_vs, f32_sub_vs, f32_mul_vs, f32_div_vs, f32_prelu_vs, f32_pow_vs};
static const BinKernel kBinSV[] = {f32_add_sv, f32_sub_sv, f32_mul_sv, f32_div_sv, f32_prelu_sv, f32_pow_sv};

static bool prepare_binary(OpCtx& ctx, BinOp op) {
  if (!ctx.need_io(2, 2, 1)) return false;
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Shape out;
  out.rank = a.shape.rank > b.shape.rank ? a.shape.rank : b.shape.rank;
  // Per output dim: 0 both full, 1 A broadcast, 2 B broadcast (dims of size 1 are dropped).
  int kind[kMaxRank];
  for (int d = 0; d < out.rank; d++) {
    int ia = d - (out.rank - a.shape.rank), ib = d - (out.rank - b.shape.rank);
    int64_t da = ia >= 0 ? a.shape.dims[ia] : 1, db = ib >= 0 ? b.shape.dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return ctx.fail("inputs '%s' %s and '%s' %s do not broadcast", a.name.c_str(), a.shape.str().c_str(),
                      b.name.c_str(), b.shape.str().c_str());
    out.dims[d] = da == 1 ? db : da;
    kind[d] = da == db ? 0 : da == 1 ? 1 : 2;
  }
  if (!ctx.need_output_shape(0, out)) return false;
  if (op == BIN_PRELU && out != a.shape)
    return ctx.fail("slope '%s' %s does not broadcast to input '%s' %s", b.name.c_str(), b.shape.str().c_str(),
                    a.name.c_str(), a.shape.str().c_str());
  Act act;
  if (ctx.node->attr("activation") && !attr_activation(ctx, &act)) return false;
  BinaryState* st = new BinaryState;
  ctx.set_state(st);
  st->op = op;
  st->act = act;
  st->numel = out.numel();
  int prev = -1;
  for (int d = 0; d < out.rank; d++) {
    if (out.dims[d] == 1) continue;
    if (st->rank > 0 && kind[d] == prev) {
      st->dims[st->rank - 1] *= out.dims[d];
    } else {
      st->dims[st->rank] = out.dims[d];
      st->sa[st->rank] = kind[d] == 1 ? 0 : 1;  // provisional flags, strides below
      st->sb[st->rank] = kind[d] == 2 ? 0 : 1;
      st->rank++;
      prev = kind[d];
    }
  }
  int64_t ea = 1, eb = 1;
  for (int d = st->rank - 1; d >= 0; d--) {
    if (st->sa[d]) { st->sa[d] = ea; ea *= st->dims[d]; }
    if (st->sb[d]) { st->sb[d] = eb; eb *= st->dims[d]; }
  }
  return true;
}

static void run_binary(OpCtx& ctx) {
  const BinaryState* st = (const BinaryState*)ctx.state;
  const float* a = ctx.in[0];
  const float* b = ctx.in[1];
  float* y = ctx.out[0];
  if (st->numel == 0) return;
  if (st->rank == 0) {
    y[0] = bin_scalar(st->op, a[0], b[0]);
    if (st->act.kind != ACT_NONE) f32_act_simd128(1, y, y, st->act);
    return;
  }
  int r = st->rank;
  int64_t inner = st->dims[r - 1];
  const int mode = st->sa[r - 1] && st->sb[r - 1] ? 0 : st->sa[r - 1] ? 1 : 2;
  BinKernel k = mode == 0 ? kBinVV[st->op] : mode == 1 ? kBinVS[st->op] : kBinSV[st->op];
  Act act = st->act;
#ifdef __wasm_simd128__
  if (act.kind == ACT_RELU) {
    k = kReluKernels[mode][st->op];
    act.kind = ACT_NONE;
  }
#endif
  int64_t idx[kMaxRank] = {};
  int64_t oa = 0, ob = 0;
  for (int64_t done = 0; done < st->numel; done += inner) {
    if (act.kind == ACT_NONE) {
      k(a + oa, b + ob, y + done, inner);
    } else {
      const int64_t blk = 1024; // a multiple of 4: the SIMD/tail split of each element is the
      for (int64_t i = 0; i < inner; i += blk) { // standalone op's when inner is too
        int64_t n = inner - i < blk ? inner - i : blk;
        k(a + oa + (st->sa[r - 1] ? i : 0), b + ob + (st->sb[r - 1] ? i : 0), y + done + i, n);
        f32_act_simd128(n, y + done + i, y + done + i, act);
      }
    }
    for (int d = r - 2; d >= 0; d--) {  // advance the outer counter
      oa += st->sa[d];
      ob += st->sb[d];
      if (++idx[d] < st->dims[d]) break;
      oa -= st->sa[d] * st->dims[d];
      ob -= st->sb[d] * st->dims[d];
      idx[d] = 0;
    }
  }
}

bool prepare_Add(OpCtx& ctx) { return prepare_binary(ctx, BIN_ADD); }
void run_Add(OpCtx& ctx) { run_binary(ctx); }
bool prepare_Sub(OpCtx& ctx) { return prepare_binary(ctx, BIN_SUB); }
void run_Sub(OpCtx& ctx) { run_binary(ctx); }
bool prepare_Mul(OpCtx& ctx) { return prepare_binary(ctx, BIN_MUL); }
void run_Mul(OpCtx& ctx) { run_binary(ctx); }
bool prepare_Div(OpCtx& ctx) { return prepare_binary(ctx, BIN_DIV); }
void run_Div(OpCtx& ctx) { run_binary(ctx); }
bool prepare_PRelu(OpCtx& ctx) { return prepare_binary(ctx, BIN_PRELU); }
void run_PRelu(OpCtx& ctx) { run_binary(ctx); }
bool prepare_Pow(OpCtx& ctx) { return prepare_binary(ctx, BIN_POW); }
void run_Pow(OpCtx& ctx) { run_binary(ctx); }

} // namespace sg
