#include "scratch.h"
#include <stdlib.h>

namespace sg {

static float* g_scratch = nullptr;
static size_t g_scratch_floats = 0;

bool scratch_reserve(size_t floats) {
  if (floats <= g_scratch_floats) return true;
  // Grow geometrically so that a series of sessions does not reallocate at every node.
  size_t want = floats < 2 * g_scratch_floats ? 2 * g_scratch_floats : floats;
  want = (want + 15) & ~(size_t)15; // whole 64-byte lines
  void* p = aligned_alloc(64, want * sizeof(float));
  if (!p) return false;
  free(g_scratch);
  g_scratch = (float*)p;
  g_scratch_floats = want;
  return true;
}

float* scratch_f32() { return g_scratch; }

} // namespace sg
