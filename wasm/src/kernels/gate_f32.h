// f32 kernels of gated convolutions (docs/ir.md, "Gated Conv and Gemm"): per-channel input
// statistics, the gate's small mat-vec, top-k selection, constant planes. Pointers and sizes
// only.
#pragma once
#include "activation.h"

namespace sg {

// Per channel c of x [C, HW]: mean_abs[c] = mean |x[c, :]|, and mean[c] = mean x[c, :] when
// `mean` is not null. Lanes along HW; each channel is summed in 4 lanes, then lane 0..3 in order.
void f32_channel_means_simd128(const float* x, int C, int HW, float* mean_abs, float* mean);

// y[j] = (bias ? bias[j] : 0) + sum_k A[j, k] * v[k] for j in [0, M); A rows `lda` apart.
void f32_matvec_simd128(int M, int K, const float* A, int lda, const float* v,
                        const float* bias, float* y);

// Chooses which of M channels to compute: the `keep` largest scores (NaN counts as -inf;
// ties keep the lower index), further restricted to scores > `threshold` when `use_threshold`.
// Writes the kept channel indices in increasing order to `kept`, and flags every channel in
// `is_kept` (1/0). `order` is scratch for M ints. Returns the number kept.
int gate_select_topk(const float* score, int M, int keep, bool use_threshold, float threshold,
                     int* order, int* kept, unsigned char* is_kept);

// y[c, :] = value for every c with is_kept[c] == 0 (c in [0, C)), planes HW floats apart.
void f32_fill_skipped_planes(float* y, int C, int HW, const unsigned char* is_kept,
                             const float* value);

// y[r, :] *= scale[r] for r in rows[0..n).
void f32_scale_rows_simd128(float* y, int HW, const int* rows, int n, const float* scale);

} // namespace sg

namespace sg {
struct Conv2dGeom;
// One depthwise channel whose input is the constant plane v (zero padding around it):
// y[oy, ox] = act(bias + v · Σ of the kernel taps that fall inside the input). The interior of
// each output row is one SIMD fill; only border columns sum their taps.
void f32_dwconv_const_plane(float v, const float* w, float bias, const Conv2dGeom& g,
                            const Act& act, float* y);
} // namespace sg
