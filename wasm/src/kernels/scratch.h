// Grow-only scratch buffers for the kernels: im2col tiles, padded planes, transposed GEMM
// operands. Ops reserve what they need in prepare and fetch the pointer in run, so run never
// allocates and never fails; a buffer is sized by the largest node, not the sum of all nodes.
// One buffer per thread (parallel.h): the standalone build has exactly one; the pthreads build
// one per thread index, each as large as the largest reservation.
#pragma once
#include <stddef.h>

namespace sg {

// Makes the scratch buffer of every thread index (0 … max_threads() - 1) at least `floats`
// long. False when out of memory (the buffers stay as they were).
bool scratch_reserve(size_t floats);
// The calling thread's buffer: 64-byte aligned, at least as long as every reservation so far.
float* scratch_f32();

} // namespace sg
