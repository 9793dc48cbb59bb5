// Elementwise math of the standalone unary ops (Exp, Log, Erf, Gelu, …): f32x4 forms and one
// loop. Kept apart from the fused activations (activation.h), whose switch is inlined into
// every GEMM and conv epilogue: these never run in an epilogue, so they add no code there.
//
// Accuracy (float32, measured against float64): Exp and the exp-based forms ~2 ulp (Cephes,
// activation.h); Log ~1 ulp (Cephes logf, denormals rescaled); Erf ≤ 7 ulp (a rational
// x·P(x²)/Q(x²) on [-4, 4], erf = ±1 beyond in float32). Sqrt, Abs, Neg, Floor, Ceil and Round
// (half to even) are single instructions and exact.
#pragma once
#include "activation.h"

namespace sg {

enum MathKind {
  MATH_EXP = 0, MATH_LOG, MATH_SQRT, MATH_ABS, MATH_NEG, MATH_RECIPROCAL, MATH_FLOOR,
  MATH_CEIL, MATH_ROUND, MATH_SIGN, MATH_ERF, MATH_SOFTPLUS, MATH_ELU, MATH_SELU, MATH_MISH,
  MATH_GELU, MATH_GELU_TANH,
};

struct MathOp {
  int kind = MATH_EXP;
  float p0 = 0, p1 = 0; // Elu: alpha; Selu: alpha, gamma
};

// exp(x) over float32's whole range (f32x4_exp clamps to [-87, 88], enough inside
// activations): the same reduction and polynomial, 2^n applied as two normal powers of two so
// that n up to 128 and results down to denormals come out; +inf past ln(FLT_MAX), 0 below.
static inline v128_t f32x4_exp_full(v128_t x) {
  v128_t big = wasm_f32x4_gt(x, wasm_f32x4_splat(88.72283935546875f));
  x = wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(-104.0f)), wasm_f32x4_splat(88.72283935546875f));
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
  v128_t ni = wasm_i32x4_trunc_sat_f32x4(n);           // in [-150, 128]
  v128_t n1 = wasm_i32x4_shr(ni, 1), n2 = wasm_i32x4_sub(ni, n1); // each in [-75, 64]
  v128_t e1 = wasm_i32x4_shl(wasm_i32x4_add(n1, wasm_i32x4_splat(127)), 23);
  v128_t e2 = wasm_i32x4_shl(wasm_i32x4_add(n2, wasm_i32x4_splat(127)), 23);
  v128_t y = wasm_f32x4_mul(wasm_f32x4_mul(p, e1), e2);
  return wasm_v128_bitselect(wasm_f32x4_splat(INFINITY), y, big);
}

