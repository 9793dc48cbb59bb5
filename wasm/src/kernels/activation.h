// Elementwise activations, shared by the unary ops and the epilogues of the conv/GEMM
// kernels (fused activations, docs/ir.md). Scalar and f32x4 forms of each.
//
// Accuracy: Sigmoid, Silu and Tanh use a Cephes-style exp (range reduction by ln2 in two parts,
// degree-5 polynomial), within ~2 ulp of expf over the clamped range [-87, 88]. Outside it the
// result saturates the way float32 does anyway (sigmoid → 0 or 1, tanh → ±1).
#pragma once
#include <math.h>
#include <string.h>
#include <wasm_simd128.h>

namespace sg {

enum ActKind {
  ACT_NONE = 0, ACT_RELU, ACT_CLIP, ACT_SIGMOID, ACT_SILU, ACT_HARDSWISH, ACT_HARDSIGMOID,
  ACT_LEAKYRELU, ACT_TANH,
};

struct Act {
  int kind = ACT_NONE;
  float p0 = 0, p1 = 0; // Clip: min, max; HardSigmoid: alpha, beta; LeakyRelu: alpha
};

// Parses a fused activation (name and params as in docs/ir.md). Returns nullptr on success,
// else a static message saying what is wrong.
static inline const char* act_parse(const char* name, const float* params, int n, Act* out) {
  struct Row { const char* name; int kind; int nparams; };
  static const Row rows[] = {
      {"", ACT_NONE, 0}, {"Relu", ACT_RELU, 0}, {"Clip", ACT_CLIP, 2},
      {"Sigmoid", ACT_SIGMOID, 0}, {"Silu", ACT_SILU, 0}, {"HardSwish", ACT_HARDSWISH, 0},
      {"HardSigmoid", ACT_HARDSIGMOID, 2}, {"LeakyRelu", ACT_LEAKYRELU, 1},
      {"Tanh", ACT_TANH, 0},
  };
  for (const Row& r : rows) {
    if (strcmp(name, r.name) != 0) continue;
    if (n != r.nparams) return "wrong number of activation_params for this activation";
    out->kind = r.kind;
    out->p0 = n > 0 ? params[0] : 0;
    out->p1 = n > 1 ? params[1] : 0;
    return nullptr;
  }
  return "unknown activation (expected '', Relu, Clip, Sigmoid, Silu, HardSwish, "
         "HardSigmoid, LeakyRelu or Tanh)";
}

// ---- scalar ----

static inline float act_f32(float x, const Act& a) {
  switch (a.kind) {
    case ACT_RELU: return x > 0 ? x : 0;
    case ACT_CLIP: { // min(max(x, lo), hi), as numpy's clip, also when lo > hi
      float t = x < a.p0 ? a.p0 : x;
      return t > a.p1 ? a.p1 : t;
    }
    case ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case ACT_SILU: return x / (1.0f + expf(-x));
    case ACT_HARDSWISH: {
      float t = x * (1.0f / 6.0f) + 0.5f;
      t = t < 0 ? 0 : (t > 1 ? 1 : t);
      return x * t;
    }
    case ACT_HARDSIGMOID: {
      float t = a.p0 * x + a.p1;
      return t < 0 ? 0 : (t > 1 ? 1 : t);
    }
    case ACT_LEAKYRELU: return x < 0 ? a.p0 * x : x;
    case ACT_TANH: return tanhf(x);
    default: return x;
  }
}

// ---- f32x4 ----

// exp(x) for x in [-87, 88] (clamped; NaN stays NaN). Cephes expf: x = n·ln2 + r with
// |r| ≤ ln2/2, exp(r) by a minimax polynomial, 2^n built in the exponent bits.
static inline v128_t f32x4_exp(v128_t x) {
  x = wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(-87.0f)), wasm_f32x4_splat(88.0f));
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), r);
  p = wasm_f32x4_add(p, wasm_f32x4_splat(1.0f));
  // n is in [-126, 127] after the clamp, so (n + 127) << 23 is a normal power of two.
  v128_t e = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, e);
}

