// SparseConv and SparseGemm: Conv (group 1) and Gemm whose weight matrix is stored as blocked
// CSR (docs/ir.md, "Block-sparse Conv and Gemm"): inputs values [nnzb, bh, bw], col_idx
// [nnzb], row_ptr [ceil(rows / bh) + 1], attributes `block` [bh, bw] and `weight_shape`.
//
// prepare validates every index (the file is untrusted): row_ptr starts at 0, never
// decreases and ends at nnzb; each col_idx is an integer below ceil(K / bw), strictly
// increasing within its row block; index tensors are float32 holding exact integers (or
// int32). It then turns the indices into what the kernels read: int row pointers and, per
// block, the offset of its first column. A block that hangs past the last column (K not a
// multiple of bw) is re-anchored at column K − bw with its weights shifted right and zeros in
// front (a private copy of the values), so the kernels never read past X and need no tails
// across columns.
#include <math.h>
#include <string.h>
#include "compute_attrs.h"
#include "../kernels/conv_f32.h"
#include "../kernels/scratch.h"
#include "../kernels/spmm_f32.h"

namespace sg {

// The weight as the kernels see it.
struct Bsr {
  int bh = 1, bw = 1, nnzb = 0;
  std::vector<int> row_ptr; // ceil(rows / bh) + 1
  std::vector<int> col0;    // per block: its first column, ≤ K − bw
  const float* values = nullptr;
  std::vector<float> shifted; // values with re-anchored edge blocks, when there are any
};

static const int64_t kMaxK = (int64_t)1 << 26; // K·8 (im2col offsets) stays inside int

// Reads index i of constant input `in` (float32 exact integer or int32) into *out.
static bool read_index(OpCtx& ctx, int in, int64_t i, int64_t* out) {
  const Tensor& t = ctx.input(in);
  if (t.dtype == DT_I32) {
    int32_t v;
    memcpy(&v, t.data + i * 4, 4);
    *out = v;
    return true;
  }
  float f;
  memcpy(&f, t.data + i * 4, 4);
  if (!(f >= -2147483648.0f && f < 2147483648.0f) || f != floorf(f))
    return ctx.fail("index tensor '%s'[%lld] = %g is not an integer", t.name.c_str(),
                    (long long)i, (double)f);
  *out = (int64_t)f;
  return true;
}

static bool check_index_tensor(OpCtx& ctx, int in, int64_t len, const char* what) {
  const Tensor& t = ctx.input(in);
  if (t.kind != TK_CONSTANT || (t.dtype != DT_F32 && t.dtype != DT_I32))
    return ctx.fail("%s '%s' must be a float32 or int32 constant (kind %d, %s)", what,
                    t.name.c_str(), (int)t.kind, dtype_name(t.dtype));
  int64_t want[1] = {len};
  if (!check_shape(ctx, t, make_shape(1, want))) return false;
  if (len > 0 && (!t.data || t.data_size < (uint64_t)len * 4))
    return ctx.fail("%s '%s' has no data", what, t.name.c_str());
  return true;
}

// Validates inputs 1 (values), 2 (col_idx), 3 (row_ptr) and the `block` attribute for a
// rows × K weight, and fills *w.
static bool prepare_bsr(OpCtx& ctx, int64_t rows, int64_t K, Bsr* w) {
  int64_t block[2];
  if (!attr_ints_n(ctx, "block", 2, block)) return false;
  if (block[0] < 1 || block[0] > 8 || block[1] < 1 || block[1] > 8 ||
      !f32_spmm_supported((int)block[0], (int)block[1]))
    return ctx.fail("block [%lld, %lld] is not supported (supported: [1, 1], [1, 4], [4, 1], [8, 1])",
                    (long long)block[0], (long long)block[1]);
  const int bh = (int)block[0], bw = (int)block[1];
  if (K < bw)
    return ctx.fail("blocks of width %d need at least %d columns, the weight has %lld", bw, bw,
                    (long long)K);
  const Tensor& V = ctx.input(1);
  if (!check_f32(ctx, V) || !check_rank(ctx, V, 3) || !check_numel(ctx, V)) return false;
  if (V.kind != TK_CONSTANT)
    return ctx.fail("values '%s' must be a float32 constant", V.name.c_str());
  if (V.shape.dims[1] != bh || V.shape.dims[2] != bw)
    return ctx.fail("values '%s' has shape %s, expected [nnzb, %d, %d] (block)", V.name.c_str(),
                    V.shape.str().c_str(), bh, bw);
  const int64_t nnzb = V.shape.dims[0];
  if (nnzb > 0 && !V.data) return ctx.fail("values '%s' has no data", V.name.c_str());
  const int64_t nrb = (rows + bh - 1) / bh, ncb = (K + bw - 1) / bw;
  if (!check_index_tensor(ctx, 2, nnzb, "col_idx") || !check_index_tensor(ctx, 3, nrb + 1, "row_ptr"))
    return false;
  const char* rp_name = ctx.input(3).name.c_str();
  const char* ci_name = ctx.input(2).name.c_str();
  w->bh = bh, w->bw = bw, w->nnzb = (int)nnzb;
  w->values = (const float*)V.data;
  if (!ctx.reserve(((double)nrb + 1 + nnzb) * sizeof(int), "block indices")) return false;
  w->row_ptr.resize(nrb + 1);
  w->col0.resize(nnzb);
  int64_t prev = 0;
  for (int64_t i = 0; i <= nrb; i++) {
    int64_t p;
    if (!read_index(ctx, 3, i, &p)) return false;
    if (i == 0 && p != 0) return ctx.fail("row_ptr '%s'[0] = %lld, expected 0", rp_name, (long long)p);
    if (p < prev || p > nnzb)
      return ctx.fail("row_ptr '%s'[%lld] = %lld: row pointers must be non-decreasing and at most nnzb = %lld (previous %lld)",
                      rp_name, (long long)i, (long long)p, (long long)nnzb, (long long)prev);
    w->row_ptr[i] = (int)p;
    prev = p;
  }
  if (prev != nnzb)
    return ctx.fail("row_ptr '%s' ends at %lld, expected nnzb = %lld", rp_name, (long long)prev,
                    (long long)nnzb);
  bool any_edge = false;
  for (int64_t rb = 0; rb < nrb; rb++) {
    int64_t last = -1;
    for (int64_t b = w->row_ptr[rb]; b < w->row_ptr[rb + 1]; b++) {
      int64_t c;
      if (!read_index(ctx, 2, b, &c)) return false;
      if (c < 0 || c >= ncb)
        return ctx.fail("col_idx '%s'[%lld] = %lld is out of range: the weight has %lld block columns of width %d",
                        ci_name, (long long)b, (long long)c, (long long)ncb, bw);
      if (c <= last)
        return ctx.fail("col_idx '%s'[%lld] = %lld: block columns must increase within row block %lld (previous %lld)",
                        ci_name, (long long)b, (long long)c, (long long)rb, (long long)last);
      last = c;
      int64_t k0 = c * bw;
      if (k0 > K - bw) k0 = K - bw, any_edge = true;
      w->col0[b] = (int)k0;
    }
  }
  if (any_edge) { // re-anchor edge blocks: weights shifted right, zeros in front
    if (!ctx.reserve((double)nnzb * bh * bw * sizeof(float), "shifted blocks")) return false;
    w->shifted.assign(w->values, w->values + nnzb * bh * bw);
    for (int64_t b = 0; b < nnzb; b++) {
      int64_t c;
      read_index(ctx, 2, b, &c);
      int shift = (int)(c * bw - w->col0[b]);
      if (shift == 0) continue;
      float* dst = &w->shifted[b * bh * bw];
      const float* src = w->values + b * bh * bw;
      for (int r = 0; r < bh; r++)
        for (int i = 0; i < bw; i++) dst[r * bw + i] = i >= shift ? src[r * bw + i - shift] : 0.0f;
    }
    w->values = w->shifted.data();
  }
  return true;
}

static bool prepare_bias(OpCtx& ctx, int i, int64_t n, const float** out) {
  *out = nullptr;
  if (!ctx.has_input(i)) return true;
  const Tensor& B = ctx.input(i);
  int64_t bshape[1] = {n};
  return check_f32(ctx, B) && check_shape(ctx, B, make_shape(1, bshape)) && constant_input(ctx, i, out);
}

// ---- SparseConv ----

struct SparseConvState : NodeState {
  Bsr w;
  Conv2dGeom g;
  int N = 0, C = 0, M = 0, K = 0;
  bool pointwise = false;
  int tile = 0;
  std::vector<int> x_off; // per block: col0 · ldx
  const float* b = nullptr;
  Act act;
};


bool prepare_SparseConv(OpCtx& ctx) {
  if (!check_arity(ctx, 4, 5, 1)) return false;
  const Tensor& X = ctx.input(0);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, X) || !check_f32(ctx, Y) || !check_rank(ctx, X, 4) ||
      !check_numel(ctx, X) || !check_numel(ctx, Y))
    return false;
  ConvWindow win;
  int64_t ws[4];
  if (!attr_conv_window(ctx, &win) || !attr_ints_n(ctx, "weight_shape", 4, ws)) return false;
  const int64_t *strides = win.strides, *pads = win.pads, *dil = win.dil;
  for (int i = 0; i < 4; i++)
    if (ws[i] < 1 || ws[i] > kMaxGeom)
      return ctx.fail("weight_shape[%d] = %lld, expected 1..%lld", i, (long long)ws[i], (long long)kMaxGeom);
  Act act;
  if (!attr_activation(ctx, &act)) return false;
  const int64_t N = X.shape.dims[0], C = X.shape.dims[1], H = X.shape.dims[2], Wd = X.shape.dims[3];
  const int64_t M = ws[0], kH = ws[2], kW = ws[3], K = ws[1] * kH * kW;
  if (ws[1] != C)
    return ctx.fail("weight_shape [%lld, %lld, %lld, %lld] does not match the %lld input channels of X '%s' %s",
                    (long long)ws[0], (long long)ws[1], (long long)ws[2], (long long)ws[3],
                    (long long)C, X.name.c_str(), X.shape.str().c_str());
  if (K > kMaxK || H > kMaxGeom || Wd > kMaxGeom)
    return ctx.fail("weight_shape or input %s too large", X.shape.str().c_str());
  int64_t Ho, Wo;
  if (!check_conv_output(ctx, win, Y, N, M, H, Wd, kH, kW, &Ho, &Wo)) return false;

  SparseConvState* s = new SparseConvState();
  ctx.set_state(s);
  if (!prepare_bsr(ctx, M, K, &s->w) || !prepare_bias(ctx, 4, M, &s->b)) return false;
  s->g = {(int)H, (int)Wd, (int)kH, (int)kW, (int)strides[0], (int)strides[1], (int)dil[0],
          (int)dil[1], (int)pads[0], (int)pads[1], (int)Ho, (int)Wo};
  s->N = (int)N, s->C = (int)C, s->M = (int)M, s->K = (int)K, s->act = act;
  s->pointwise = kH == 1 && kW == 1 && strides[0] == 1 && strides[1] == 1 && pads[0] == 0 &&
                 pads[1] == 0 && Ho == H && Wo == Wd;
  size_t scratch = 0;
  int64_t ldx = s->pointwise ? H * Wd : 8;
  if (!s->pointwise) {
    int64_t tile = ((int64_t)1 << 18) / K; // ~1 MiB of im2col per tile, whole 8-column panels
    tile = tile < 8 ? 8 : tile & ~(int64_t)7;
    if (tile > Ho * Wo) tile = Ho * Wo;
    s->tile = (int)tile;
    scratch = (size_t)(K * ((tile + 7) & ~(int64_t)7));
  }
  if (!ctx.reserve((double)s->w.nnzb * sizeof(int), "block offsets")) return false;
  s->x_off.resize(s->w.nnzb);
  for (int b = 0; b < s->w.nnzb; b++) s->x_off[b] = (int)(s->w.col0[b] * ldx);
  if (!ctx.reserve_scratch((double)scratch)) return false;
  ctx.macs = (double)N * M * Ho * Wo * K;
  return true;
}

