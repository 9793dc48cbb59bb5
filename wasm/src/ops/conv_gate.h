// Gates of a Conv (docs/ir.md, "Gated Conv and Gemm"): per run and per sample, which output
// channels to compute, and what the skipped ones hold. Also the record a gated conv leaves for
// its readers (ChannelFill): a 1×1 conv reading constant planes folds them into its bias and
// skips those input channels, so savings compound.
#pragma once
#include <vector>
#include "op.h"
#include "../kernels/activation.h"

namespace sg {

// is_const of a channel: PLANE_CONST, the whole plane holds `value`; PLANE_INTERIOR, only the
// rectangle [y0, y1) × [x0, x1) does (a depthwise conv with pads reading a constant plane:
// its border ring sums fewer taps). Only a 1×1 reader folds an interior plane (correcting the
// ring); every other reader treats it as an ordinary plane.
enum PlaneKind { PLANE_VARIES = 0, PLANE_CONST = 1, PLANE_INTERIOR = 2 };

// The constant planes a gated node (or a depthwise conv reading one) wrote into its output in
// the current run, per sample. Owned by the producer's state; readers get a pointer through
// OpCtx::fill_in.
struct ChannelFill {
  int N = 0, C = 0;
  bool active = false;                 // set by the producer on every run
  bool skip_writes = false;            // set by the session: every reader folds, none reads planes
  bool may_have_interior = false;      // set by the producer in prepare
  int H = 0, W = 0, y0 = 0, y1 = 0, x0 = 0, x1 = 0; // plane, and the rectangle of PLANE_INTERIOR
  std::vector<int> count;              // [N] constant channels of sample n (either kind)
  std::vector<unsigned char> is_const; // [N, C] a PlaneKind
  std::vector<float> value;            // [N, C] the plane's value where is_const
};

enum GateKind { GATE_NONE = 0, GATE_HEURISTIC, GATE_LEARNED };
enum GateFill { GATE_FILL_EXPECTED = 0, GATE_FILL_BIAS, GATE_FILL_ZERO };

struct ConvGate {
  int kind = GATE_NONE, fill = GATE_FILL_EXPECTED;
  float sparsity = 0, threshold = 0;
  const float* p3 = nullptr; // heuristic: gate_norms [M, C/g]; learned: gate_fc_w [M, C]
  const float* p4 = nullptr; // heuristic: gate_sums [M, C/g];  learned: gate_fc_b [M]
  // Per-run buffers, sized in prepare.
  std::vector<float> mean_abs, mean, score, fillv;
  std::vector<int> order, kept, local;
  std::vector<unsigned char> is_kept;
  ChannelFill out;
};

// Reads and checks the gate attributes and inputs 3, 4 (absent gate_kind: no gate, and then
// at most 3 inputs). Sets ctx.fill_out when gated.
bool conv_gate_prepare(OpCtx& ctx, ConvGate* g, int N, int C, int M, int group);

// Decides one sample (x: [C, HW]) at knob `knob`. Returns the number of kept channels, with
// g->kept (increasing) and g->is_kept filled, fill values in g->fillv for skipped channels and,
// for learned gates, the scale of each channel in g->score. Returns M (and touches nothing
// else) when the gate is off for this run, i.e. the node runs dense. *gate_macs gets the
// gate's own multiply-accumulates. `in_const` / `in_value` (nullable, [C]): input channels that
// are constant planes of a gated producer and their values; their means are taken from the
// value without reading the plane (which the producer may have left unwritten).
int conv_gate_decide(ConvGate* g, const float* x, int C, int HW, int M, int group, float knob,
                     const float* bias, const Act& act, double* gate_macs,
                     const unsigned char* in_const = nullptr, const float* in_value = nullptr);

} // namespace sg