// tanh: odd Taylor polynomial (through x^15) for |x| < 0.55, where 1 - 2/(e^2|x| + 1) would
// lose relative accuracy to cancellation; the exp form elsewhere. Both are within ~2 ulp.
static inline v128_t f32x4_tanh(v128_t x) {
  v128_t ax = wasm_f32x4_abs(x);
  v128_t x2 = wasm_f32x4_mul(x, x);
  v128_t p = wasm_f32x4_splat(-929569.0f / 638512875.0f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(21844.0f / 6081075.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(-1382.0f / 155925.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(62.0f / 2835.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(-17.0f / 315.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(2.0f / 15.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(-1.0f / 3.0f));
  v128_t small = wasm_f32x4_add(x, wasm_f32x4_mul(wasm_f32x4_mul(p, x2), x));
  v128_t e = f32x4_exp(wasm_f32x4_add(ax, ax));
  v128_t big = wasm_f32x4_sub(wasm_f32x4_splat(1.0f),
                              wasm_f32x4_div(wasm_f32x4_splat(2.0f),
                                             wasm_f32x4_add(e, wasm_f32x4_splat(1.0f))));
  big = wasm_v128_or(big, wasm_v128_and(x, wasm_i32x4_splat((int)0x80000000))); // sign of x
  return wasm_v128_bitselect(small, big, wasm_f32x4_lt(ax, wasm_f32x4_splat(0.55f)));
}

static inline v128_t act_f32x4(v128_t x, const Act& a) {
  const v128_t zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  switch (a.kind) {
    case ACT_RELU: return wasm_f32x4_max(x, zero);
    case ACT_CLIP:
      return wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(a.p0)), wasm_f32x4_splat(a.p1));
    case ACT_SIGMOID:
      return wasm_f32x4_div(one, wasm_f32x4_add(one, f32x4_exp(wasm_f32x4_neg(x))));
    case ACT_SILU:
      return wasm_f32x4_div(x, wasm_f32x4_add(one, f32x4_exp(wasm_f32x4_neg(x))));
    case ACT_HARDSWISH: {
      v128_t t = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.0f / 6.0f)),
                                wasm_f32x4_splat(0.5f));
      return wasm_f32x4_mul(x, wasm_f32x4_min(wasm_f32x4_max(t, zero), one));
    }
    case ACT_HARDSIGMOID: {
      v128_t t = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(a.p0)), wasm_f32x4_splat(a.p1));
      return wasm_f32x4_min(wasm_f32x4_max(t, zero), one);
    }
    case ACT_LEAKYRELU:
      return wasm_v128_bitselect(wasm_f32x4_mul(x, wasm_f32x4_splat(a.p0)), x,
                                 wasm_f32x4_lt(x, zero));
    case ACT_TANH: return f32x4_tanh(x);
    default: return x;
  }
}

// y[i] = act(x[i]) for i < n; y may equal x (in place).
static inline void f32_act_simd128(int64_t n, const float* x, float* y, const Act& a) {
  int64_t i = 0;
  if (a.kind == ACT_RELU) { // the common case, with the switch out of the loop (same results)
    const v128_t zero = wasm_f32x4_splat(0.0f);
    for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_max(wasm_v128_load(x + i), zero));
  }
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, act_f32x4(wasm_v128_load(x + i), a));
  // The tail goes through the same f32x4 code so that every element is computed alike.
  if (i < n) {
    float buf[4] = {0, 0, 0, 0};
    for (int64_t j = i; j < n; j++) buf[j - i] = x[j];
    wasm_v128_store(buf, act_f32x4(wasm_v128_load(buf), a));
    for (int64_t j = i; j < n; j++) y[j] = buf[j - i];
  }
}

} // namespace sg
