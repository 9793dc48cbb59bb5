// One grow-only scratch buffer shared by the kernels of a (single-threaded) runtime: im2col
// tiles, padded planes, transposed GEMM operands. Ops reserve what they need in prepare and
// fetch the pointer in run, so run never allocates and never fails; the buffer is sized by the
// largest node, not the sum of all nodes. (The pthreads build will need one per thread.)
#pragma once
#include <stddef.h>

namespace sg {

// Makes the scratch buffer at least `floats` long. False when out of memory.
bool scratch_reserve(size_t floats);
// The buffer: 64-byte aligned, at least as long as every reservation made so far.
float* scratch_f32();

} // namespace sg