// log(x): -inf at 0, NaN below 0 and for NaN, +inf at +inf. Cephes logf: x = m·2^e with
// m in [√½, √2), log(1 + (m − 1)) by a degree-9 polynomial.
static inline v128_t f32x4_log(v128_t x) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  v128_t den = wasm_f32x4_lt(x, wasm_f32x4_splat(1.17549435e-38f)); // denormals (and ≤ 0)
  v128_t xs = wasm_v128_bitselect(wasm_f32x4_mul(x, wasm_f32x4_splat(8388608.0f)), x, den);
  v128_t bits = xs;
  v128_t e = wasm_i32x4_sub(wasm_u32x4_shr(bits, 23), wasm_i32x4_splat(126));
  e = wasm_i32x4_sub(e, wasm_v128_and(den, wasm_i32x4_splat(23)));
  v128_t m = wasm_v128_or(wasm_v128_and(bits, wasm_i32x4_splat(0x007FFFFF)), wasm_i32x4_splat(0x3F000000));
  v128_t small = wasm_f32x4_lt(m, wasm_f32x4_splat(0.707106781186547524f));
  e = wasm_i32x4_add(e, small); // small lanes are -1: e - 1
  m = wasm_f32x4_add(wasm_f32x4_sub(m, one), wasm_v128_and(small, m));
  v128_t ef = wasm_f32x4_convert_i32x4(e);
  v128_t z = wasm_f32x4_mul(m, m);
  v128_t p = wasm_f32x4_splat(7.0376836292e-2f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), wasm_f32x4_splat(-1.1514610310e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), wasm_f32x4_splat(1.1676998740e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), wasm_f32x4_splat(-1.2420140846e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), wasm_f32x4_splat(1.4249322787e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), wasm_f32x4_splat(-1.6668057665e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), wasm_f32x4_splat(2.0000714765e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), wasm_f32x4_splat(-2.4999993993e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), wasm_f32x4_splat(3.3333331174e-1f));
  v128_t y = wasm_f32x4_mul(wasm_f32x4_mul(p, m), z);
  y = wasm_f32x4_add(y, wasm_f32x4_mul(ef, wasm_f32x4_splat(-2.12194440e-4f)));
  y = wasm_f32x4_sub(y, wasm_f32x4_mul(z, wasm_f32x4_splat(0.5f)));
  v128_t r = wasm_f32x4_add(wasm_f32x4_add(m, y), wasm_f32x4_mul(ef, wasm_f32x4_splat(0.693359375f)));
  r = wasm_v128_bitselect(wasm_f32x4_splat(-INFINITY), r, wasm_f32x4_eq(x, wasm_f32x4_splat(0.0f)));
  r = wasm_v128_bitselect(wasm_f32x4_splat(NAN), r, wasm_f32x4_lt(x, wasm_f32x4_splat(0.0f)));
  v128_t pass = wasm_v128_or(wasm_f32x4_ne(x, x), wasm_f32x4_eq(x, wasm_f32x4_splat(INFINITY)));
  return wasm_v128_bitselect(x, r, pass);
}

