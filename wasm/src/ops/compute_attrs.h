// Attribute and tensor checks shared by the compute ops (conv, gemm, unary, pool, resize).
// Each reads one attribute or checks one tensor and, on a problem, fails the node with a
// message naming the attribute or tensor, what was expected and what was found.
#pragma once
#include <string>
#include <vector>
#include "op.h"
#include "../kernels/activation.h"

namespace sg {

// Thin wrappers over OpCtx::need_* (same messages as every other op) in the shapes these ops
// use: fixed-length int arrays and ranged ints.
static inline bool attr_ints_n(OpCtx& ctx, const char* key, int n, int64_t* out) {
  std::vector<int64_t> v;
  if (!ctx.need_ints(key, &v, n)) return false;
  for (int i = 0; i < n; i++) out[i] = v[i];
  return true;
}

static inline bool attr_int_in(OpCtx& ctx, const char* key, int64_t lo, int64_t hi, int64_t* out) {
  if (!ctx.need_int(key, out)) return false;
  if (*out < lo || *out > hi)
    return ctx.fail("attribute '%s' = %lld, expected %lld..%lld", key, (long long)*out,
                    (long long)lo, (long long)hi);
  return true;
}

static inline bool attr_floats_any(OpCtx& ctx, const char* key, std::vector<float>* out) {
  return ctx.need_floats(key, out, -1);
}
static inline bool attr_float1(OpCtx& ctx, const char* key, float* out) { return ctx.need_float(key, out); }
static inline bool attr_str(OpCtx& ctx, const char* key, std::string* out) { return ctx.need_string(key, out); }

// `activation` and `activation_params` of Conv and Gemm.
static inline bool attr_activation(OpCtx& ctx, Act* act) {
  std::string name;
  std::vector<float> params;
  if (!attr_str(ctx, "activation", &name) || !attr_floats_any(ctx, "activation_params", &params))
    return false;
  const char* err = act_parse(name.c_str(), params.data(), (int)params.size(), act);
  if (err) return ctx.fail("activation '%s' with %d params: %s", name.c_str(), (int)params.size(), err);
  return true;
}

// Input/output counts: inputs in [min_in, max_in] (positions ≥ min_in may be absent),
// required inputs present, exactly n_out outputs.
static inline bool check_arity(OpCtx& ctx, int min_in, int max_in, int n_out) {
  int n = ctx.input_count();
  if (n < min_in || n > max_in) {
    if (min_in == max_in) return ctx.fail("expects %d inputs, got %d", min_in, n);
    return ctx.fail("expects %d to %d inputs, got %d", min_in, max_in, n);
  }
  for (int i = 0; i < min_in; i++)
    if (!ctx.has_input(i)) return ctx.fail("input %d is required but absent", i);
  if (ctx.output_count() != n_out)
    return ctx.fail("expects %d output(s), got %d", n_out, ctx.output_count());
  return true;
}

static inline bool check_f32(OpCtx& ctx, const Tensor& t) {
  if (t.dtype != DT_F32)
    return ctx.fail("tensor '%s' must be float32, got %s", t.name.c_str(), dtype_name(t.dtype));
  return true;
}

static inline bool check_rank(OpCtx& ctx, const Tensor& t, int rank) {
  if (t.shape.rank != rank)
    return ctx.fail("tensor '%s' must have rank %d, got shape %s", t.name.c_str(), rank,
                    t.shape.str().c_str());
  return true;
}

static inline bool check_shape(OpCtx& ctx, const Tensor& t, const Shape& want) {
  if (t.shape != want)
    return ctx.fail("tensor '%s' has shape %s, expected %s", t.name.c_str(),
                    t.shape.str().c_str(), want.str().c_str());
  return true;
}

// Kernels index with int (and wasm32 pointers): every tensor they touch fits 2^31 - 1 floats.
static inline bool check_numel(OpCtx& ctx, const Tensor& t) {
  if (t.shape.numel() > 0x7FFFFFFF)
    return ctx.fail("tensor '%s' %s is too large", t.name.c_str(), t.shape.str().c_str());
  return true;
}

// Constant float32 data of input i; fails when the input is computed or stored as another
// dtype (quantized weights are converted by their own ops, not here).
static inline bool constant_input(OpCtx& ctx, int i, const float** out) {
  const Tensor& t = ctx.input(i);
  *out = ctx.constant_f32(i);
  if (!*out)
    return ctx.fail("tensor '%s' must be a float32 constant (kind %d, %s)", t.name.c_str(),
                    (int)t.kind, dtype_name(t.dtype));
  return true;
}

static inline Shape make_shape(int rank, const int64_t* dims) {
  Shape s;
  s.rank = rank;
  for (int i = 0; i < rank; i++) s.dims[i] = dims[i];
  return s;
}

// Geometry limit for kernels, strides, pads and spatial sizes: keeps every index product of
// the conv and pool kernels far inside 64 bits (and their int loops inside 32).
static const int64_t kMaxGeom = 1 << 24;

// The window attributes every 2-D convolution carries (docs/ir.md: Conv, ConvInt8, SparseConv).
struct ConvWindow {
  int64_t strides[2], pads[4], dil[2];
};

static inline bool attr_conv_window(OpCtx& ctx, ConvWindow* w) {
  if (!attr_ints_n(ctx, "strides", 2, w->strides) || !attr_ints_n(ctx, "pads", 4, w->pads) ||
      !attr_ints_n(ctx, "dilations", 2, w->dil))
    return false;
  for (int i = 0; i < 2; i++) {
    if (w->strides[i] < 1 || w->strides[i] > kMaxGeom)
      return ctx.fail("strides[%d] = %lld, expected 1..%lld", i, (long long)w->strides[i], (long long)kMaxGeom);
    if (w->dil[i] < 1 || w->dil[i] > kMaxGeom)
      return ctx.fail("dilations[%d] = %lld, expected 1..%lld", i, (long long)w->dil[i], (long long)kMaxGeom);
  }
  for (int i = 0; i < 4; i++)
    if (w->pads[i] < 0 || w->pads[i] > kMaxGeom)
      return ctx.fail("pads[%d] = %lld, expected 0..%lld", i, (long long)w->pads[i], (long long)kMaxGeom);
  return true;
}

// Checks that output Y is [N, M, Ho, Wo] for a kH×kW kernel over an H×W input (floor, as
// ONNX's explicit-pads formula); sets Ho, Wo.
static inline bool check_conv_output(OpCtx& ctx, const ConvWindow& w, const Tensor& Y, int64_t N,
                                     int64_t M, int64_t H, int64_t W, int64_t kH, int64_t kW,
                                     int64_t* Ho, int64_t* Wo) {
  int64_t span_h = w.dil[0] * (kH - 1) + 1, span_w = w.dil[1] * (kW - 1) + 1;
  int64_t full_h = H + w.pads[0] + w.pads[2], full_w = W + w.pads[1] + w.pads[3];
  if (full_h < span_h || full_w < span_w)
    return ctx.fail("kernel extent %lldx%lld (dilated) exceeds padded input %lldx%lld",
                    (long long)span_h, (long long)span_w, (long long)full_h, (long long)full_w);
  *Ho = (full_h - span_h) / w.strides[0] + 1;
  *Wo = (full_w - span_w) / w.strides[1] + 1;
  int64_t want[4] = {N, M, *Ho, *Wo};
  return check_shape(ctx, Y, make_shape(4, want));
}

} // namespace sg