void run_SparseConv(OpCtx& ctx) {
  const SparseConvState& s = *(const SparseConvState*)ctx.state;
  const Conv2dGeom& g = s.g;
  const Bsr& w = s.w;
  const int HW = g.H * g.W, HWo = g.Ho * g.Wo;
  float* scratch = scratch_f32();
  for (int n = 0; n < s.N; n++) {
    const float* x = ctx.in[0] + (ptrdiff_t)n * s.C * HW;
    float* y = ctx.out[0] + (ptrdiff_t)n * s.M * HWo;
    if (s.pointwise) {
      f32_spmm_simd128(w.bh, w.bw, s.M, HWo, s.K, w.row_ptr.data(), s.x_off.data(), w.values, x,
                       HW, 8, y, HWo, s.b, s.act);
      continue;
    }
    for (int j0 = 0; j0 < HWo; j0 += s.tile) {
      int nb = HWo - j0 < s.tile ? HWo - j0 : s.tile;
      f32_im2col_tile(x, s.C, g, j0, nb, scratch);
      f32_spmm_simd128(w.bh, w.bw, s.M, nb, s.K, w.row_ptr.data(), s.x_off.data(), w.values,
                       scratch, 8, 8 * s.K, y + j0, HWo, s.b, s.act);
    }
  }
  ctx.macs_executed = (double)s.N * HWo * w.nnzb * w.bh * w.bw;
}