// erf(x) = x·P(x²)/Q(x²) with x clamped to [-4, 4] (|erf| rounds to 1 beyond); NaN stays NaN.
static inline v128_t f32x4_erf(v128_t x) {
  x = wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(-4.0f)), wasm_f32x4_splat(4.0f));
  v128_t x2 = wasm_f32x4_mul(x, x);
  v128_t p = wasm_f32x4_splat(-2.72614225801306e-10f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(2.77068142495902e-08f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(-2.10102402082508e-06f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(-5.69250639462346e-05f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(-7.34990630326855e-04f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(-2.95459980854025e-03f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(-1.60960333262415e-02f));
  v128_t q = wasm_f32x4_splat(-1.45660718464996e-05f);
  q = wasm_f32x4_add(wasm_f32x4_mul(q, x2), wasm_f32x4_splat(-2.13374055278905e-04f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, x2), wasm_f32x4_splat(-1.68282697438203e-03f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, x2), wasm_f32x4_splat(-7.37332916720468e-03f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, x2), wasm_f32x4_splat(-1.42647390514189e-02f));
  return wasm_f32x4_div(wasm_f32x4_mul(x, p), q);
}

// log(1 + e) for e ≥ 0 without losing small e: log(u)·e/(u − 1) with u = 1 + e (Goldberg).
static inline v128_t f32x4_log1p_pos(v128_t e) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  v128_t u = wasm_f32x4_add(one, e);
  v128_t d = wasm_f32x4_sub(u, one);
  v128_t r = wasm_f32x4_mul(f32x4_log(u), wasm_f32x4_div(e, d));
  return wasm_v128_bitselect(e, r, wasm_f32x4_eq(d, wasm_f32x4_splat(0.0f)));
}

// exp(x) − 1 for x ≤ 0 (Elu, Selu); absolute error ~1 ulp of 1.
static inline v128_t f32x4_expm1_neg(v128_t x) {
  return wasm_f32x4_sub(f32x4_exp(x), wasm_f32x4_splat(1.0f));
}

static inline v128_t math_f32x4(v128_t x, const MathOp& op) {
  const v128_t zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f),
               half = wasm_f32x4_splat(0.5f);
  switch (op.kind) {
    case MATH_EXP: return f32x4_exp_full(x);
    case MATH_LOG: return f32x4_log(x);
    case MATH_SQRT: return wasm_f32x4_sqrt(x);
    case MATH_ABS: return wasm_f32x4_abs(x);
    case MATH_NEG: return wasm_f32x4_neg(x);
    case MATH_RECIPROCAL: return wasm_f32x4_div(one, x);
    case MATH_FLOOR: return wasm_f32x4_floor(x);
    case MATH_CEIL: return wasm_f32x4_ceil(x);
    case MATH_ROUND: return wasm_f32x4_nearest(x);
    case MATH_SIGN: {
      v128_t s = wasm_v128_bitselect(one, zero, wasm_f32x4_gt(x, zero));
      s = wasm_v128_bitselect(wasm_f32x4_splat(-1.0f), s, wasm_f32x4_lt(x, zero));
      return wasm_v128_bitselect(x, s, wasm_f32x4_ne(x, x)); // NaN stays NaN
    }
    case MATH_ERF: return f32x4_erf(x);
    case MATH_SOFTPLUS: { // max(x, 0) + log(1 + exp(-|x|)): no overflow for large x
      v128_t t = f32x4_log1p_pos(f32x4_exp(wasm_f32x4_neg(wasm_f32x4_abs(x))));
      return wasm_f32x4_add(wasm_f32x4_max(x, zero), t);
    }
    case MATH_ELU: {
      v128_t neg = wasm_f32x4_mul(wasm_f32x4_splat(op.p0), f32x4_expm1_neg(wasm_f32x4_min(x, zero)));
      return wasm_v128_bitselect(neg, x, wasm_f32x4_lt(x, zero));
    }
    case MATH_SELU: {
      v128_t neg = wasm_f32x4_mul(wasm_f32x4_splat(op.p0), f32x4_expm1_neg(wasm_f32x4_min(x, zero)));
      return wasm_f32x4_mul(wasm_f32x4_splat(op.p1), wasm_v128_bitselect(x, neg, wasm_f32x4_gt(x, zero)));
    }
    case MATH_MISH: { // x·tanh(softplus(x)) = x·n/(n + 2), n = e^x(e^x + 2); 1 in float32 past 20
      v128_t e = f32x4_exp(wasm_f32x4_min(x, wasm_f32x4_splat(20.0f)));
      v128_t n = wasm_f32x4_mul(e, wasm_f32x4_add(e, wasm_f32x4_splat(2.0f)));
      v128_t t = wasm_f32x4_div(n, wasm_f32x4_add(n, wasm_f32x4_splat(2.0f)));
      return wasm_f32x4_mul(x, wasm_v128_bitselect(one, t, wasm_f32x4_gt(x, wasm_f32x4_splat(20.0f))));
    }
    case MATH_GELU: { // x/2·(1 + erf(x/√2))
      v128_t er = f32x4_erf(wasm_f32x4_mul(x, wasm_f32x4_splat(0.70710678118654752f)));
      return wasm_f32x4_mul(wasm_f32x4_mul(x, half), wasm_f32x4_add(one, er));
    }
    case MATH_GELU_TANH: { // x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      v128_t x3 = wasm_f32x4_mul(wasm_f32x4_mul(x, x), x);
      v128_t u = wasm_f32x4_mul(wasm_f32x4_splat(0.79788456080286536f),
                                wasm_f32x4_add(x, wasm_f32x4_mul(wasm_f32x4_splat(0.044715f), x3)));
      return wasm_f32x4_mul(wasm_f32x4_mul(x, half), wasm_f32x4_add(one, f32x4_tanh(u)));
    }
    default: return x;
  }
}

// y[i] = op(x[i]) for i < n; y may equal x. The tail goes through the same f32x4 code.
static inline void f32_math_simd128(int64_t n, const float* x, float* y, const MathOp& op) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, math_f32x4(wasm_v128_load(x + i), op));
  if (i < n) {
    float buf[4] = {0, 0, 0, 0};
    for (int64_t j = i; j < n; j++) buf[j - i] = x[j];
    wasm_v128_store(buf, math_f32x4(wasm_v128_load(buf), op));
    for (int64_t j = i; j < n; j++) y[j] = buf[j - i];
  }
}

} // namespace sg
