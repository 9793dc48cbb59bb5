// Pad (constant, reflect, edge; negative pads crop first, as the numpy reference does).
// prepare builds, per axis, a map from output index to input index (-1: the constant
// value); run walks the output and gathers.
#include "op.h"

namespace sg {

struct PadState : NodeState {
  int rank = 0;
  int64_t out_dims[kMaxRank] = {};
  int64_t in_stride[kMaxRank] = {};
  std::vector<int32_t> map[kMaxRank];
  float value = 0;
  int64_t numel = 0;
};

// Index in [0, n) for a position i outside it (n >= 1), numpy's "reflect" (no edge repeat).
static int64_t reflect_index(int64_t i, int64_t n) {
  if (n == 1) return 0;
  int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

bool prepare_Pad(OpCtx& ctx) {
  if (!ctx.need_io(1, 1, 1)) return false;
  const Tensor& x = ctx.input(0);
  int r = x.shape.rank;
  std::vector<int64_t> pads;
  std::string mode;
  float value;
  if (!ctx.need_ints("pads", &pads, 2 * r) || !ctx.need_string("mode", &mode) || !ctx.need_float("value", &value))
    return false;
  int kind = mode == "constant" ? 0 : mode == "reflect" ? 1 : mode == "edge" ? 2 : -1;
  if (kind < 0) return ctx.fail("mode '%s' is not supported (constant, reflect, edge)", mode.c_str());
  Shape want;
  want.rank = r;
  for (int a = 0; a < r; a++) {
    int64_t b = pads[a], e = pads[a + r], dim = x.shape.dims[a];
    if (b < -dim || e < -dim || b > kMaxDim || e > kMaxDim || dim + b + e < 0)
      return ctx.fail("pads %lld, %lld on axis %d do not fit input '%s' %s (negative dimension)", (long long)b,
                      (long long)e, a, x.name.c_str(), x.shape.str().c_str());
    want.dims[a] = dim + b + e;
  }
  if (!ctx.need_output_shape(0, want)) return false;
  PadState* st = new PadState;
  ctx.set_state(st);
  st->rank = r;
  st->value = value;
  st->numel = want.numel();
  int64_t stride = 1;
  for (int a = r - 1; a >= 0; a--) {
    st->in_stride[a] = stride;
    stride *= x.shape.dims[a];
  }
  if (st->numel == 0) return true;
  double map_bytes = 0; // one int32 per output index of every axis
  for (int a = 0; a < r; a++) map_bytes += 4.0 * (double)want.dims[a];
  if (!ctx.reserve(map_bytes, "index maps")) return false;
  for (int a = 0; a < r; a++) {
    int64_t b = pads[a], e = pads[a + r], dim = x.shape.dims[a];
    int64_t lo = b < 0 ? -b : 0, hi = dim - (e < 0 ? -e : 0), kept = hi - lo, pb = b > 0 ? b : 0;
    if (kept < 0) return ctx.fail("pads %lld, %lld on axis %d crop more than input '%s' %s holds", (long long)b,
                                  (long long)e, a, x.name.c_str(), x.shape.str().c_str());
    int64_t n = want.dims[a];
    if (kind != 0 && kept == 0 && n > 0)
      return ctx.fail("mode '%s' cannot pad an empty axis %d of input '%s' %s", mode.c_str(), a, x.name.c_str(),
                      x.shape.str().c_str());
    st->out_dims[a] = n;
    st->map[a].resize((size_t)n);
    for (int64_t o = 0; o < n; o++) {
      int64_t i = o - pb;
      if (i < 0 || i >= kept) {
        if (kind == 0) i = -1;
        else if (kind == 2) i = i < 0 ? 0 : kept - 1;
        else i = reflect_index(i, kept);
      }
      st->map[a][(size_t)o] = (int32_t)(i < 0 ? -1 : i + lo);
    }
  }
  return true;
}

void run_Pad(OpCtx& ctx) {
  const PadState* st = (const PadState*)ctx.state;
  if (st->numel == 0) return;
  const float* x = ctx.in[0];
  float* y = ctx.out[0];
  int r = st->rank;
  if (r == 0) {
    y[0] = x[0];
    return;
  }
  int64_t inner = st->out_dims[r - 1];
  const int32_t* last = st->map[r - 1].data();
  int64_t idx[kMaxRank] = {};
  for (int64_t done = 0; done < st->numel; done += inner) {
    // Input offset of the outer position, or -1 when any outer axis is in a constant pad.
    int64_t off = 0;
    for (int d = 0; d < r - 1 && off >= 0; d++) {
      int32_t i = st->map[d][(size_t)idx[d]];
      off = i < 0 ? -1 : off + i * st->in_stride[d];
    }
    float* dst = y + done;
    if (off < 0) {
      for (int64_t i = 0; i < inner; i++) dst[i] = st->value;
    } else {
      const float* src = x + off;
      for (int64_t i = 0; i < inner; i++) dst[i] = last[i] < 0 ? st->value : src[last[i]];
    }
    for (int d = r - 2; d >= 0; d--) {
      if (++idx[d] < st->out_dims[d]) break;
      idx[d] = 0;
    }
  }
}

} // namespace sg