// ---- SparseGemm ----

struct SparseGemmState : NodeState {
  Bsr w;
  int M = 0, N = 0, K = 0;
  const float* b = nullptr;
  Act act;
};

bool prepare_SparseGemm(OpCtx& ctx) {
  if (!check_arity(ctx, 4, 5, 1)) return false;
  const Tensor& A = ctx.input(0);
  const Tensor& Y = ctx.output(0);
  if (!check_f32(ctx, A) || !check_f32(ctx, Y) || !check_rank(ctx, A, 2) ||
      !check_numel(ctx, A) || !check_numel(ctx, Y))
    return false;
  int64_t ws[2];
  Act act;
  if (!attr_ints_n(ctx, "weight_shape", 2, ws) || !attr_activation(ctx, &act)) return false;
  for (int i = 0; i < 2; i++)
    if (ws[i] < 1 || ws[i] > kMaxDim)
      return ctx.fail("weight_shape[%d] = %lld, expected 1..%lld", i, (long long)ws[i], (long long)kMaxDim);
  const int64_t M = A.shape.dims[0], K = A.shape.dims[1], N = ws[0];
  if (ws[1] != K)
    return ctx.fail("weight_shape [%lld, %lld] does not match A '%s' %s (K = %lld)", (long long)ws[0],
                    (long long)ws[1], A.name.c_str(), A.shape.str().c_str(), (long long)K);
  int64_t want[2] = {M, N};
  if (!check_shape(ctx, Y, make_shape(2, want))) return false;
  SparseGemmState* s = new SparseGemmState();
  ctx.set_state(s);
  if (!prepare_bsr(ctx, N, K, &s->w) || !prepare_bias(ctx, 4, N, &s->b)) return false;
  s->M = (int)M, s->N = (int)N, s->K = (int)K, s->act = act;
  ctx.macs = (double)M * N * K;
  return true;
}

void run_SparseGemm(OpCtx& ctx) {
  const SparseGemmState& s = *(const SparseGemmState*)ctx.state;
  const Bsr& w = s.w;
  for (int m = 0; m < s.M; m++) {
    float* y = ctx.out[0] + (ptrdiff_t)m * s.N;
    f32_spmv_simd128(w.bh, w.bw, s.N, w.row_ptr.data(), w.col0.data(), w.values,
                     ctx.in[0] + (ptrdiff_t)m * s.K, y);
    if (s.b)
      for (int j = 0; j < s.N; j++) y[j] += s.b[j];
    f32_act_simd128(s.N, y, y, s.act);
  }
  ctx.macs_executed = (double)s.M * w.nnzb * w.bh * w.bw;
}

} // namespace sg
